package deployer

import (
	"context"
	"maps"

	"github.com/saitodrom/zdd/lb"
)

// liveStates returns every node's routing: as this run knows it when it can, else as the load
// balancers report it (Router.States). The run knows it from the load balancers' last answer
// (when it started, or after a failed change), updated by each routing change it applied; a
// change that failed to apply or to verify makes it unknown again. Under load a read of the load-balancer pair costs one SSH round trip
// of 1-4 s on a 2-core machine, and a route step needs the states before each change: knowing
// them saves a round trip per route step. The release lease keeps other zdd runs from changing
// the routing meanwhile.
func (e *Engine) liveStates(ctx context.Context) (map[string]lb.State, error) {
	if s := e.sentinel; s != nil {
		s.waitReady()
		s.mu.Lock()
		known := s.states != nil
		for _, n := range e.Spec.NodeNames() {
			if _, ok := s.states[n]; !ok {
				known = false
			}
		}
		out := maps.Clone(s.states)
		s.mu.Unlock()
		if known {
			return out, nil
		}
	}
	states, err := e.Router.States(ctx)
	if s := e.sentinel; s != nil && err == nil {
		s.mu.Lock()
		s.states = maps.Clone(states)
		s.mu.Unlock()
	}
	return states, err
}

// forgetStates makes the run's routing unknown after a routing change failed (the load
// balancers may run the old states, the new ones or, after a failed revert, a mix).
func (e *Engine) forgetStates() {
	if s := e.sentinel; s != nil {
		s.mu.Lock()
		s.states = nil
		s.mu.Unlock()
	}
}
