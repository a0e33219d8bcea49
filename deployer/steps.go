package deployer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/deployer/wait"
	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// runStep runs one step; idx is its 1-based index for events (0 in a rollback).
func (e *Engine) runStep(ctx context.Context, idx int, s plan.Step, rel *state.Release) error {
	if err := s.Validate(); err != nil {
		return err
	}
	ctx = e.waitReports(ctx, idx, s.Kind())
	switch {
	case s.Preflight != nil:
		return e.preflight(ctx, rel)
	case s.Migrate != nil:
		return e.migrate(ctx, idx, s.Migrate, rel)
	case s.Route != nil:
		return e.route(ctx, idx, s.Route)
	case s.Deploy != nil:
		return e.deploy(ctx, idx, s.Deploy, rel)
	case s.Gate != nil:
		return e.gate(ctx, idx, s.Gate)
	case s.Pause != nil:
		return e.pause(ctx, s.Pause)
	case s.Drain != nil:
		return e.drain(ctx, idx, s.Drain, rel)
	case s.Stop != nil:
		return e.stop(ctx, idx, s.Stop, rel)
	default:
		return e.undeploy(ctx, idx, s.Undeploy, rel)
	}
}

func (e *Engine) app(version string) tomcatmgr.Context {
	return tomcatmgr.Context{Path: "/" + e.Spec.App, Version: version}
}

func (e *Engine) node(name string) plan.NodeSpec {
	for _, n := range e.Spec.Nodes {
		if n.Name == name {
			return n
		}
	}
	return plan.NodeSpec{Name: name}
}

// preflight checks, changing nothing: every node's Manager (once: a 401 is never retried),
// the load balancers know every node, the caller's checks, the WAR and the versions.
func (e *Engine) preflight(ctx context.Context, rel *state.Release) error {
	var errs []error
	st, err := e.Observe(ctx)
	if err != nil {
		errs = append(errs, err)
	} else {
		if err := st.Uniform(e.Spec.NodeNames()); err != nil && len(rel.Plan.From) > 0 {
			errs = append(errs, err)
		}
		if err := plan.CheckNewVersion(rel.Plan.To, st.Versions()); err != nil {
			errs = append(errs, err)
		}
	}
	states, err := e.Router.States(ctx)
	if err != nil {
		errs = append(errs, fmt.Errorf("load balancer: %w", err))
	} else {
		for _, n := range e.Spec.Nodes {
			if _, ok := states[n.Name]; !ok {
				errs = append(errs, fmt.Errorf("load balancer: node %s is not in the upstreams", n.Name))
			}
		}
	}
	if _, err := tomcatmgr.CheckWAR(rel.Plan.WAR); err != nil {
		errs = append(errs, err)
	}
	if e.Preflight != nil {
		if err := e.Preflight(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (e *Engine) migrate(ctx context.Context, idx int, m *plan.MigrateStep, rel *state.Release) error {
	if e.Migrator == nil {
		return errors.New("deployer: the plan has migrations but no migrator is configured")
	}
	if m.Phase == "contract" {
		st, err := e.Observe(ctx)
		if err != nil {
			return err
		}
		if old := olderThan(st.Versions(), rel.Plan.To); len(old) > 0 {
			e.emit(Event{Type: EventWarning, Step: idx, Kind: "migrate", Message: fmt.Sprintf(
				"contract migrations skipped: %s still deployed; they run with `zdd drain` once it is gone", strings.Join(old, ","))})
			return nil
		}
	}
	if m.Phase == "contract" {
		// Recorded before they run (a failure may leave some applied): `zdd rollback` refuses
		// to go back past them.
		pending, err := e.Migrator.Pending(ctx, m.Phase)
		if err != nil {
			return err
		}
		rel.Contracts = append(rel.Contracts, pending...)
	}
	return e.Migrator.Up(ctx, m.Phase)
}

// olderThan returns the versions that sort below v.
func olderThan(versions []string, v string) []string {
	var out []string
	for _, x := range versions {
		if tomcatmgr.CompareVersions(x, v) < 0 {
			out = append(out, x)
		}
	}
	return out
}

// route applies In/Out in one change on every load balancer, then verifies it is live. A node
// of In that is out of rotation now goes in only if it passes the readmission gate (see
// readmit.go); one that fails stays out, the others are routed, and route returns a
// *ReadmitError naming it. When the gate would leave no node in rotation nothing changes.
func (e *Engine) route(ctx context.Context, idx int, r *plan.RouteStep) error {
	in, kept, current := e.readmit(ctx, idx, r)
	states := map[string]lb.State{}
	if kept == nil {
		for _, n := range r.In {
			states[n] = lb.State{Weight: e.node(n).Weight}
		}
		for _, n := range r.Out {
			states[n] = lb.State{Weight: e.node(n).Weight, Down: true}
		}
	} else {
		var none bool
		if states, none = e.routeStates(current, r, in, kept.Nodes); none {
			kept.NoneLeft = true
			return kept
		}
	}
	states, err := e.applyRoute(ctx, states)
	if err != nil {
		e.forgetStates()
		return errors.Join(kept.orNil(), err)
	}
	e.routed(states)
	if err := e.Router.Verify(ctx, states); err != nil {
		e.forgetStates()
		return errors.Join(kept.orNil(), err)
	}
	if kept != nil {
		kept.Applied = true
		return kept
	}
	return nil
}

// deploy uploads the version to each node in turn; a node that already runs it is skipped
// (so a resumed release does not fail), one where it failed to start is cleaned up.
func (e *Engine) deploy(ctx context.Context, idx int, d *plan.DeployStep, rel *state.Release) error {
	cx := e.app(d.Version)
	for _, name := range d.Nodes {
		m := e.Managers[name]
		apps, err := m.List(ctx)
		if err != nil {
			return err
		}
		if a, ok := findApp(apps, cx); ok {
			if a.State == tomcatmgr.StateRunning {
				e.emit(Event{Type: EventWarning, Step: idx, Kind: "deploy", Node: name, Message: cx.Name() + " already runs here; not deployed again"})
				continue
			}
			return fmt.Errorf("deployer: %s on %s exists but is %s", cx.Name(), name, a.State)
		}
		progress := func(sent, total int64) {
			e.emit(Event{Type: EventProgress, Step: idx, Kind: "deploy", Node: name, Message: "upload", Current: sent, Total: total, Unit: "bytes"})
		}
		war := e.warPath(rel)
		if d.WAR != "" {
			war = d.WAR
		}
		e.deployCalled(name)
		dctx, stopWatch := e.watchStateTransfer(ctx, name, cx)
		err = e.during(dctx, "deploy of "+cx.Name()+" on "+name, e.Spec.DeployTimeout, func(ctx context.Context) error {
			return m.Deploy(ctx, cx, war, progress)
		})
		stopWatch()
		if st := stalled(dctx); st != nil {
			err = st
		}
		if err != nil {
			if errors.Is(err, tomcatmgr.ErrFailedToStart) {
				uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
				_ = m.Undeploy(uctx, cx)
				cancel()
			}
			return err
		}
	}
	return nil
}

func findApp(apps []tomcatmgr.App, cx tomcatmgr.Context) (tomcatmgr.App, bool) {
	for _, a := range apps {
		if a.Path == cx.Path && a.Version == cx.Version {
			return a, true
		}
	}
	return tomcatmgr.App{}, false
}

func (e *Engine) pause(ctx context.Context, p *plan.PauseStep) error {
	if p.UntilPromote {
		return errPausedHere
	}
	t := time.NewTimer(p.Duration)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// undeploy removes versions from nodes, counting the sessions that end with them.
func (e *Engine) undeploy(ctx context.Context, idx int, u *plan.UndeployStep, rel *state.Release) error {
	for _, v := range u.Versions {
		cx := e.app(v)
		if u.OnlyIfDrained {
			n, err := e.sessionsPatiently(ctx, cx)
			if errors.Is(err, wait.ErrTimeout) {
				// Sessions that cannot be counted may be open: keep the version, never lose them.
				e.emit(Event{Type: EventWarning, Step: idx, Kind: "undeploy", Message: fmt.Sprintf(
					"%s kept: its sessions could not be counted (%v); `zdd drain` retires it later", cx.Name(), err)})
				continue
			}
			if err != nil {
				return err
			}
			if n > 0 {
				e.emit(Event{Type: EventWarning, Step: idx, Kind: "undeploy", Message: fmt.Sprintf(
					"%s kept: %d sessions still open; `zdd drain` retires it later", cx.Name(), n)})
				continue
			}
		} else {
			// The sessions that end with it are counted at each node's undeploy (sessioncount.go).
			if err := e.undeployCounted(ctx, idx, u.Nodes, cx, rel); err != nil {
				return err
			}
			continue
		}
		for _, name := range u.Nodes {
			lost, err := e.undeployNode(ctx, name, cx)
			if err != nil {
				return err
			}
			if lost > 0 {
				rel.LostSessions += lost
				e.emit(Event{Type: EventWarning, Step: idx, Kind: "undeploy", Node: name, Message: fmt.Sprintf("%d sessions of %s end with it on %s (started while zdd waited to undeploy it)", lost, cx.Name(), name)})
			}
		}
	}
	return nil
}

// sessions returns the number of sessions of cx in the cluster: with replication every node
// holds them all, so it is the largest count any node reports. The nodes are asked at once.
func (e *Engine) sessions(ctx context.Context, cx tomcatmgr.Context) (int, error) {
	gone := e.unreachable()
	var names []string
	for _, n := range e.Spec.Nodes {
		if !slices.Contains(gone, n.Name) { // a node a rollback skipped: the others hold the same sessions
			names = append(names, n.Name)
		}
	}
	lists, err := e.lists(ctx, names)
	if err != nil {
		return 0, err
	}
	most := 0
	for _, apps := range lists {
		if a, ok := findApp(apps, cx); ok {
			most = max(most, a.Sessions)
		}
	}
	return most, nil
}
