package deployer

import (
	"context"
	"errors"
	"slices"

	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/lb"
)

// applyRoute applies states in one change. With Spec.Fallback, the nodes it takes out of
// rotation that still answer are kept as backup servers (lb.State.Backup): when every node in
// rotation fails, the load balancer retries on them at once, before zdd has noticed. (Nginx
// sticky upstreams use them only where one node, or none, is left in rotation for a block; see
// lb/nginx/sticky.go.) A load balancer that cannot express it refuses with lb.ErrInvalidState,
// changing nothing; the engine then writes them down for the rest of the run. It returns the
// states applied.
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

// backupsWith returns, when the sentinel found a node down and the nodes out of rotation are
// backup servers, a first rollback step that takes the new version off those of has that are
// out of rotation, and the rest of has. Those backups serve the requests the dead node no
// longer can: with the new version on them, every new user there gets a new-version session
// that the rollback would end (measured: 160 in 12 s under 20 users). Undeploying it (0.04 s
// on an idle node) first leaves them serving the version in rotation.
func (e *Engine) backupsWith(has []string, version string) ([]plan.Step, []string) {
	s := e.sentinel
	if s == nil || !e.Spec.Fallback || e.noBackup || len(e.unreachable()) == 0 {
		return nil, has
	}
	s.mu.Lock()
	in := slices.Clone(s.in)
	s.mu.Unlock()
	var out, rest []string
	for _, n := range has {
		if slices.Contains(in, n) {
			rest = append(rest, n)
		} else {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, has
	}
	return []plan.Step{{Undeploy: &plan.UndeployStep{Versions: []string{version}, Nodes: out}}}, rest
}
