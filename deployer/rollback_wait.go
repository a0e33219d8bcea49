package deployer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/wait"
)

// PlanRollbackWaiting is PlanRollback for `zdd rollback`, which an on-call engineer runs while
// another host may still hold the release lease: when PlanRollback refuses because a live
// holder elsewhere holds it (outcome.ErrLocked), it announces the wait as a warning event and
// waits up to max(strategy.lock_wait, one lease TTL) for that lease to be released, to expire
// or to lose its holder, then plans again. A holder that keeps renewing for the whole wait
// makes it fail with PlanRollback's ErrLocked, naming the holder. A lease whose holder is a dead
// process on this host is never waited for (PlanRollback takes it over at once).
func (e *Engine) PlanRollbackWaiting(ctx context.Context, opts RollbackOptions) (*RollbackPlan, error) {
	p, err := e.PlanRollback(ctx, opts)
	if !errors.Is(err, outcome.ErrLocked) || opts.Locker == nil {
		return p, err
	}
	held, rerr := opts.Locker.Read()
	if rerr != nil || held == nil {
		return p, err
	}
	l := opts.Locker
	wfor := max(l.LockWait, l.LeaseTTL())
	e.emit(Event{Type: EventWarning, Message: fmt.Sprintf("the release lease is held by %s; waiting until %s for it to be released or to expire",
		held, time.Now().Add(wfor).UTC().Format(time.RFC3339))})
	werr := wait.Until(ctx, l.PollInterval(), wfor, "the release lease of "+held.String(), func(context.Context) (bool, error) {
		cur, err := l.Read()
		if err != nil {
			return false, err
		}
		return cur == nil || cur.Token != held.Token || !cur.Active(time.Now()), nil
	})
	switch {
	case errors.Is(werr, wait.ErrTimeout):
		return nil, err // it kept renewing: PlanRollback's refusal names it
	case werr != nil:
		return nil, werr
	}
	return e.PlanRollback(ctx, opts)
}
