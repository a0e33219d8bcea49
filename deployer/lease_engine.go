package deployer

import (
	"context"
	"fmt"
	"github.com/saitodrom/zdd/deployer/state"
	"time"
)

// acquireIncident takes the lease for resume and abort (Locker.AcquireIncident): the wait for a
// live holder is announced as a warning event, and a takeover is announced and recorded in the
// history. Errors are AcquireIncident's, or the history's when the takeover cannot be recorded
// (then the lease is released again).
func (e *Engine) acquireIncident(ctx context.Context, locker *state.Locker, who state.Lease) (*state.Held, error) {
	held, err := locker.AcquireIncident(ctx, who, func(h state.Lease, until time.Time) {
		e.emit(Event{Type: EventWarning, Message: fmt.Sprintf("the release lease is held by %s; waiting until %s for it to be released or to expire",
			&h, until.UTC().Format(time.RFC3339))})
	})
	if err != nil {
		return nil, err
	}
	if err := e.noteTakeover(held); err != nil {
		_ = held.Release()
		return nil, err
	}
	return held, nil
}

// noteTakeover announces and records in the history the lease held took over, if any.
func (e *Engine) noteTakeover(held *state.Held) error {
	was := held.TakenOver()
	if was == nil {
		return nil
	}
	e.emit(Event{Type: EventWarning, Message: fmt.Sprintf("took over the release lease of %s: %s", was, held.TakeoverReason())})
	return e.Journal.RecordLeaseTakeOver(held.Lease(), was, held.TakeoverReason())
}
