package deployer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/internal/fanout"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// stop stops the step's version on every one of its nodes at once (a hard rollback), after
// counting its sessions: they end with it and are added to rel.LostSessions. A node that has
// no such context counts as stopped.
func (e *Engine) stop(ctx context.Context, idx int, s *plan.StopStep, rel *state.Release) error {
	cx := e.app(s.Version)
	n, cerr := e.sessions(ctx, cx)
	t0 := time.Now()
	err := e.eachNode(ctx, s.Nodes, func(ctx context.Context, name string) error {
		if err := e.Managers[name].Stop(ctx, cx); err != nil && !errors.Is(err, tomcatmgr.ErrNotFound) {
			return fmt.Errorf("stop %s on %s: %w", cx.Name(), name, err)
		}
		return nil
	})
	if cerr == nil {
		rel.LostSessions += n
	}
	if err != nil {
		return err
	}
	e.emit(Event{Type: EventWarning, Step: idx, Kind: "stop", Message: fmt.Sprintf(
		"%s stopped on %s in %s: new sessions go to %s; %d sessions of %s ended", cx.Name(), strings.Join(s.Nodes, ","),
		time.Since(t0).Round(time.Millisecond), rel.Plan.To, n, cx.Name())})
	return nil
}

// eachNode runs fn on every node at once and joins the errors.
func (e *Engine) eachNode(ctx context.Context, names []string, fn func(context.Context, string) error) error {
	_, errs := fanout.Each(names, func(n string) (struct{}, error) { return struct{}{}, fn(ctx, n) })
	return errors.Join(errs...)
}
