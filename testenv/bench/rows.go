package bench

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/testenv"
	"github.com/saitodrom/zdd/tomcatmgr"
	"github.com/saitodrom/zdd/watch"
)

// Targets of issue 8.
const (
	maxReleaseWall  = 10 * time.Second
	maxFloorRatio   = 1.5
	maxRollback     = 5 * time.Second
	maxRollbackHard = 2 * time.Second
	maxPeakRSSMB    = 64
	maxScaleRatio   = 2.0
)

// Names of the rows, also used by the CI test.
const (
	RowNaive        = "naive: deploy?update=true node after node"
	RowZddRR        = "zdd deploy, round-robin"
	RowZddSticky    = "zdd deploy, sticky"
	RowFloorA       = "floor (a): zdd's Manager and LB calls, no checks"
	RowFloorB       = "floor (b): WAR to all nodes at once"
	RowRollback     = "zdd rollback"
	RowRollbackHard = "zdd rollback --hard"
	RowBig          = "200 MB WAR to 3 nodes (zdd deploy process)"
	RowScale3       = "scale: engine, 3 simulated nodes"
	RowScaleN       = "scale: engine, %d simulated nodes"
)

func target(goal string, met bool) Target { return Target{Goal: goal, Met: met} }

// loadRow fills a row from a load report; to is the version new sessions must end up on.
func loadRow(name, mode string, r *watch.Report, t0 time.Time, wall time.Duration, to string) Row {
	row := Row{Name: name, Measured: true, Mode: mode, Requests: r.Requests, Failed: r.Failed, Lost: r.LostSessions,
		Wall: wall.Seconds(), NewAfter: -1}
	if at, ok := r.NewSessionsOnlyOn(to); ok {
		row.NewAfter = max(0, r.Start.Add(at).Sub(t0).Seconds())
	}
	row.Targets = append(row.Targets, target("failed = 0", r.Failed == 0))
	return row
}

func notMeasured(name string, err error) Row {
	return Row{Name: name, Requests: -1, Failed: -1, Lost: -1, Wall: -1, NewAfter: -1, Note: "not measured: " + err.Error()}
}

// clusterRows measures every row on the real cluster, in round-robin mode then sticky.
func (b *bench) clusterRows(ctx context.Context) []Row {
	mode := string(b.env.Mode)
	if b.env.Mode != testenv.RoundRobin {
		if err := b.mode(ctx, testenv.RoundRobin); err != nil {
			return []Row{notMeasured("cluster rows", err)}
		}
		mode = string(testenv.RoundRobin)
	}
	var rows []Row
	// measure appends the row and returns its index (-1 when not selected or not measured).
	measure := func(name string, fn func() (Row, error)) int {
		if !b.opts.selected(name) {
			return -1
		}
		b.opts.Log("measuring %s", name)
		if err := b.clean(ctx); err != nil {
			rows = append(rows, notMeasured(name, fmt.Errorf("clean: %w", err)))
			return -1
		}
		row, err := fn()
		if err != nil {
			row = notMeasured(name, err)
		}
		if tr := b.tr.take(name); err == nil {
			row.Trace = tr
		}
		b.opts.Log("  %s", row.String())
		rows = append(rows, row)
		if !row.Measured {
			return -1
		}
		return len(rows) - 1
	}
	measure(RowNaive, func() (Row, error) { return b.naive(ctx, mode) })
	zdd := measure(RowZddRR, func() (Row, error) { return b.zddRelease(ctx, RowZddRR, mode) })
	floorA := measure(RowFloorA, func() (Row, error) { return b.floorA(ctx, mode) })
	measure(RowFloorB, func() (Row, error) { return b.floorB(ctx, mode) })
	if zdd >= 0 && b.opts.selected(RowFloorA) {
		compareFloor(&rows[zdd], floorA, rows)
	}
	measure(RowRollback, func() (Row, error) { return b.rollback(ctx, mode, false) })
	measure(RowRollbackHard, func() (Row, error) { return b.rollback(ctx, mode, true) })
	measure(RowBig, func() (Row, error) { return b.big(ctx) })
	for _, f := range []struct {
		name string
		fn   func(context.Context) (Row, error)
	}{{RowFaultKill, b.faultKill}, {RowFaultFreeze, b.faultFreeze}, {RowFaultNginx, b.faultNginx}, {RowFaultSSH, b.faultSSH}} {
		if b.opts.faultSelected(f.name) {
			measure(f.name, func() (Row, error) { return f.fn(ctx) })
		}
	}
	if !b.opts.selected(RowZddSticky) {
		return rows
	}
	if err := b.mode(ctx, testenv.Sticky); err != nil {
		rows = append(rows, notMeasured(RowZddSticky, err))
	} else {
		measure(RowZddSticky, func() (Row, error) { return b.zddRelease(ctx, RowZddSticky, string(testenv.Sticky)) })
	}
	return rows
}

// compareFloor sets zdd's wall time as a ratio of floor (a)'s (the row at index floorA, -1
// when it was not measured) and its target.
func compareFloor(zdd *Row, floorA int, rows []Row) {
	goal := fmt.Sprintf("wall <= %.1fx floor (a)", maxFloorRatio)
	if floorA < 0 || rows[floorA].Wall <= 0 {
		zdd.Targets = append(zdd.Targets, target(goal, false))
		zdd.Note += "; floor (a) not measured"
		return
	}
	ratio := zdd.Wall / rows[floorA].Wall
	zdd.figure("x_floor_a", ratio)
	zdd.Targets = append(zdd.Targets, target(goal, ratio <= maxFloorRatio))
}

func (r *Row) figure(k string, v float64) {
	if r.Figures == nil {
		r.Figures = map[string]float64{}
	}
	r.Figures[k] = v
}

// naive deploys the application without versions, then `deploy?update=true` node after node
// under load, as a script would.
func (b *bench) naive(ctx context.Context, mode string) (Row, error) {
	q := "deploy?path=/" + b.cluster.Spec.App
	for _, n := range b.env.Nodes {
		if err := b.raw(ctx, n, http.MethodPut, q, b.wars["001"]); err != nil {
			return Row{}, err
		}
	}
	var wall time.Duration
	r, t0, err := b.underLoad(ctx, func(ctx context.Context) error {
		t := time.Now()
		defer func() { wall = time.Since(t) }()
		for _, n := range b.env.Nodes {
			t := time.Now()
			if err := b.raw(ctx, n, http.MethodPut, q+"&update=true", b.wars["002"]); err != nil {
				return err
			}
			b.tr.band("deploy", n.Name+" update=true", t)
		}
		return nil
	})
	if err != nil {
		return Row{}, err
	}
	row := loadRow(RowNaive, mode, r, t0, wall, "002")
	row.Note = "unversioned /app replaced in place on each node"
	return row, nil
}

// zddRelease releases 001 (not measured), then 002 under load.
func (b *bench) zddRelease(ctx context.Context, name, mode string) (Row, error) {
	e, _, err := b.engine()
	if err != nil {
		return Row{}, err
	}
	if _, err := b.release(ctx, e, "001", b.wars["001"]); err != nil {
		return Row{}, fmt.Errorf("setup release 001: %w", err)
	}
	var wall time.Duration
	r, t0, err := b.underLoad(ctx, func(ctx context.Context) error {
		var err error
		wall, err = b.release(ctx, e, "002", b.wars["002"])
		return err
	})
	if err != nil {
		return Row{}, err
	}
	row := loadRow(name, mode, r, t0, wall, "002")
	row.Zdd, row.Release = true, true
	row.Targets = append(row.Targets, target("lost = 0", r.LostSessions == 0),
		target(fmt.Sprintf("wall < %s", maxReleaseWall), wall < maxReleaseWall))
	row.Note = "no pause, drain excluded (NoDrain); wall includes observe, plan, preflight and gates"
	return row, nil
}

// floorA makes the Manager calls and load-balancer changes of zdd's plan, in the same order,
// with no List, check, gate, verification or pause.
func (b *bench) floorA(ctx context.Context, mode string) (Row, error) {
	e, _, err := b.engine()
	if err != nil {
		return Row{}, err
	}
	if _, err := b.release(ctx, e, "001", b.wars["001"]); err != nil {
		return Row{}, fmt.Errorf("setup release 001: %w", err)
	}
	plan, err := b.plan(ctx, e, "002", b.wars["002"])
	if err != nil {
		return Row{}, err
	}
	var wall time.Duration
	r, t0, err := b.underLoad(ctx, func(ctx context.Context) error {
		t := time.Now()
		defer func() { wall = time.Since(t) }()
		return b.replay(ctx, plan)
	})
	if err != nil {
		return Row{}, err
	}
	row := loadRow(RowFloorA, mode, r, t0, wall, "002")
	row.Note = "route = one Apply on both Nginx (write, test, reload); deploy = one Manager deploy per node"
	return row, nil
}

// replay issues the plan's route and deploy steps directly.
func (b *bench) replay(ctx context.Context, plan *plan.Plan) error {
	for _, s := range plan.Steps {
		switch {
		case s.Route != nil:
			states, t := b.allIn(), time.Now()
			for _, n := range s.Route.Out {
				st := states[n]
				st.Down = true
				states[n] = st
			}
			if err := b.cluster.Router.Apply(ctx, states); err != nil {
				return err
			}
			b.tr.band("route", routeLabel(s.Route.Out), t)
		case s.Deploy != nil:
			for _, n := range s.Deploy.Nodes {
				cx, t := b.ctx(s.Deploy.Version), time.Now()
				if err := b.cluster.Managers[n].Deploy(ctx, cx, plan.WAR, nil); err != nil {
					return err
				}
				b.tr.band("deploy", n, t)
			}
		}
	}
	return nil
}

// floorB deploys 002 to every node at once.
func (b *bench) floorB(ctx context.Context, mode string) (Row, error) {
	e, _, err := b.engine()
	if err != nil {
		return Row{}, err
	}
	if _, err := b.release(ctx, e, "001", b.wars["001"]); err != nil {
		return Row{}, fmt.Errorf("setup release 001: %w", err)
	}
	q := fmt.Sprintf("deploy?path=/%s&version=002", b.cluster.Spec.App)
	var wall time.Duration
	r, t0, err := b.underLoad(ctx, func(ctx context.Context) error {
		t := time.Now()
		defer func() { wall = time.Since(t) }()
		defer b.tr.band("deploy", "all nodes at once", t)
		return eachNode(b.env.Nodes, func(n testenv.Node) error { return b.raw(ctx, n, http.MethodPut, q, b.wars["002"]) })
	})
	if err != nil {
		return Row{}, err
	}
	row := loadRow(RowFloorB, mode, r, t0, wall, "002")
	row.Note = "app##002 beside app##001, raw Manager calls in parallel, nodes left in rotation"
	return row, nil
}

// rollback releases 001 and 002 (not measured), then rolls back under load.
func (b *bench) rollback(ctx context.Context, mode string, hard bool) (Row, error) {
	name := RowRollback
	if hard {
		name = RowRollbackHard
	}
	e, dir, err := b.engine()
	if err != nil {
		return Row{}, err
	}
	for _, v := range []string{"001", "002"} {
		if _, err := b.release(ctx, e, v, b.wars[v]); err != nil {
			return Row{}, fmt.Errorf("setup release %s: %w", v, err)
		}
	}
	locker := &state.Locker{Dir: dir, TTL: 30 * time.Second}
	var wall time.Duration
	var plan *deployer.RollbackPlan
	r, t0, err := b.underLoad(ctx, func(ctx context.Context) error {
		t := time.Now()
		defer func() { wall = time.Since(t) }()
		var err error
		plan, err = e.PlanRollback(ctx, deployer.RollbackOptions{Hard: hard, NoDrain: true, Store: e.Store, Locker: locker, Who: who})
		if err != nil {
			return err
		}
		return e.Rollback(ctx, plan)
	})
	if err != nil {
		return Row{}, err
	}
	// The page prints the code's version: after a default rollback, 003 prints 001.
	row := loadRow(name, mode, r, t0, wall, "001")
	row.Zdd = true
	limit := maxRollback
	if hard {
		limit = maxRollbackHard
		row.Note = fmt.Sprintf("stops 002 on every node at once; its %d sessions are lost by design (reported, not a target)", plan.Sessions)
	} else {
		row.Targets = append(row.Targets, target("lost = 0", r.LostSessions == 0))
		row.Note = "001's WAR deployed again as 003 with zdd's batches; 002's sessions keep 002"
	}
	row.Targets = append(row.Targets, target(fmt.Sprintf("new sessions on previous code <= %s", limit),
		row.NewAfter >= 0 && row.NewAfter <= limit.Seconds()))
	return row, nil
}

func (b *bench) ctx(v string) tomcatmgr.Context {
	return tomcatmgr.Context{Path: "/" + b.cluster.Spec.App, Version: v}
}

// String is the row in one line, for the log.
func (r Row) String() string {
	if !r.Measured {
		return r.Name + ": " + r.Note
	}
	return fmt.Sprintf("%s: %d requests, %d failed, %d lost, wall %.2fs, switched %.2fs %v", r.Name, r.Requests, r.Failed, r.Lost, r.Wall, r.NewAfter, r.Figures)
}
