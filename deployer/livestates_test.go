package deployer

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/deployertest"
	"github.com/saitodrom/zdd/lb"
)

// countingRouter counts the calls made to a Balancer, and can replace the states a read
// reports (a load balancer changed behind the run's back).
type countingRouter struct {
	lb.Balancer
	mu     sync.Mutex
	calls  map[string]int
	failOn string // an Apply fails once when it is this call's number ("apply 2")
}

func (r *countingRouter) count(m string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[string]int{}
	}
	r.calls[m]++
	return r.calls[m]
}

func (r *countingRouter) States(ctx context.Context) (map[string]lb.State, error) {
	r.count("states")
	return r.Balancer.States(ctx)
}

func (r *countingRouter) Apply(ctx context.Context, st map[string]lb.State) error {
	if n := r.count("apply"); r.failOn == "apply "+string(rune('0'+n)) {
		return errors.New("lb1 unreachable")
	}
	return r.Balancer.Apply(ctx, st)
}

func (r *countingRouter) Verify(ctx context.Context, st map[string]lb.State) error {
	r.count("verify")
	return r.Balancer.Verify(ctx, st)
}

// Each read of the load-balancer pair is an SSH round trip (1-4 s under load): a release
// reads the states once for its preflight and once when it starts watching the nodes, and its
// route steps use what it applied instead of reading them again.
func TestRouteStepsDoNotReadTheLoadBalancersAgain(t *testing.T) {
	c := deployertest.New(three, "001")
	spec := testSpec(three)
	spec.NoDrain = true
	e := newEngine(t, c, spec)
	r := &countingRouter{Balancer: e.Router}
	e.Router = r
	require.NoError(t, release(t, e, "002"))
	assert.Equal(t, map[string]int{"states": 2, "apply": 3, "verify": 3}, r.calls,
		"preflight and sentinel read; three routes apply and verify")
}

// After a routing change failed, what the load balancers run is unknown: the rollback's route
// reads it again (and gates the nodes it puts back) rather than trust what the run applied.
func TestAFailedRouteMakesTheStatesUnknown(t *testing.T) {
	c := deployertest.New(three, "001")
	spec := testSpec(three)
	spec.NoDrain = true
	e := newEngine(t, c, spec)
	r := &countingRouter{Balancer: e.Router, failOn: "apply 2"}
	e.Router = r
	require.Error(t, release(t, e, "002"))
	assert.Equal(t, 3, r.calls["states"], "preflight, sentinel, and the rollback's route after the failed one")
}
