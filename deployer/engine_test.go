package deployer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/deployertest"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
)

var three = []string{"n1", "n2", "n3"}

func testSpec(nodes []string) *plan.Spec {
	s := &plan.Spec{App: "app", HealthPath: "/health.jsp", VersionWidth: 3, CanarySize: 2,
		HealthTimeout: 50 * time.Millisecond, ReplicationTimeout: 50 * time.Millisecond, DrainTimeout: 50 * time.Millisecond}
	for _, n := range nodes {
		s.Nodes = append(s.Nodes, plan.NodeSpec{Name: n, URL: "http://" + n, Weight: 1})
	}
	return s
}

// testWAR writes a minimal valid WAR.
func testWAR(t *testing.T) plan.WARInfo {
	p := filepath.Join(t.TempDir(), "app.war")
	// A zip with one WEB-INF/ entry: local header, central directory, end record.
	require.NoError(t, os.WriteFile(p, minimalWAR, 0o644))
	return plan.WARInfo{Path: p, SHA256: "abc", Size: int64(len(minimalWAR))}
}

func newEngine(t *testing.T, c *deployertest.Cluster, spec *plan.Spec) *Engine {
	e := &Engine{Spec: spec, Managers: map[string]Manager{}, Router: c.Router(), Prober: c.Prober(),
		Journal: &state.Journal{Dir: t.TempDir()}}
	for _, n := range spec.Nodes {
		e.Managers[n.Name] = c.Manager(n.Name)
	}
	return e
}

func release(t *testing.T, e *Engine, to string) error {
	st, err := e.Observe(context.Background())
	require.NoError(t, err)
	plan, err := plan.BuildPlan(e.Spec, st, to, testWAR(t))
	require.NoError(t, err)
	return e.Start(context.Background(), plan, state.Lease{Holder: "t", Host: "h"})
}

func TestReleaseMovesBatchesOutOfRotation(t *testing.T) {
	c := deployertest.New(three, "001")
	spec := testSpec(three)
	spec.NoDrain = true
	e := newEngine(t, c, spec)
	require.NoError(t, release(t, e, "002"))
	assert.Equal(t, []string{
		"route in:[n3] out:[n1 n2]",
		"deploy n1 002", "deploy n2 002",
		"route in:[n1 n2] out:[n3]",
		"deploy n3 002",
		"route in:[n1 n2 n3] out:[]",
	}, c.Changes())
	for _, n := range three {
		assert.Equal(t, []string{"001", "002"}, c.Versions(n))
	}
	rel, err := e.Journal.Current()
	require.NoError(t, err)
	assert.Equal(t, state.StatusDone, rel.Status)
	b, err := os.ReadFile(filepath.Join(e.Journal.Dir, "history.jsonl"))
	require.NoError(t, err)
	assert.Contains(t, string(b), `"status":"done"`)
}

func TestFailedHealthGateRollsBack(t *testing.T) {
	c := deployertest.New(three, "001")
	c.Health["n2"] = 500
	spec := testSpec(three)
	spec.NoDrain = true
	e := newEngine(t, c, spec)
	err := release(t, e, "002")
	require.ErrorIs(t, err, outcome.ErrRolledBack)
	assert.Equal(t, 3, outcome.Code(err))
	var g *GateError
	require.ErrorAs(t, err, &g)
	assert.Equal(t, "health", g.Check)
	assert.Equal(t, "n2", g.Node)
	for _, n := range three {
		assert.Equal(t, []string{"001"}, c.Versions(n), "node %s", n)
		assert.False(t, c.State(n).Down, "node %s must be in rotation", n)
	}
	// The canary batch stays out of rotation until 002 is gone from it.
	assert.Equal(t, []string{"route in:[n3] out:[n1 n2]", "undeploy n1 002", "undeploy n2 002", "route in:[n1 n2 n3] out:[]"}, c.Changes()[3:])
}

func TestFailedGateAfterSwitchRollsBackEveryNode(t *testing.T) {
	c := deployertest.New(three, "001")
	c.Plain["n3"] = true // the second batch's session manager is not clustered
	spec := testSpec(three)
	spec.NoDrain = true
	e := newEngine(t, c, spec)
	err := release(t, e, "002")
	require.ErrorIs(t, err, outcome.ErrRolledBack)
	for _, n := range three {
		assert.Equal(t, []string{"001"}, c.Versions(n), "node %s", n)
		assert.False(t, c.State(n).Down)
	}
	rel, err := e.Journal.Current()
	require.NoError(t, err)
	assert.Equal(t, state.StatusRolledBack, rel.Status)
	assert.Len(t, rel.Rollback, 5)
}

func TestPauseAndContinue(t *testing.T) {
	c := deployertest.New(three, "001")
	spec := testSpec(three)
	spec.NoDrain, spec.PauseAfterCanary = true, true
	e := newEngine(t, c, spec)
	err := release(t, e, "002")
	require.ErrorIs(t, err, outcome.ErrPaused)
	assert.Equal(t, 7, outcome.Code(err))
	assert.Equal(t, []string{"001"}, c.Versions("n3"), "the second batch waits")
	rel, err := e.Journal.Current()
	require.NoError(t, err)
	require.Equal(t, state.StatusPaused, rel.Status)
	require.NoError(t, e.Continue(context.Background(), rel))
	assert.Equal(t, []string{"001", "002"}, c.Versions("n3"))
}

func TestInterruptDuringDeployRollsBack(t *testing.T) {
	c := deployertest.New(three, "001")
	spec := testSpec(three)
	spec.NoDrain = true
	e := newEngine(t, c, spec)
	ctx, cancel := context.WithCancel(context.Background())
	c.OnDeploy = func(node string) {
		if node == "n2" {
			cancel()
		}
	}
	st, err := e.Observe(ctx)
	require.NoError(t, err)
	plan, err := plan.BuildPlan(spec, st, "002", testWAR(t))
	require.NoError(t, err)
	err = e.Start(ctx, plan, state.Lease{})
	require.ErrorIs(t, err, outcome.ErrInterrupted)
	assert.Equal(t, 130, outcome.Code(err))
	for _, n := range three {
		assert.Equal(t, []string{"001"}, c.Versions(n))
		assert.False(t, c.State(n).Down)
	}
}

func TestPreflightFailureChangesNothing(t *testing.T) {
	c := deployertest.New(three, "001")
	e := newEngine(t, c, testSpec(three))
	e.Preflight = func(context.Context) error { return errors.New("lb2: nginx -t failed") }
	err := release(t, e, "002")
	require.ErrorIs(t, err, outcome.ErrPreflight)
	assert.Equal(t, 1, outcome.Code(err))
	assert.ErrorContains(t, err, "nginx -t failed")
	assert.Empty(t, c.Changes(), "nothing may change")
}

func TestRouteFailureOnFirstStepRestoresRouting(t *testing.T) {
	c := deployertest.New(three, "001")
	c.FailNext(deployertest.Apply, "", errors.New("lb1 unreachable"))
	e := newEngine(t, c, testSpec(three))
	err := release(t, e, "002")
	require.ErrorIs(t, err, outcome.ErrRolledBack)
	assert.Equal(t, []string{"route in:[n1 n2 n3] out:[]"}, c.Changes())
}

func TestDrainExpiresAtDeadlineOnlyWhenAsked(t *testing.T) {
	for _, expire := range []bool{false, true} {
		c := deployertest.New(three, "001", "002")
		for _, n := range three {
			c.Apps[n]["001"].Sessions = 4
		}
		spec := testSpec(three)
		spec.ExpireAtDrainDeadline = expire
		e := newEngine(t, c, spec)
		rel := &state.Release{Plan: plan.Plan{App: "app", From: []string{"001"}, To: "002", Steps: plan.DrainSteps(spec, []string{"001"})}, Steps: make([]state.StepRecord, 2)}
		require.NoError(t, e.Continue(context.Background(), rel))
		if expire {
			assert.Equal(t, []string{"002"}, c.Versions("n1"), "expired, then undeployed")
			assert.Equal(t, 4, rel.LostSessions)
		} else {
			assert.Equal(t, []string{"001", "002"}, c.Versions("n1"), "users keep their sessions")
			assert.Equal(t, 0, rel.LostSessions)
		}
	}
}

func TestBuildPlanRefusesLowerVersionAndSplitFleet(t *testing.T) {
	spec := testSpec(three)
	c := deployertest.New(three, "010")
	e := newEngine(t, c, spec)
	st, err := e.Observe(context.Background())
	require.NoError(t, err)
	_, err = plan.BuildPlan(spec, st, "009", plan.WARInfo{})
	require.ErrorIs(t, err, outcome.ErrPreflight)
	assert.ErrorContains(t, err, "does not sort above")

	delete(c.Apps["n3"], "010")
	st, err = e.Observe(context.Background())
	require.NoError(t, err)
	_, err = plan.BuildPlan(spec, st, "011", plan.WARInfo{})
	assert.ErrorContains(t, err, "nodes disagree")
}

func TestFailedDrainNeedsAttention(t *testing.T) {
	c := deployertest.New(three, "001", "002")
	spec := testSpec(three)
	e := newEngine(t, c, spec)
	c.FailNext(deployertest.List, "n2", errors.New("n2 unreachable"))
	rel := &state.Release{Plan: plan.Plan{App: "app", From: []string{"001"}, To: "002", Steps: plan.DrainSteps(spec, []string{"001"})}}
	err := e.Continue(context.Background(), rel)
	require.ErrorIs(t, err, outcome.ErrNeedsAttention)
	assert.Equal(t, 4, outcome.Code(err))
}

func TestFailedExpandMigrationKeepsItsClass(t *testing.T) {
	c := deployertest.New(three, "001")
	spec := testSpec(three)
	spec.Migrations = true
	e := newEngine(t, c, spec)
	e.Migrator = failingMigrator{outcome.Classify(outcome.ErrNeedsAttention, errors.New("0002_add.sql: Error 1064"))}
	err := release(t, e, "002")
	assert.Equal(t, 4, outcome.Code(err))
	assert.Empty(t, c.Changes(), "no node or route may change")
}

type failingMigrator struct{ err error }

func (m failingMigrator) Pending(context.Context, string) ([]string, error) {
	return []string{"x"}, nil
}
func (m failingMigrator) Up(context.Context, string) error { return m.err }

func TestSecondBatchWithoutStateTransferRollsBack(t *testing.T) {
	c := deployertest.New(three, "001")
	c.NoState["n3"] = true
	spec := testSpec(three)
	spec.NoDrain = true
	e := newEngine(t, c, spec)
	err := release(t, e, "002")
	require.ErrorIs(t, err, outcome.ErrRolledBack)
	var g *GateError
	require.ErrorAs(t, err, &g)
	assert.Equal(t, "state-transfer", g.Check)
	assert.Equal(t, "n3", g.Node)
	for _, n := range three {
		assert.Equal(t, []string{"001"}, c.Versions(n))
	}
}

func TestWatchFailureRollsBackLikeAGate(t *testing.T) {
	c := deployertest.New(three, "001")
	spec := testSpec(three)
	spec.NoDrain = true
	e := newEngine(t, c, spec)
	watch := make(chan error, 1)
	e.Watch = watch
	c.OnDeploy = func(node string) {
		if node == "n2" {
			watch <- errors.New("session lost at 1.2s")
		}
	}
	err := release(t, e, "002")
	require.ErrorIs(t, err, outcome.ErrRolledBack)
	assert.Equal(t, 3, outcome.Code(err))
	var we *WatchError
	require.ErrorAs(t, err, &we)
	assert.ErrorContains(t, err, "session lost")
	for _, n := range three {
		assert.Equal(t, []string{"001"}, c.Versions(n))
		assert.False(t, c.State(n).Down)
	}
}
