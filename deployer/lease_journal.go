package deployer

import (
	"context"
	"fmt"
	"time"
)

// KindLeaseTakeOver marks a history entry recording that a command took the release lease over
// from a holder that had not released it (Journal.RecordLeaseTakeOver).
const KindLeaseTakeOver = "lease_takeover"

// RecordLeaseTakeOver appends to the history that me took the lease over from was, and why
// (Held.TakenOver and Held.TakeoverReason). The incident commands call it right after taking
// the lease.
func (j *Journal) RecordLeaseTakeOver(me Lease, was *Lease, reason string) error {
	if was == nil {
		return nil
	}
	now := time.Now().UTC()
	note := fmt.Sprintf("took over the lease (generation %d) of %s@%s (pid %d) running %q since %s: %s",
		was.Generation, was.Holder, was.Host, was.PID, was.Command, was.Started.Format(time.RFC3339), reason)
	return j.appendEntry(HistoryEntry{ID: "lease-" + now.Format("20060102T150405.000Z"), Kind: KindLeaseTakeOver,
		Status: StatusDone, Started: now, Finished: now, Holder: me.Holder, Host: me.Host, Command: me.Command, Note: note})
}

// acquireIncident takes the lease for resume and abort (Locker.AcquireIncident): the wait for a
// live holder is announced as a warning event, and a takeover is announced and recorded in the
// history. Errors are AcquireIncident's, or the history's when the takeover cannot be recorded
// (then the lease is released again).
func (e *Engine) acquireIncident(ctx context.Context, locker *Locker, who Lease) (*Held, error) {
	held, err := locker.AcquireIncident(ctx, who, func(h Lease, until time.Time) {
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
func (e *Engine) noteTakeover(held *Held) error {
	was := held.TakenOver()
	if was == nil {
		return nil
	}
	e.emit(Event{Type: EventWarning, Message: fmt.Sprintf("took over the release lease of %s: %s", was, held.TakeoverReason())})
	return e.Journal.RecordLeaseTakeOver(held.Lease(), was, held.TakeoverReason())
}
