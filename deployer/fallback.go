package deployer

import (
	"context"
	"errors"
	"slices"

	"github.com/saitodrom/zdd/lb"
)

// applyRoute applies states in one change. With Spec.Fallback, the nodes it takes out of
// rotation that still answer are kept as backup servers (lb.State.Backup): when every node in
// rotation fails, the load balancer retries on them at once, before zdd has noticed. A load
// balancer that cannot express it (sticky upstreams list each node in several blocks) refuses
// with lb.ErrInvalidState, changing nothing; the engine then writes them down for the rest of
// the run. It returns the states applied.
func (e *Engine) applyRoute(ctx context.Context, states map[string]lb.State) (map[string]lb.State, error) {
	if !e.Spec.Fallback || e.noBackup {
		return states, e.Router.Apply(ctx, states)
	}
	gone := e.unreachable()
	backed := map[string]lb.State{}
	for n, st := range states {
		if st.Down && !slices.Contains(gone, n) {
			st.Backup = true
		}
		backed[n] = st
	}
	err := e.Router.Apply(ctx, backed)
	if !errors.Is(err, lb.ErrInvalidState) {
		return backed, err
	}
	e.noBackup = true
	e.emit(Event{Type: EventWarning, Kind: "route", Message: "the load balancer cannot keep nodes out of rotation as backup servers (" + err.Error() + "); they are written down"})
	return states, e.Router.Apply(ctx, states)
}
