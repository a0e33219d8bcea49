package deployer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/deployer/wait"
	"github.com/saitodrom/zdd/internal/fanout"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// ReachTimeout bounds the check, at the start of a rollback, that a node's Manager answers.
const ReachTimeout = 3 * time.Second

// SkippedNodesError is a rollback that finished on the nodes in Done but skipped Nodes, which
// did not answer: they are kept out of rotation, and the command exits 4.
type SkippedNodesError struct {
	// Nodes are the nodes skipped; Done those the rollback finished on.
	Nodes, Done []string
	// Version is the version taken off; MayHave are the skipped nodes that may still have it.
	Version string
	MayHave []string
}

// Error implements error.
func (e *SkippedNodesError) Error() string {
	if len(e.Done) == 0 {
		return fmt.Sprintf("no node answers (%s): nothing rolled back", strings.Join(e.Nodes, ","))
	}
	s := fmt.Sprintf("%s did not answer: skipped and kept out of rotation; the rollback finished on %s",
		strings.Join(e.Nodes, ","), strings.Join(e.Done, ","))
	if len(e.MayHave) > 0 {
		s += fmt.Sprintf(" (%s may still have %s)", strings.Join(e.MayHave, ","), e.Version)
	}
	return s
}

// reachableNodes returns the nodes whose Manager answers within ReachTimeout and those that do
// not (or that the sentinel found down), both in configuration order. The latter are recorded
// as unreachable for the rest of the run.
func (e *Engine) reachableNodes(ctx context.Context) (ok, gone []string) {
	known := e.unreachable()
	_, errs := fanout.Each(e.Spec.Nodes, func(n plan.NodeSpec) (struct{}, error) {
		if slices.Contains(known, n.Name) {
			return struct{}{}, errors.New("found down by the sentinel")
		}
		lctx, cancel := context.WithTimeout(ctx, ReachTimeout)
		defer cancel()
		_, err := e.Managers[n.Name].List(lctx)
		return struct{}{}, err
	})
	for i, n := range e.Spec.Nodes {
		if errs[i] == nil {
			ok = append(ok, n.Name)
			continue
		}
		gone = append(gone, n.Name)
		if !slices.Contains(known, n.Name) {
			e.markUnreachable(n.Name, errs[i])
		}
	}
	return ok, gone
}

// observeNodes lists the application on the given nodes only.
func (e *Engine) observeNodes(ctx context.Context, nodes []string) (*plan.ClusterState, error) {
	st := &plan.ClusterState{Apps: map[string][]tomcatmgr.App{}}
	for _, n := range nodes {
		apps, err := e.Managers[n].List(ctx)
		if err != nil {
			return nil, err
		}
		for _, a := range apps {
			if a.Path == "/"+e.Spec.App {
				st.Apps[n] = append(st.Apps[n], a)
			}
		}
	}
	return st, nil
}

// keepOut adds the nodes gone to the Out list of every route step (and takes them off every
// In and undeploy list), so that no step of the rollback puts them back or waits for them.
func keepOut(steps []plan.Step, gone []string) []plan.Step {
	if len(gone) == 0 {
		return steps
	}
	drop := func(list []string) []string {
		return slices.DeleteFunc(slices.Clone(list), func(n string) bool { return slices.Contains(gone, n) })
	}
	out := make([]plan.Step, 0, len(steps))
	for _, s := range steps {
		switch {
		case s.Route != nil:
			s.Route = &plan.RouteStep{In: drop(s.Route.In), Out: append(drop(s.Route.Out), gone...)}
		case s.Undeploy != nil:
			u := *s.Undeploy
			u.Nodes = drop(u.Nodes)
			if len(u.Nodes) == 0 {
				continue
			}
			s.Undeploy = &u
		}
		out = append(out, s)
	}
	return out
}

// mayHave returns the nodes of gone that a deploy step up to failed targeted.
func mayHave(rel *state.Release, failed int, gone []string) []string {
	var out []string
	for _, s := range rel.Plan.Steps[:failed+1] {
		if s.Deploy == nil {
			continue
		}
		for _, n := range s.Deploy.Nodes {
			if slices.Contains(gone, n) && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

// rolledBackWithout ends a release whose rollback skipped unreachable nodes: exit 4, naming them.
func (r *run) rolledBackWithout(i int, err error, skipped *SkippedNodesError) error {
	rel := r.rel
	rel.Status = state.StatusNeedsAttention
	rel.Error = errors.Join(err, skipped).Error()
	_ = r.save()
	hint := fmt.Sprintf("bring %s back and check it (`zdd status`); then `zdd abort` takes %s off it and puts it back in rotation",
		strings.Join(skipped.Nodes, ","), rel.Plan.To)
	return outcome.WithHint(outcome.Classify(outcome.ErrNeedsAttention,
		fmt.Errorf("deployer: step %d failed: %w; rolled back to %v without %s: %w", i+1, err, rel.Plan.From, strings.Join(skipped.Nodes, ","), skipped)), hint)
}

// nodeDown returns the sentinel's *NodeDownError when it cancelled ctx, or nil.
func nodeDown(ctx context.Context) *NodeDownError {
	var down *NodeDownError
	if errors.As(context.Cause(ctx), &down) {
		return down
	}
	return nil
}

// UndeploySettle bounds how long an undeploy waits for a context that a cancelled deploy is
// still installing on the node (Tomcat finishes a deploy whose caller went away). It is longer
// than DeltaManager's stateTransferTimeout (60 s by default): a deploy blocked on a silent
// member's state transfer holds the context that long.
const UndeploySettle = 90 * time.Second

// undeployNode undeploys cx from node; a context that does not exist is done. A refusal while
// the context is still being installed (Tomcat answers ErrBusy, or FAIL "is defined in
// server.xml" until the WAR is in place) is tried again every second, up to UndeploySettle,
// each time after List shows the context still there. Other errors (401, 403...) are final.
func (e *Engine) undeployNode(ctx context.Context, node string, cx tomcatmgr.Context) (lost int, err error) {
	return e.undeployNodeThen(ctx, node, cx, func(context.Context) {})
}

// undeployNodeThen is undeployNode calling before right before each undeploy call (to read
// the sessions that end with it, see sessioncount.go).
func (e *Engine) undeployNodeThen(ctx context.Context, node string, cx tomcatmgr.Context, before func(context.Context)) (lost int, err error) {
	m := e.Managers[node]
	before(ctx)
	err = e.during(ctx, "undeploy of "+cx.Name()+" on "+node, e.Spec.DeployTimeout, func(ctx context.Context) error {
		return m.Undeploy(ctx, cx)
	})
	if err == nil || errors.Is(err, tomcatmgr.ErrNotFound) {
		return 0, nil
	}
	if !errors.Is(err, tomcatmgr.ErrBusy) && !errors.Is(err, tomcatmgr.ErrFailed) {
		return 0, err
	}
	e.emit(Event{Type: EventWarning, Kind: "undeploy", Node: node, Message: fmt.Sprintf("%s not undeployed yet (%v); trying again for up to %s", cx.Name(), err, UndeploySettle)})
	err = wait.Until(ctx, time.Second, UndeploySettle, "the undeploy of "+cx.Name()+" on "+node, func(ctx context.Context) (bool, error) {
		apps, lerr := m.List(ctx)
		if lerr != nil {
			return false, wait.Reason(lerr)
		}
		a, ok := findApp(apps, cx)
		if !ok {
			return true, nil
		}
		// The context finished starting meanwhile and may have served sessions (a backup
		// server does): they end with it.
		lost = max(lost, a.Sessions)
		before(ctx)
		err := m.Undeploy(ctx, cx)
		if err == nil || errors.Is(err, tomcatmgr.ErrNotFound) {
			return true, nil
		}
		if errors.Is(err, tomcatmgr.ErrBusy) || errors.Is(err, tomcatmgr.ErrFailed) {
			return false, wait.Reason(err)
		}
		return false, err
	})
	return lost, err
}

// deployCalled records that this run called Deploy on node (the call may complete on the node
// even when zdd stops waiting for it).
func (e *Engine) deployCalled(node string) {
	if s := e.sentinel; s != nil {
		s.mu.Lock()
		s.deployed[node] = true
		s.mu.Unlock()
	}
}

// deployedTo returns the nodes of names that have, or may get, rel's version: those where it
// is deployed now, plus those this run called Deploy on. When this run cannot tell (the
// version could not be listed on every node, or the rollback follows a crash), every node of
// the plan's deploy steps up to failed counts: a deploy interrupted mid-upload may still
// complete.
func (e *Engine) deployedTo(ctx context.Context, rel *state.Release, failed int, names []string) map[string]bool {
	has := map[string]bool{}
	st, err := e.observeNodes(ctx, names)
	if err == nil {
		for _, n := range st.NodesWith(names, rel.Plan.To) {
			has[n] = true
		}
	}
	if s := e.sentinel; s != nil && err == nil && rel.Current == failed {
		s.mu.Lock()
		defer s.mu.Unlock()
		for n := range s.deployed {
			has[n] = true
		}
		return has
	}
	for _, s := range rel.Plan.Steps[:failed+1] {
		if s.Deploy != nil {
			for _, n := range s.Deploy.Nodes {
				has[n] = true
			}
		}
	}
	return has
}

// isolateDown starts a rollback, when the sentinel found nodes in rotation down while another
// node is still in rotation, by taking only those nodes out: no node goes in, so no readmission
// gate runs, and the load balancer stops sending requests to a frozen node (which accepts them
// and answers nothing, so that Nginx waits for it) at the first reload, before the rollback's
// own routing changes and their gates. A node that was alone in rotation is left to the backup
// servers (see backupsWith): the rollback routes the others in next anyway. A failure is a
// warning: the rollback's routing changes keep the nodes out too.
func (r *run) isolateDown(ctx context.Context) {
	e := r.e
	s := e.sentinel
	if s == nil {
		return
	}
	var dead []string
	s.mu.Lock()
	left := len(s.in)
	for _, n := range e.Spec.NodeNames() {
		if _, ok := s.dead[n]; ok {
			dead = append(dead, n)
		}
	}
	s.mu.Unlock()
	if len(dead) == 0 || left == 0 {
		return
	}
	if err := r.rollbackStep(ctx, plan.Step{Route: &plan.RouteStep{Out: dead}}); err != nil {
		e.emit(Event{Type: EventWarning, Kind: "route", Message: fmt.Sprintf("could not take %s out of rotation at once (%v); the rollback keeps it out", strings.Join(dead, ","), err)})
	}
}
