package schema

import (
	"fmt"
	"sort"
)

// State is the state of one migration file, from the journal.
type State string

const (
	StatePending State = "pending" // never applied (or resolved for retry)
	StateApplied State = "applied" // applied and the file is unchanged
	StateDirty   State = "dirty"   // started but did not finish; blocks every run until resolved
	StateChanged State = "changed" // applied, but the file changed since; blocks every run
	StateMissing State = "missing" // the journal says applied but the file is gone (reported only)
)

// Item is one migration and its state.
type Item struct {
	Migration
	State State
	// Entry is the journal entry behind the state (the applied or dirty attempt), nil if pending.
	Entry *Entry
}

// PhaseStatus lists a phase's migrations in order (missing files last).
type PhaseStatus struct {
	Phase Phase
	Items []Item
}

// Pending returns the phase's pending migrations in order.
func (p PhaseStatus) Pending() []Migration {
	var out []Migration
	for _, it := range p.Items {
		if it.State == StatePending {
			out = append(out, it.Migration)
		}
	}
	return out
}

// analyze merges the files of each phase with the journal.
func analyze(files []*phaseFiles, entries []Entry) []PhaseStatus {
	type key struct {
		p Phase
		n string
	}
	applied, dirty := map[key]*Entry{}, map[key]*Entry{}
	for i := range entries {
		e := &entries[i]
		k := key{e.Phase, e.Name}
		if e.Applied() {
			applied[k] = e
		}
		if e.Dirty() {
			dirty[k] = e
		}
	}
	var out []PhaseStatus
	for _, pf := range files {
		ps := PhaseStatus{Phase: pf.phase}
		seen := map[string]bool{}
		for _, m := range pf.migrations {
			k := key{pf.phase, m.Name}
			seen[m.Name] = true
			it := Item{Migration: m, State: StatePending}
			switch a, d := applied[k], dirty[k]; {
			case d != nil:
				it.State, it.Entry = StateDirty, d
			case a != nil && a.Checksum != m.Checksum:
				it.State, it.Entry = StateChanged, a
			case a != nil:
				it.State, it.Entry = StateApplied, a
			}
			ps.Items = append(ps.Items, it)
		}
		var missing []Item
		for k, a := range applied {
			if k.p == pf.phase && !seen[k.n] {
				missing = append(missing, Item{Migration: Migration{Phase: k.p, Name: k.n, Checksum: a.Checksum}, State: StateMissing, Entry: a})
			}
		}
		for k, d := range dirty {
			if k.p == pf.phase && !seen[k.n] && applied[k] == nil {
				missing = append(missing, Item{Migration: Migration{Phase: k.p, Name: k.n, Checksum: d.Checksum}, State: StateDirty, Entry: d})
			}
		}
		sort.Slice(missing, func(i, j int) bool { return missing[i].Name < missing[j].Name })
		ps.Items = append(ps.Items, missing...)
		out = append(out, ps)
	}
	return out
}

// check returns why a run of phase must be refused, or nil. Dirty entries and changed files in
// any phase refuse; a pending file ordered before an applied one refuses its phase.
func check(status []PhaseStatus, phase Phase) error {
	var dirty []Entry
	for _, ps := range status {
		for _, it := range ps.Items {
			if it.State == StateDirty {
				dirty = append(dirty, *it.Entry)
			}
		}
	}
	if len(dirty) > 0 {
		sort.Slice(dirty, func(i, j int) bool { return dirty[i].ID < dirty[j].ID })
		return &DirtyError{Entries: dirty}
	}
	for _, ps := range status {
		for _, it := range ps.Items {
			if it.State == StateChanged {
				return &ChecksumError{Phase: it.Phase, Name: it.Name, Applied: it.Entry.Checksum, OnDisk: it.Checksum}
			}
		}
	}
	for _, ps := range status {
		if ps.Phase != phase {
			continue
		}
		var lastApplied *Item
		for i, it := range ps.Items {
			if it.State == StateApplied {
				lastApplied = &ps.Items[i]
			}
		}
		for _, it := range ps.Items {
			if it.State == StatePending && lastApplied != nil && it.Version < lastApplied.Version {
				return fmt.Errorf("schema: plan %s: %s is pending but sorts before the applied %s: %w (hint: give the new file a number after %d)",
					phase, it.Name, lastApplied.Name, ErrInvalid, lastApplied.Version)
			}
		}
	}
	return nil
}
