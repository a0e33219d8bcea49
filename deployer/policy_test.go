package deployer

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/deployertest"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// uploads records the WAR each Deploy was given.
type uploads struct {
	Manager
	mu   *sync.Mutex
	wars *[]string
}

func (u uploads) Deploy(ctx context.Context, cx tomcatmgr.Context, war string, p func(int64, int64)) error {
	u.mu.Lock()
	*u.wars = append(*u.wars, war)
	u.mu.Unlock()
	return u.Manager.Deploy(ctx, cx, war, p)
}

// The preflight's free-space check judges the copy of the WAR into the store before it is
// made, and the plan (journaled before the preflight) never changes; the release deploys the
// stored copy.
func TestWARIsStoredAfterThePreflightAndThePlanNeverChanges(t *testing.T) {
	c := deployertest.New(three, "001")
	spec := testSpec(three)
	spec.NoDrain = true
	e := newEngine(t, c, spec)
	e.Store = state.NewStore(e.Journal.Dir)
	var mu sync.Mutex
	var wars []string
	for n, m := range e.Managers {
		e.Managers[n] = uploads{Manager: m, mu: &mu, wars: &wars}
	}
	war := zipWAR(t, "002")
	st, err := e.Observe(context.Background())
	require.NoError(t, err)
	pl, err := plan.BuildPlan(spec, st, "002", war)
	require.NoError(t, err)
	var storedAtPreflight bool
	var atPreflight string
	e.Preflight = func(context.Context) error {
		_, err := e.Store.Get(war.SHA256)
		storedAtPreflight = err == nil
		rel, err := e.Journal.Current()
		require.NoError(t, err)
		atPreflight = rel.Plan.WAR
		return nil
	}
	require.NoError(t, e.Start(context.Background(), pl, tester))
	assert.False(t, storedAtPreflight, "the preflight (free space for the copy) runs before the WAR is stored")
	assert.Equal(t, war.Path, atPreflight, "the journaled pl names the WAR that was planned")
	assert.Equal(t, war.Path, pl.WAR, "the pl is not changed")
	rel, err := e.Journal.Current()
	require.NoError(t, err)
	assert.Equal(t, war.Path, rel.Plan.WAR, "the pl is the same at the end")
	stored, err := e.Store.Get(war.SHA256)
	require.NoError(t, err, "the release keeps its WAR")
	require.Len(t, wars, 3)
	for _, w := range wars {
		assert.Equal(t, stored, w, "every node gets the stored copy")
	}

	// A failed preflight stores nothing.
	c2 := deployertest.New(three, "001")
	e2 := newEngine(t, c2, spec)
	e2.Store = state.NewStore(e2.Journal.Dir)
	e2.Preflight = func(context.Context) error { return errInjected }
	other := zipWAR(t, "003")
	plan2, err := plan.BuildPlan(spec, st, "002", other)
	require.NoError(t, err)
	require.Error(t, e2.Start(context.Background(), plan2, tester))
	_, err = e2.Store.Get(other.SHA256)
	assert.Error(t, err, "nothing stored after a failed preflight")
}
