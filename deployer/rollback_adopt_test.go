package deployer

import (
	"archive/zip"
	"context"
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

// zipWAR writes a WAR whose web.xml holds body (so that each body has its own checksum).
func zipWAR(t *testing.T, body string) plan.WARInfo {
	p := filepath.Join(t.TempDir(), "app-"+body+".war")
	f, err := os.Create(p)
	require.NoError(t, err)
	zw := zip.NewWriter(f)
	w, err := zw.Create("WEB-INF/web.xml")
	require.NoError(t, err)
	_, err = w.Write([]byte("<web-app><!-- " + body + " --></web-app>"))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())
	info, err := InspectWAR(p, "")
	require.NoError(t, err)
	return info
}

var tester = state.Lease{Holder: "t", Host: "h", Command: "go test"}

// storedEngine is an engine with the release store and a locker on its state directory.
func storedEngine(t *testing.T, c *deployertest.Cluster, spec *plan.Spec) (*Engine, RollbackOptions) {
	e := newEngine(t, c, spec)
	e.Store = state.NewStore(e.Journal.Dir)
	return e, RollbackOptions{Store: e.Store, Locker: &state.Locker{Dir: e.Journal.Dir, TTL: time.Minute}, Who: tester}
}

// releaseWAR runs a release of war as version to through the store, as `zdd deploy` does.
func releaseWAR(t *testing.T, e *Engine, to string, war plan.WARInfo) error {
	st, err := e.Observe(context.Background())
	require.NoError(t, err)
	plan, err := plan.BuildPlan(e.Spec, st, to, war)
	require.NoError(t, err)
	return e.Start(context.Background(), plan, tester)
}

// adopted is 001 deployed by hand on every node (no history, no WAR), then 002 released by zdd.
func adopted(t *testing.T) (*deployertest.Cluster, *Engine, RollbackOptions, plan.WARInfo) {
	c := deployertest.New(three, "001")
	spec := testSpec(three)
	spec.NoDrain = true
	e, opts := storedEngine(t, c, spec)
	bad := zipWAR(t, "002")
	require.NoError(t, releaseWAR(t, e, "002", bad))
	for _, n := range three {
		c.SetSessions(n, "002", 5)
	}
	return c, e, opts, bad
}

func TestRollbackAdoptedWithoutWARRefusesWithGuidance(t *testing.T) {
	c, e, opts, _ := adopted(t)
	before := len(c.Changes())
	_, err := e.PlanRollback(context.Background(), opts)
	require.Error(t, err)
	assert.Equal(t, 1, outcome.Code(err), "exit 1, never 6: an older version still runs")
	assert.Contains(t, err.Error(), "n1: 001,002; n2: 001,002; n3: 001,002", "what runs where")
	assert.Contains(t, err.Error(), "its 5 open sessions would be lost", "what --hard costs")
	assert.Contains(t, outcome.Hint(err), "`zdd rollback --war app-001.war`")
	assert.Contains(t, outcome.Hint(err), "--previous-war")
	assert.Len(t, c.Changes(), before, "nothing changed")
}

func TestRollbackAdoptedHardStopsTheNewVersion(t *testing.T) {
	c, e, opts, _ := adopted(t)
	opts.Hard = true
	p, err := e.PlanRollback(context.Background(), opts)
	require.NoError(t, err)
	assert.Equal(t, "hard", p.Mode)
	assert.Equal(t, "001", p.Previous)
	assert.Equal(t, 5, p.Sessions)
	assert.Contains(t, p.Render(), "the 5 open sessions of 002 are lost")
	require.NoError(t, e.Rollback(context.Background(), p))
	for _, n := range three {
		assert.Equal(t, []string{"001"}, c.Versions(n))
	}
	rel, err := e.Journal.Current()
	require.NoError(t, err)
	assert.Equal(t, 5, rel.LostSessions)
	assert.Equal(t, state.StatusDone, rel.Status)
}

func TestRollbackAdoptedHardRefusesWhenAnOlderVersionIsMissing(t *testing.T) {
	c, e, opts, _ := adopted(t)
	delete(c.Apps["n3"], "001")
	before := len(c.Changes())
	opts.Hard = true
	_, err := e.PlanRollback(context.Background(), opts)
	require.Error(t, err)
	assert.Equal(t, 1, outcome.Code(err))
	assert.Contains(t, err.Error(), "001 does not run on n3")
	assert.Len(t, c.Changes(), before, "nothing changed")
}

func TestRollbackAdoptedWithWARRedeploysAndRegistersIt(t *testing.T) {
	c, e, opts, bad := adopted(t)
	good := zipWAR(t, "001")
	opts.WAR, opts.NoDrain = good.Path, true
	p, err := e.PlanRollback(context.Background(), opts)
	require.NoError(t, err)
	assert.Equal(t, "redeploy", p.Mode)
	assert.Equal(t, "003", p.Plan.To)
	_, err = e.Store.Get(good.SHA256)
	assert.Error(t, err, "planning stores nothing")
	require.NoError(t, e.Rollback(context.Background(), p))
	for _, n := range three {
		assert.Equal(t, []string{"001", "002", "003"}, c.Versions(n))
	}
	_, err = e.Store.Get(good.SHA256)
	assert.NoError(t, err, "the WAR given is kept in the store")
	hist, err := e.Journal.History()
	require.NoError(t, err)
	require.Len(t, hist, 3)
	assert.Equal(t, state.KindAdopt, hist[1].Kind)
	assert.Equal(t, "001", hist[1].To)
	assert.Equal(t, good.SHA256, hist[1].SHA256)
	assert.Equal(t, state.KindRollback, hist[2].Kind)
	assert.Equal(t, good.SHA256, hist[2].SHA256)
	assert.Equal(t, &state.RolledBack{Version: "002", SHA256: bad.SHA256}, hist[2].RolledBack)
	rel, err := e.Journal.Current()
	require.NoError(t, err)
	assert.Zero(t, rel.LostSessions)
}

func TestRollbackWARBadInputChangesNothing(t *testing.T) {
	c, e, opts, bad := adopted(t)
	before := len(c.Changes())
	notWAR := filepath.Join(t.TempDir(), "notes.txt")
	require.NoError(t, os.WriteFile(notWAR, []byte("hello"), 0o644))
	for name, path := range map[string]string{"not a WAR": notWAR, "the bad code": bad.Path, "missing": "/nonexistent.war"} {
		opts.WAR = path
		_, err := e.PlanRollback(context.Background(), opts)
		require.Error(t, err, name)
		assert.Equal(t, 1, outcome.Code(err), name)
		if name == "the bad code" {
			assert.Contains(t, err.Error(), "has the checksum of 002")
		}
	}
	assert.Len(t, c.Changes(), before)
	list, _ := e.Store.List()
	assert.Len(t, list, 1, "only 002's WAR is stored")
}

func TestRollbackAfterContractRefusesWithoutCrash(t *testing.T) {
	c := deployertest.New(three, "002")
	spec := testSpec(three)
	e, opts := storedEngine(t, c, spec)
	j := e.Journal
	for _, h := range []state.HistoryEntry{
		{ID: "001-a", App: "app", To: "001", SHA256: zipWAR(t, "001").SHA256, Status: state.StatusDone},
		{ID: "002-b", App: "app", From: []string{"001"}, To: "002", SHA256: zipWAR(t, "002").SHA256, Status: state.StatusDone, Contract: true},
	} {
		require.NoError(t, j.AppendEntry(h))
	}
	require.NoError(t, j.Save(&state.Release{ID: "002-b", Status: state.StatusDone, Plan: plan.Plan{App: "app", To: "002"}, Contracts: []string{"3_drop.sql"}}))
	for _, hard := range []bool{false, true} {
		opts.Hard = hard
		_, err := e.PlanRollback(context.Background(), opts)
		require.Error(t, err)
		assert.Equal(t, 1, outcome.Code(err))
		assert.Contains(t, err.Error(), "refusing to roll back past a contract migration: release 002-b")
	}
	assert.Empty(t, c.Changes())
}

func TestPreviousWARRegisteredBeforeReleaseMakesRollbackSoft(t *testing.T) {
	c := deployertest.New(three, "001")
	spec := testSpec(three)
	spec.NoDrain = true
	e, opts := storedEngine(t, c, spec)
	st, err := e.Observe(context.Background())
	require.NoError(t, err)
	v, err := e.Unregistered(st)
	require.NoError(t, err)
	assert.Equal(t, "001", v, "preflight warns about 001")

	prev := zipWAR(t, "001")
	notWAR := filepath.Join(t.TempDir(), "x.war")
	require.NoError(t, os.WriteFile(notWAR, []byte("PK nope"), 0o644))
	for _, bad := range []struct{ v, war, want string }{
		{"1", prev.Path, "not 3 digits"},
		{"00a", prev.Path, "not 3 digits"},
		{"../x", prev.Path, ""},
		{"002", prev.Path, "does not run on n1"},
		{"001", notWAR, "not a zip"},
		{"001", "", "go together"},
	} {
		_, err := e.CheckPrevious(st, bad.v, bad.war)
		require.Error(t, err, bad)
		assert.Equal(t, 1, outcome.Code(err), bad)
		assert.Contains(t, err.Error(), bad.want, bad)
	}
	war, err := e.CheckPrevious(st, "001", prev.Path)
	require.NoError(t, err)
	_, err = e.RegisterPrevious("001", war, tester)
	require.NoError(t, err)
	v, err = e.Unregistered(st)
	require.NoError(t, err)
	assert.Empty(t, v)

	require.NoError(t, releaseWAR(t, e, "002", zipWAR(t, "002")))
	opts.NoDrain = true
	p, err := e.PlanRollback(context.Background(), opts)
	require.NoError(t, err)
	assert.Equal(t, "redeploy", p.Mode)
	assert.Equal(t, prev.SHA256, p.Plan.SHA256, "the registered WAR is deployed again")
	assert.Contains(t, p.Render(), "deployed before zdd")
}

// paused is 001 released by zdd, then 002 paused after its canary (n1,n2) took traffic.
func paused(t *testing.T, adopt bool) (*deployertest.Cluster, *Engine, RollbackOptions) {
	c := deployertest.New(three)
	spec := testSpec(three)
	spec.NoDrain = true
	e, opts := storedEngine(t, c, spec)
	if adopt {
		c = deployertest.New(three, "001")
		e, opts = storedEngine(t, c, spec)
	} else {
		require.NoError(t, releaseWAR(t, e, "001", zipWAR(t, "001")))
	}
	ps := *spec
	ps.PauseAfterCanary = true
	pe := &Engine{Spec: &ps, Managers: e.Managers, Router: e.Router, Prober: e.Prober, Migrator: e.Migrator,
		Journal: e.Journal, Sink: e.Sink, Store: e.Store}
	require.ErrorIs(t, releaseWAR(t, pe, "002", zipWAR(t, "002")), outcome.ErrPaused)
	c.SetSessions("n1", "002", 4)
	c.SetSessions("n2", "002", 4)
	return c, e, opts
}

func TestRollbackPausedRedeploysKeepingCanarySessions(t *testing.T) {
	c, e, opts := paused(t, false)
	opts.NoDrain = true
	before := len(c.Changes())
	p, err := e.PlanRollback(context.Background(), opts)
	require.NoError(t, err)
	t.Log(p.Render())
	assert.Equal(t, "redeploy", p.Mode)
	assert.Equal(t, "003", p.Plan.To)
	require.NoError(t, e.Rollback(context.Background(), p))
	assert.Equal(t, []string{
		"deploy n3 002", "deploy n3 003",
		"route in:[n3] out:[n1 n2]",
		"deploy n1 003", "deploy n2 003",
		"route in:[n1 n2 n3] out:[]",
	}, c.Changes()[before:], "002 never leaves a node in rotation; no new session reaches it")
	for _, n := range three {
		assert.Equal(t, []string{"001", "002", "003"}, c.Versions(n))
	}
	rel, err := e.Journal.Current()
	require.NoError(t, err)
	assert.Equal(t, state.StatusDone, rel.Status)
	assert.Zero(t, rel.LostSessions)
	assert.Equal(t, "002", rel.RolledBack.Version)
}

func TestRollbackPausedWithoutPreviousWARNamesHard(t *testing.T) {
	c, e, opts := paused(t, true)
	before := len(c.Changes())
	_, err := e.PlanRollback(context.Background(), opts)
	require.Error(t, err)
	assert.Equal(t, 1, outcome.Code(err))
	assert.Contains(t, err.Error(), "takes 002 off the canary now: its 4 open sessions would be lost")
	assert.Contains(t, outcome.Hint(err), "--hard")
	assert.Len(t, c.Changes(), before)

	opts.Hard = true
	p, err := e.PlanRollback(context.Background(), opts)
	require.NoError(t, err)
	assert.Equal(t, "undo", p.Mode)
	assert.Contains(t, p.Render(), "the 4 open sessions of 002 on the canary are lost")
	require.NoError(t, e.Rollback(context.Background(), p))
	for _, n := range three {
		assert.Equal(t, []string{"001"}, c.Versions(n))
		assert.False(t, c.State(n).Down)
	}
	rel, err := e.Journal.Current()
	require.NoError(t, err)
	assert.Equal(t, 4, rel.LostSessions, "--hard counts the canary's sessions")
}

func TestInterruptAfterCanaryInRotationStopsAsPaused(t *testing.T) {
	c := deployertest.New(three, "001")
	spec := testSpec(three)
	spec.NoDrain = true
	e := newEngine(t, c, spec)
	ctx, cancel := context.WithCancel(context.Background())
	c.OnDeploy = func(node string) {
		if node == "n3" {
			cancel() // Ctrl-C while the second batch gets 002: the canary (n1,n2) serves it
		}
	}
	st, err := e.Observe(ctx)
	require.NoError(t, err)
	plan, err := plan.BuildPlan(spec, st, "002", testWAR(t))
	require.NoError(t, err)
	err = e.Start(ctx, plan, tester)
	cancel()
	require.ErrorIs(t, err, outcome.ErrInterrupted)
	assert.Equal(t, 130, outcome.Code(err))
	assert.Contains(t, outcome.Hint(err), "`zdd promote`")
	assert.Contains(t, outcome.Hint(err), "`zdd rollback`")
	assert.Equal(t, []string{"001", "002"}, c.Versions("n1"))
	assert.Equal(t, []string{"001", "002"}, c.Versions("n2"))
	assert.Equal(t, []string{"001"}, c.Versions("n3"))
	assert.False(t, c.State("n1").Down)
	assert.True(t, c.State("n3").Down, "routes as at the pause")
	rel, err := e.Journal.Current()
	require.NoError(t, err)
	assert.Equal(t, state.StatusPaused, rel.Status)
	require.NotNil(t, rel.Plan.Steps[rel.Current].Deploy)
	assert.Equal(t, []string{"n3"}, rel.Plan.Steps[rel.Current].Deploy.Nodes)

	c.OnDeploy = nil
	require.NoError(t, e.Continue(context.Background(), rel), "`zdd promote` goes on from there")
	for _, n := range three {
		assert.Equal(t, []string{"001", "002"}, c.Versions(n))
		assert.False(t, c.State(n).Down)
	}
}

func TestSecondRollbackAfterWARFindsNothingAndHardRefusesRolledBackCode(t *testing.T) {
	c, e, opts, _ := adopted(t)
	opts.WAR, opts.NoDrain = zipWAR(t, "001").Path, true
	p, err := e.PlanRollback(context.Background(), opts)
	require.NoError(t, err)
	require.NoError(t, e.Rollback(context.Background(), p))
	before := len(c.Changes())
	opts.WAR = ""
	_, err = e.PlanRollback(context.Background(), opts)
	require.Error(t, err)
	assert.Equal(t, 6, outcome.Code(err), "003 is 001's code, 002's was rolled back: nothing to go back to (%v)", err)
	opts.Hard = true
	_, err = e.PlanRollback(context.Background(), opts)
	require.Error(t, err)
	assert.Equal(t, 6, outcome.Code(err))
	assert.Len(t, c.Changes(), before)
}
