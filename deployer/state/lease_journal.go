package state

import (
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
	return j.AppendEntry(HistoryEntry{ID: "lease-" + now.Format("20060102T150405.000Z"), Kind: KindLeaseTakeOver,
		Status: StatusDone, Started: now, Finished: now, Holder: me.Holder, Host: me.Host, Command: me.Command, Note: note})
}
