package deployer

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

// withSessions gives every node the same 40 sessions of version, last accessed at now.
func withSessions(c *deployertest.Cluster, version string, now time.Time) []string {
	var ids []string
	for i := range 40 {
		id := fmt.Sprintf("S%02d.n%d", i, i%3+1)
		ids = append(ids, id)
		c.SetSession(version, id, now, three...)
	}
	return ids
}

// staleOn makes node miss the last updates of half the sessions and the creation of 3 more,
// as a node frozen while the others served.
func staleOn(c *deployertest.Cluster, node, version string, ids []string, now time.Time) {
	for i, id := range ids {
		if i%2 == 0 {
			c.SetSession(version, id, now.Add(-40*time.Second), node)
		}
	}
	for i := range 3 {
		id := fmt.Sprintf("NEW%d.n3", i)
		c.SetSession(version, id, now, three...)
		c.DropSession(node, version, id)
	}
}

// recorder keeps the events.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) Emit(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) readmits(passed bool) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if e.Type == EventGate && e.Kind == "readmit" && *e.Passed == passed {
			out = append(out, e.Node+": "+e.Message)
		}
	}
	return out
}

// failedDeployOnN2 is a release whose deploy to n2 fails while n2 missed replication: the
// rollback's last route is where n2 would go back in.
func failedDeployOnN2(t *testing.T, noResync bool) (*deployertest.Cluster, *Engine, *recorder, error) {
	c := deployertest.New(three, "001")
	now := time.Now()
	ids := withSessions(c, "001", now)
	staleOn(c, "n2", "001", ids, now)
	c.NoResync["n2"] = noResync
	c.FailNext(deployertest.Deploy, "n2", errors.New("deploy n2: timed out"))
	spec := testSpec(three)
	spec.NoDrain = true
	e := newEngine(t, c, spec)
	rec := &recorder{}
	e.Sink = rec
	return c, e, rec, release(t, e, "002")
}

func TestReadmitKeepsStaleNodeOut(t *testing.T) {
	c, e, rec, err := failedDeployOnN2(t, true)
	require.Error(t, err)
	assert.Equal(t, 4, outcome.Code(err), "a node kept out needs attention: %v", err)
	var kept *ReadmitError
	require.ErrorAs(t, err, &kept)
	assert.Equal(t, []string{"n2"}, kept.Nodes)
	assert.True(t, kept.Applied, "the others were routed in")
	var g *GateError
	require.ErrorAs(t, err, &g)
	assert.Equal(t, "sessions", g.Check)
	assert.Equal(t, "n2", g.Node)
	assert.Contains(t, err.Error(), "kept n2 out of rotation")
	assert.True(t, c.State("n2").Down, "n2 stays out")
	assert.False(t, c.State("n1").Down, "n1 serves")
	assert.False(t, c.State("n3").Down, "n3 serves")
	ch := c.Changes()
	assert.Contains(t, ch, "resync n2 001", "the node is asked to fetch the sessions again first")
	assert.Equal(t, "route in:[n1 n3] out:[n2]", ch[len(ch)-1])
	assert.Len(t, rec.readmits(false), 1)
	assert.Contains(t, rec.readmits(false)[0], "n2: gate sessions on n2")
	assert.Len(t, rec.readmits(true), 1, "n1 passed")
	assert.Contains(t, rec.readmits(true)[0], "n1: healthy, clustered (001), sessions of 001 match n3")
	rel, err := e.Journal.Current()
	require.NoError(t, err)
	assert.Equal(t, state.StatusNeedsAttention, rel.Status)

	// Once n2 can fetch the sessions, `zdd abort` routes it in.
	c.NoResync["n2"] = false
	require.NoError(t, e.Abort(context.Background(), &state.Locker{Dir: t.TempDir(), TTL: time.Minute}, state.Lease{Holder: "t", Host: "h"}))
	for _, n := range three {
		assert.False(t, c.State(n).Down, "%s in rotation after the abort", n)
	}
	ch = c.Changes()
	assert.Equal(t, []string{"resync n2 001", "route in:[n1 n2 n3] out:[]"}, ch[len(ch)-2:])
}

func TestReadmitResyncRepairsStaleNode(t *testing.T) {
	c, _, rec, err := failedDeployOnN2(t, false)
	require.ErrorIs(t, err, outcome.ErrRolledBack)
	assert.Equal(t, 3, outcome.Code(err))
	for _, n := range three {
		assert.False(t, c.State(n).Down, "%s in rotation", n)
	}
	assert.Contains(t, c.Changes(), "resync n2 001")
	assert.Empty(t, rec.readmits(false))
	assert.Len(t, rec.readmits(true), 2, "n1 and n2 readmitted")
}

func TestReadmitFreshNodesNeedNoResync(t *testing.T) {
	c := deployertest.New(three, "001")
	withSessions(c, "001", time.Now())
	spec := testSpec(three)
	spec.NoDrain = true
	e := newEngine(t, c, spec)
	rec := &recorder{}
	e.Sink = rec
	require.NoError(t, release(t, e, "002"))
	for _, ch := range c.Changes() {
		assert.False(t, strings.HasPrefix(ch, "resync"), ch)
	}
	// n1,n2 come in beside n3 (001 compared; 002 has no sessions yet), then n3 beside them.
	passed := rec.readmits(true)
	require.Len(t, passed, 3)
	slices.Sort(passed)
	assert.Contains(t, passed[0], "n1: healthy, clustered (001,002), sessions of 001 match n3 (16 compared)")
	assert.Contains(t, passed[2], "n3: healthy, clustered (001,002), sessions of 001,002 match n1")
}

func TestReadmitNeverLeavesNoNodeInRotation(t *testing.T) {
	c := deployertest.New(three, "001")
	now := time.Now()
	ids := withSessions(c, "001", now)
	staleOn(c, "n2", "001", ids, now)
	c.NoResync["n2"] = true
	ctx := context.Background()
	r := c.Router()
	require.NoError(t, r.Apply(ctx, map[string]lb.State{"n1": {Weight: 1}, "n2": {Weight: 1, Down: true}, "n3": {Weight: 1, Down: true}}))
	e := newEngine(t, c, testSpec(three))
	err := e.route(ctx, 1, &plan.RouteStep{In: []string{"n2"}, Out: []string{"n1", "n3"}})
	var kept *ReadmitError
	require.ErrorAs(t, err, &kept)
	assert.False(t, kept.Applied)
	assert.True(t, kept.NoneLeft)
	assert.Contains(t, err.Error(), "the route was not applied")
	assert.False(t, c.State("n1").Down, "n1 still serves")
	assert.True(t, c.State("n2").Down)
}

func TestReadmitChecksHealthAndClusteredManager(t *testing.T) {
	c := deployertest.New(three, "001", "002")
	c.Health["n2"] = 500
	c.Plain["n3"] = true
	ctx := context.Background()
	require.NoError(t, c.Router().Apply(ctx, map[string]lb.State{"n2": {Weight: 1, Down: true}, "n3": {Weight: 1, Down: true}}))
	e := newEngine(t, c, testSpec(three))
	err := e.route(ctx, 1, &plan.RouteStep{In: three})
	var kept *ReadmitError
	require.ErrorAs(t, err, &kept)
	assert.Equal(t, []string{"n2", "n3"}, kept.Nodes)
	var checks []string
	for _, ge := range kept.Errs {
		checks = append(checks, ge.(*GateError).Check)
	}
	assert.Equal(t, []string{"health", "clustered"}, checks)
	assert.True(t, kept.Applied)
	assert.False(t, c.State("n1").Down)
}

func TestReadmitSkipsNodesAlreadyInRotation(t *testing.T) {
	c := deployertest.New(three, "001")
	c.Health["n1"] = 500 // would fail, but n1 is in rotation already
	c.FailNext(deployertest.SessionIDs, "n1", errors.New("must not be asked"))
	e := newEngine(t, c, testSpec(three))
	require.NoError(t, e.route(context.Background(), 1, &plan.RouteStep{In: three}))
	assert.True(t, c.Pending(deployertest.SessionIDs, "n1"))
}

func TestReadmitDetectsStaleCopiesNotOnlyMissingOnes(t *testing.T) {
	c := deployertest.New(three, "001")
	now := time.Now()
	ids := withSessions(c, "001", now)
	for _, id := range ids { // every copy on n2 present, but 40 s old
		c.SetSession("001", id, now.Add(-40*time.Second), "n2")
	}
	c.NoResync["n2"] = true
	ctx := context.Background()
	require.NoError(t, c.Router().Apply(ctx, map[string]lb.State{"n2": {Weight: 1, Down: true}}))
	e := newEngine(t, c, testSpec(three))
	err := e.route(ctx, 1, &plan.RouteStep{In: three})
	var kept *ReadmitError
	require.ErrorAs(t, err, &kept)
	assert.Equal(t, []string{"n2"}, kept.Nodes)
	assert.Contains(t, err.Error(), "last accessed")
}

func TestReadmitRefusesANodeWithAVersionTheOthersLack(t *testing.T) {
	c := deployertest.New(three, "001")
	ctx := context.Background()
	require.NoError(t, c.Manager("n2").Deploy(ctx, e2(), testWAR(t).Path, nil)) // a deploy that completed after its timeout
	require.NoError(t, c.Router().Apply(ctx, map[string]lb.State{"n2": {Weight: 1, Down: true}}))
	e := newEngine(t, c, testSpec(three))
	err := e.route(ctx, 1, &plan.RouteStep{In: three})
	var g *GateError
	require.ErrorAs(t, err, &g)
	assert.Equal(t, "version", g.Check)
	assert.True(t, c.State("n2").Down)
}

func e2() tomcatmgr.Context { return tomcatmgr.Context{Path: "/app", Version: "002"} }

func TestReadmitAfterTheRollbackOfAFirstRelease(t *testing.T) {
	c := deployertest.New(three)
	c.FailNext(deployertest.Deploy, "n2", errors.New("deploy n2: timed out"))
	spec := testSpec(three)
	spec.NoDrain = true
	e := newEngine(t, c, spec)
	require.ErrorIs(t, release(t, e, "001"), outcome.ErrRolledBack)
	for _, n := range three {
		assert.False(t, c.State(n).Down, "%s back in rotation: nothing runs anywhere", n)
	}
	// A node with nothing deployed never joins nodes that serve a version.
	c2 := deployertest.New(three, "001")
	require.NoError(t, c2.Manager("n2").Undeploy(context.Background(), tomcatmgr.Context{Path: "/app", Version: "001"}))
	require.NoError(t, c2.Router().Apply(context.Background(), map[string]lb.State{"n2": {Weight: 1, Down: true}}))
	err := newEngine(t, c2, testSpec(three)).route(context.Background(), 1, &plan.RouteStep{In: three})
	var g *GateError
	require.ErrorAs(t, err, &g)
	assert.Equal(t, "running", g.Check)
}

func TestReadmitWhenTheLoadBalancersCannotBeRead(t *testing.T) {
	c := deployertest.New(three, "001")
	now := time.Now()
	ids := withSessions(c, "001", now)
	staleOn(c, "n2", "001", ids, now)
	c.NoResync["n2"] = true
	ctx := context.Background()
	require.NoError(t, c.Router().Apply(ctx, map[string]lb.State{"n2": {Weight: 1, Down: true}}))
	c.FailNext(deployertest.States, "", errors.New("lb1 and lb2 disagree"))
	e := newEngine(t, c, testSpec(three))
	err := e.route(ctx, 1, &plan.RouteStep{In: three})
	var kept *ReadmitError
	require.ErrorAs(t, err, &kept, "every node is gated, compared with the others of the step")
	assert.Equal(t, []string{"n2"}, kept.Nodes)
	assert.True(t, kept.Applied)
	assert.False(t, c.State("n1").Down)
	assert.False(t, c.State("n3").Down)
	assert.True(t, c.State("n2").Down)
}
