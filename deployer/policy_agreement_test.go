package deployer

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/deployertest"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// The plan/engine agreement: for every step of the plans of a release, a rollback (redeploy,
// of a paused release, hard) and an abort, a failure is injected in that step on the in-memory
// cluster, and what the engine did (exit code, status, the steps it undid) must be what the
// plan's rendering printed under the step ("if it fails: ..."). The expected outcome is parsed
// from the printed text, never from the policy data, so a change to either side alone fails.

var errInjected = errors.New("injected failure")

// faults fails the next call of one operation ("deploy n3", "undeploy n1", "stop n1", "list n1",
// "apply", "preflight", "migrate"), or every health page while sticky "health" is armed.
type faults struct {
	mu sync.Mutex
	op string
}

func (f *faults) arm(op string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.op = op
}

func (f *faults) take(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.op != op {
		return nil
	}
	if op != "health" {
		f.op = ""
	}
	return fmt.Errorf("%s: %w", op, errInjected)
}

type faultyManager struct {
	Manager
	node string
	f    *faults
}

func (m faultyManager) List(ctx context.Context) ([]tomcatmgr.App, error) {
	if err := m.f.take("list " + m.node); err != nil {
		return nil, err
	}
	return m.Manager.List(ctx)
}

func (m faultyManager) Deploy(ctx context.Context, cx tomcatmgr.Context, war string, p func(int64, int64)) error {
	if err := m.f.take("deploy " + m.node); err != nil {
		return err
	}
	return m.Manager.Deploy(ctx, cx, war, p)
}

func (m faultyManager) Undeploy(ctx context.Context, cx tomcatmgr.Context) error {
	if err := m.f.take("undeploy " + m.node); err != nil {
		return err
	}
	return m.Manager.Undeploy(ctx, cx)
}

func (m faultyManager) Stop(ctx context.Context, cx tomcatmgr.Context) error {
	if err := m.f.take("stop " + m.node); err != nil {
		return err
	}
	return m.Manager.Stop(ctx, cx)
}

type faultyRouter struct {
	lb.Balancer
	f *faults
}

func (r faultyRouter) Apply(ctx context.Context, states map[string]lb.State) error {
	if err := r.f.take("apply"); err != nil {
		return err
	}
	return r.Balancer.Apply(ctx, states)
}

type faultyProber struct {
	Prober
	f *faults
}

func (p faultyProber) Health(ctx context.Context, url string) (int, error) {
	if p.f.take("health") != nil {
		return 500, nil
	}
	return p.Prober.Health(ctx, url)
}

type faultyMigrator struct{ f *faults }

func (faultyMigrator) Pending(context.Context, string) ([]string, error) { return nil, nil }
func (m faultyMigrator) Up(context.Context, string) error                { return m.f.take("migrate") }

// armer is the engine's sink: when step target starts (1-based; in an abort, the target-th
// rollback step) it arms the failure of that step's kind, and disarms a sticky one once the
// step ended.
type armer struct {
	f      *faults
	plan   func() *plan.Plan
	undo   bool
	target int
	seen   int
	watch  chan error
	kinds  *[]string
}

func (a *armer) Emit(ev Event) {
	switch ev.Type {
	case EventStepFinished, EventStepFailed:
		a.f.mu.Lock()
		if a.f.op == "health" {
			a.f.op = ""
		}
		a.f.mu.Unlock()
		return
	case EventStepStarted:
	default:
		return
	}
	var s plan.Step
	if a.undo {
		if !strings.HasPrefix(ev.Kind, "rollback ") {
			return
		}
		if a.seen++; a.seen != a.target {
			return
		}
		s = a.lastUndo(ev.Message)
	} else {
		if ev.Step != a.target || strings.HasPrefix(ev.Kind, "rollback ") {
			return
		}
		s = a.plan().Steps[a.target-1]
	}
	kind := s.Kind()
	switch {
	case s.Preflight != nil:
		a.f.arm("preflight")
	case s.Migrate != nil:
		kind += " " + s.Migrate.Phase
		a.f.arm("migrate")
	case s.Route != nil:
		a.f.arm("apply")
	case s.Deploy != nil:
		a.f.arm("deploy " + s.Deploy.Nodes[len(s.Deploy.Nodes)-1]) // every node of the step was called
	case s.Gate != nil:
		a.f.arm("health")
	case s.Pause != nil:
		a.watch <- errInjected // the synthetic users failed: a failed step, not an interruption
	case s.Drain != nil:
		a.f.arm("list " + three[0])
	case s.Undeploy != nil:
		a.f.arm("undeploy " + s.Undeploy.Nodes[0])
	case s.Stop != nil:
		a.f.arm("stop " + s.Stop.Nodes[0])
	}
	*a.kinds = append(*a.kinds, kind)
}

// lastUndo parses the rollback step an event describes back into a step of its kind.
func (a *armer) lastUndo(msg string) plan.Step {
	f := strings.Fields(msg)
	switch f[0] {
	case "route":
		return plan.Step{Route: &plan.RouteStep{}}
	default:
		return plan.Step{Undeploy: &plan.UndeployStep{Nodes: strings.Split(f[len(f)-1], ",")}}
	}
}

// scenario sets up a cluster and returns the plan to break, its rendering and a run of it.
type scenario struct {
	name string
	// setup prepares e (its seams are the faulty ones, disarmed) and returns the plan's steps
	// as run, the rendering, and the run; undo: the steps are rollback steps (abort).
	setup func(t *testing.T, e *Engine, opts RollbackOptions) (plan *plan.Plan, text string, run func() error)
	undo  bool
}

// expectation is what a rendered "if it fails" line promises.
type expectation struct {
	code   int
	status string
	retry  string   // the command the hint names
	undo   []string // the rollback steps run, in order
}

var stepLine = regexp.MustCompile(`^\s*(\d+)\. `)

// failLines maps each step number of a rendering to its "if it fails" text.
func failLines(text string) map[int]string {
	out := map[int]string{}
	cur := 0
	for _, l := range strings.Split(text, "\n") {
		if m := stepLine.FindStringSubmatch(l); m != nil {
			cur, _ = strconv.Atoi(m[1])
			continue
		}
		if t := strings.TrimSpace(l); cur > 0 && strings.HasPrefix(t, "if it fails: ") {
			out[cur] = strings.TrimPrefix(t, "if it fails: ")
		}
	}
	return out
}

var retryRE = regexp.MustCompile("\\(`([^`]+)` retries\\)")

// promised turns a printed failure text into the outcome it promises.
func promised(t *testing.T, text string, nodes []string) expectation {
	switch {
	case text == "stop; nothing changed", strings.HasPrefix(text, "stop; no node or route changed"):
		return expectation{code: 1, status: state.StatusFailed}
	case strings.HasPrefix(text, "stop; "):
		m := retryRE.FindStringSubmatch(text)
		require.NotNil(t, m, "a stop names the command that retries: %q", text)
		return expectation{code: 4, status: state.StatusNeedsAttention, retry: m[1]}
	}
	var undo []string
	for _, part := range strings.Split(text, "; ") {
		if part == "route every node in" {
			part = "route in: " + strings.Join(nodes, ",") + " out: -"
		}
		undo = append(undo, part)
	}
	return expectation{code: 3, status: state.StatusRolledBack, undo: undo}
}

func TestWhatThePlanPrintsIsWhatAFailureDoes(t *testing.T) {
	var kinds []string
	for _, sc := range agreementScenarios() {
		probe := newAgreement(t, sc, 0, &kinds)
		n := len(probe.plan.Steps)
		require.Positive(t, n, sc.name)
		for i := 1; i <= n; i++ {
			t.Run(fmt.Sprintf("%s/step%d", sc.name, i), func(t *testing.T) {
				a := newAgreement(t, sc, i, &kinds)
				lines := failLines(a.text)
				text, ok := lines[i]
				require.True(t, ok, "step %d has an \"if it fails\" line:\n%s", i, a.text)
				want := promised(t, text, three)
				before := len(a.c.Changes())
				err := a.run()
				require.Error(t, err, "the injected failure at step %d fails the run", i)
				rel, jerr := a.e.Journal.Current()
				require.NoError(t, jerr)
				var undone []string
				for _, r := range rel.Rollback[a.undoneFrom:] {
					undone = append(undone, strings.Join(strings.Fields(r.Step), " "))
				}
				what := fmt.Sprintf("step %d (%s) printed %q; the engine: exit %d, %s, undid %v, hint %q, error %v",
					i, a.plan.Steps[i-1].Kind(), text, outcome.Code(err), rel.Status, undone, outcome.Hint(err), err)
				assert.Equal(t, want.code, outcome.Code(err), what)
				assert.Equal(t, want.status, rel.Status, what)
				if want.retry != "" {
					assert.Contains(t, outcome.Hint(err), "`"+want.retry+"`", what)
				}
				if sc.undo {
					// An abort stops at the failed rollback step: nothing after it ran.
					assert.Len(t, undone, i, what)
				} else {
					assert.Equal(t, want.undo, undone, what)
				}
				if want.code == 1 {
					assert.Len(t, a.c.Changes(), before, "nothing changed: %s", what)
				}
			})
		}
	}
	for _, k := range []string{"preflight", "migrate expand", "migrate contract", "route", "deploy", "gate", "pause", "drain", "undeploy", "stop"} {
		assert.Contains(t, kinds, k, "a failure was injected in a %s step", k)
	}
}

// agreement is one scenario set up with a failure armed at step target (0: none).
type agreement struct {
	c          *deployertest.Cluster
	e          *Engine
	plan       *plan.Plan
	text       string
	run        func() error
	undoneFrom int
}

func newAgreement(t *testing.T, sc scenario, target int, kinds *[]string) *agreement {
	c := deployertest.New(three)
	spec := testSpec(three)
	f := &faults{}
	e := newEngine(t, c, spec)
	for n, m := range e.Managers {
		e.Managers[n] = faultyManager{Manager: m, node: n, f: f}
	}
	e.Router, e.Prober = faultyRouter{Balancer: e.Router, f: f}, faultyProber{Prober: e.Prober, f: f}
	e.Preflight = func(context.Context) error { return f.take("preflight") }
	e.Store = state.NewStore(e.Journal.Dir)
	opts := RollbackOptions{Store: e.Store, Locker: &state.Locker{Dir: e.Journal.Dir, TTL: time.Minute}, Who: tester}
	a := &agreement{c: c, e: e}
	pl, text, run := sc.setup(t, e, opts)
	a.plan, a.text = pl, text
	if target > 0 && pl.Steps[target-1].Pause != nil {
		pl.Steps[target-1].Pause.Duration = time.Minute // until the injected failure
	}
	if cur, err := e.Journal.Current(); err == nil && cur != nil && sc.undo {
		a.undoneFrom = len(cur.Rollback)
	}
	watch := make(chan error, 1)
	e.Watch = watch
	e.Sink = &armer{f: f, plan: func() *plan.Plan { return pl }, undo: sc.undo, target: target, watch: watch, kinds: kinds}
	if target == 0 {
		e.Sink = nil
	}
	a.run = run
	return a
}

// released runs releases of versions (each its own WAR) through the store; the last with
// spec changed by last (nil: none).
func released(t *testing.T, e *Engine, last func(*plan.Spec), versions ...string) error {
	var err error
	for i, v := range versions {
		pe := e
		if i == len(versions)-1 && last != nil {
			s := *e.Spec
			last(&s)
			pe = &Engine{Spec: &s, Managers: e.Managers, Router: e.Router, Prober: e.Prober, Migrator: e.Migrator,
				Journal: e.Journal, Store: e.Store}
		}
		err = releaseWAR(t, pe, v, zipWAR(t, v))
	}
	return err
}

func agreementScenarios() []scenario {
	return []scenario{
		{name: "deploy", setup: func(t *testing.T, e *Engine, _ RollbackOptions) (*plan.Plan, string, func() error) {
			require.NoError(t, released(t, e, nil, "001"))
			e.Spec.Migrations, e.Spec.Pause = true, time.Millisecond
			e.Migrator = faultyMigrator{f: e.Router.(faultyRouter).f}
			st, err := e.Observe(context.Background())
			require.NoError(t, err)
			plan, err := plan.BuildPlan(e.Spec, st, "002", zipWAR(t, "002"))
			require.NoError(t, err)
			return plan, plan.Render(e.Spec.NodeNames(), e.Spec.CanarySize), func() error {
				return e.Start(context.Background(), plan, tester)
			}
		}},
		{name: "rollback", setup: func(t *testing.T, e *Engine, opts RollbackOptions) (*plan.Plan, string, func() error) {
			require.NoError(t, released(t, e, nil, "001", "002"))
			p, err := e.PlanRollback(context.Background(), opts)
			require.NoError(t, err)
			require.Equal(t, "redeploy", p.Mode)
			return p.Plan, p.Render(), func() error { return e.Rollback(context.Background(), p) }
		}},
		{name: "rollback-paused", setup: func(t *testing.T, e *Engine, opts RollbackOptions) (*plan.Plan, string, func() error) {
			require.NoError(t, released(t, e, nil, "001"))
			require.ErrorIs(t, released(t, e, func(s *plan.Spec) { s.PauseAfterCanary = true }, "002"), outcome.ErrPaused)
			p, err := e.PlanRollback(context.Background(), opts)
			require.NoError(t, err)
			require.Equal(t, "redeploy", p.Mode)
			require.NotNil(t, p.Release, "it takes the paused release over")
			return p.Plan, p.Render(), func() error { return e.Rollback(context.Background(), p) }
		}},
		{name: "hard", setup: func(t *testing.T, e *Engine, opts RollbackOptions) (*plan.Plan, string, func() error) {
			e.Spec.NoDrain = true // 001 stays beside 002
			require.NoError(t, released(t, e, nil, "001", "002"))
			opts.Hard = true
			p, err := e.PlanRollback(context.Background(), opts)
			require.NoError(t, err)
			require.Equal(t, "hard", p.Mode)
			return p.Plan, p.Render(), func() error { return e.Rollback(context.Background(), p) }
		}},
		{name: "abort", undo: true, setup: func(t *testing.T, e *Engine, opts RollbackOptions) (*plan.Plan, string, func() error) {
			require.NoError(t, released(t, e, nil, "001"))
			require.ErrorIs(t, released(t, e, func(s *plan.Spec) { s.PauseAfterCanary = true }, "002"), outcome.ErrPaused)
			// `zdd rollback --hard` of a paused release prints the undo that `zdd abort` runs.
			opts.Hard = true
			p, err := e.PlanRollback(context.Background(), opts)
			require.NoError(t, err)
			require.Equal(t, "undo", p.Mode)
			return &plan.Plan{Steps: p.Undo}, p.Render(), func() error { return e.Abort(context.Background(), opts.Locker, tester) }
		}},
	}
}
