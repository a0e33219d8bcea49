package state

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// History returns every entry of history.jsonl, oldest first (none when the file does not
// exist). A line that does not parse (a write cut short by a crash) is skipped.
func (j *Journal) History() ([]HistoryEntry, error) {
	b, err := os.ReadFile(filepath.Join(j.Dir, "history.jsonl"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal: read history: %w", err)
	}
	var out []HistoryEntry
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	for sc.Scan() {
		var h HistoryEntry
		if json.Unmarshal(sc.Bytes(), &h) == nil && h.ID != "" {
			out = append(out, h)
		}
	}
	return out, sc.Err()
}

// RecordLockRelease appends a forced lock release to the history: who forced it, from where,
// and whose lease it was.
func (j *Journal) RecordLockRelease(me Lease, was *Lease) error {
	now := time.Now().UTC()
	note := "no lease was held"
	if was != nil {
		note = fmt.Sprintf("released the lease of %s@%s (pid %d) running %q since %s, expiring %s",
			was.Holder, was.Host, was.PID, was.Command, was.Started.Format(time.RFC3339), was.Expires.Format(time.RFC3339))
	}
	return j.AppendEntry(HistoryEntry{ID: "lock-" + now.Format("20060102T150405.000Z"), Kind: KindLockRelease,
		Status: StatusDone, Started: now, Finished: now, Holder: me.Holder, Host: me.Host, Command: me.Command, Note: note})
}

// ContractRan tells whether r ran contract migrations (that were pending when its contract
// step started).
func ContractRan(r *Release) bool { return len(r.Contracts) > 0 }

// Good is the last good release as history knows it.
type Good struct {
	// Entry is the history entry that deployed it.
	Entry HistoryEntry
	// Index is its position in the history.
	Index int
}

// LastGood returns the newest release of app in hist that completed (status done), whose WAR
// checksum no `zdd rollback` took away (RolledBack), and whose checksum differs from badSHA (the code running
// now). It returns nil when there is none. Forced lock releases and aborts are not releases; a
// registered previous WAR (KindAdopt) counts as one.
func LastGood(hist []HistoryEntry, app, badSHA string) *Good {
	rolledBack := map[string]bool{}
	for _, h := range hist {
		if h.RolledBack != nil && h.RolledBack.SHA256 != "" {
			rolledBack[h.RolledBack.SHA256] = true
		}
	}
	for i := len(hist) - 1; i >= 0; i-- {
		h := hist[i]
		if h.App != app || h.Status != StatusDone || h.SHA256 == "" || h.To == "" {
			continue
		}
		if h.Kind != "" && h.Kind != KindRelease && h.Kind != KindRollback && h.Kind != KindAdopt {
			continue
		}
		if rolledBack[h.SHA256] || h.SHA256 == badSHA {
			continue
		}
		return &Good{Entry: h, Index: i}
	}
	return nil
}

// SHAOf returns the WAR checksum that history (or the journal's current release) records for
// version v of app, or "" when zdd never deployed it.
func SHAOf(hist []HistoryEntry, cur *Release, app, v string) string {
	if cur != nil && cur.Plan.App == app && cur.Plan.To == v && cur.Plan.SHA256 != "" {
		return cur.Plan.SHA256
	}
	for i := len(hist) - 1; i >= 0; i-- {
		if hist[i].App == app && hist[i].To == v && hist[i].SHA256 != "" {
			return hist[i].SHA256
		}
	}
	return ""
}

// ContractSince returns the first entry after index i that ran a contract migration, or nil.
func ContractSince(hist []HistoryEntry, i int) *HistoryEntry {
	for k := i + 1; k < len(hist); k++ {
		if hist[k].Contract {
			return &hist[k]
		}
	}
	return nil
}

// Duration is how long the entry's run took.
func (h HistoryEntry) Duration() time.Duration {
	if h.Finished.Before(h.Started) {
		return 0
	}
	return h.Finished.Sub(h.Started)
}
