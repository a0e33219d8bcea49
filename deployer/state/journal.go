package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/statedir"
)

// Release statuses, as the journal records them.
const (
	StatusRunning        = "running"
	StatusPaused         = "paused"
	StatusDone           = "done"
	StatusRolledBack     = "rolled_back"
	StatusInterrupted    = "interrupted"
	StatusNeedsAttention = "needs_attention"
	StatusFailed         = "failed" // failed before changing anything
)

// Release is the journal's record of one release: its plan, where it is, and what each step did.
// It is written before and after every step, so after a crash `zdd status` shows where it stopped.
type Release struct {
	// ID identifies the release: the new version and its start time.
	ID string `json:"id"`
	// Command is the command line that started it (without secrets).
	Command string `json:"command"`
	// Holder, Host: who ran it and from where.
	Holder string `json:"holder"`
	Host   string `json:"host"`
	// Started and Updated are when it started and when the record last changed.
	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
	// Plan is the plan being run.
	Plan plan.Plan `json:"plan"`
	// Current is the index of the step running, or of the next step to run.
	Current int `json:"current"`
	// Status is one of the Status* constants.
	Status string `json:"status"`
	// Steps records each step of the plan.
	Steps []StepRecord `json:"steps"`
	// LostSessions counts sessions ended by a rollback or expiry.
	LostSessions int `json:"lost_sessions,omitempty"`
	// Error is the error that ended the release, if any.
	Error string `json:"error,omitempty"`
	// Rollback lists the rollback steps run, if any.
	Rollback []StepRecord `json:"rollback,omitempty"`
	// Kind is KindRelease (empty), KindRollback or KindAbort: what the record is.
	Kind string `json:"kind,omitempty"`
	// RolledBack is set on a rollback: the version and WAR checksum it took away.
	RolledBack *RolledBack `json:"rolled_back,omitempty"`
	// TakenOverBy names the command that took the lease over from this release (zdd rollback).
	TakenOverBy string `json:"taken_over_by,omitempty"`
	// Contracts names the contract migrations this release ran (recorded before they run).
	Contracts []string `json:"contracts,omitempty"`
	// Supersedes is the ID of the release this one took over, if any.
	Supersedes string `json:"supersedes,omitempty"`
}

// Kinds of journal and history records.
const (
	KindRelease     = "release"
	KindRollback    = "rollback"
	KindAbort       = "abort"
	KindLockRelease = "lock_release"
)

// RolledBack names the code a rollback took away: by checksum, so that a later rollback never
// goes back to it, whatever version number it was deployed under.
type RolledBack struct {
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
}

// StepRecord is what happened in one step.
type StepRecord struct {
	// Step describes the step.
	Step string `json:"step"`
	// Started and Finished are zero until the step starts or finishes.
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	// Error is the step's error, if it failed.
	Error string `json:"error,omitempty"`
}

// Journal keeps the current release and the history in the shared state directory.
type Journal struct {
	// Dir is the state directory (shared storage in production).
	Dir string
	// Policy gives the modes of the files and directories the journal creates; the zero
	// value is private (0700/0600, see package statedir).
	Policy statedir.Policy
}

func (j *Journal) releasePath() string { return filepath.Join(j.Dir, "release.json") }

// ErrSuperseded is returned by Save when the journal records a release that took r over
// (`zdd rollback` took its lease): the old holder never overwrites it.
var ErrSuperseded = errors.New("journal: the release was taken over")

// Save writes r atomically (a temporary file renamed into place). It refuses with
// ErrSuperseded when the record on file took r over.
func (j *Journal) Save(r *Release) error {
	if cur, err := j.Current(); err == nil && cur != nil && r.ID != "" && cur.Supersedes == r.ID {
		return fmt.Errorf("%w: %s (%s) replaced %s", ErrSuperseded, cur.ID, cur.Command, r.ID)
	}
	r.Updated = time.Now().UTC()
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return j.Policy.WriteAtomic(j.releasePath(), b)
}

// Current returns the last release recorded, or nil when there is none.
func (j *Journal) Current() (*Release, error) {
	var r Release
	if found, err := readJSON(j.releasePath(), "journal", &r); !found || err != nil {
		return nil, err
	}
	r.Plan.FillFailurePolicy() // recorded by a zdd before steps carried their failure policy
	return &r, nil
}

// AppendHistory adds a finished release to history.jsonl. A release that was taken over (its
// lease went to `zdd rollback`, which recorded it) is not appended again by its old holder.
func (j *Journal) AppendHistory(r *Release) error {
	if r.TakenOverBy == "" {
		if hist, err := j.History(); err == nil {
			for _, h := range hist {
				if h.ID == r.ID && h.TakenOverBy != "" {
					return nil
				}
			}
		}
	}
	kind := r.Kind
	if kind == "" {
		kind = KindRelease
	}
	entry := HistoryEntry{ID: r.ID, Kind: kind, App: r.Plan.App, From: r.Plan.From, To: r.Plan.To, SHA256: r.Plan.SHA256,
		Status: r.Status, Started: r.Started, Finished: r.Updated, Holder: r.Holder, Host: r.Host,
		Command: r.Command, LostSessions: r.LostSessions, Error: r.Error, RolledBack: r.RolledBack,
		Contract: ContractRan(r), TakenOverBy: r.TakenOverBy}
	if entry.Finished.IsZero() {
		entry.Finished = time.Now().UTC()
	}
	return j.AppendEntry(entry)
}

// AppendEntry appends one line to history.jsonl.
func (j *Journal) AppendEntry(entry HistoryEntry) error {
	b, err := json.Marshal(entry)
	if err != nil {
		return err
	}
	f, err := j.Policy.OpenAppend(filepath.Join(j.Dir, "history.jsonl"))
	if err != nil {
		return fmt.Errorf("journal: open history: %w", err)
	}
	defer f.Close()
	_, err = f.Write(append(b, '\n'))
	return err
}

// HistoryEntry is one line of history.jsonl: a release, a rollback, an abort or a forced lock
// release, with who ran it and from where.
type HistoryEntry struct {
	ID           string    `json:"id"`
	Kind         string    `json:"kind,omitempty"`
	App          string    `json:"app"`
	From         []string  `json:"from"`
	To           string    `json:"to"`
	SHA256       string    `json:"sha256"`
	Status       string    `json:"status"`
	Started      time.Time `json:"started"`
	Finished     time.Time `json:"finished"`
	Holder       string    `json:"holder"`
	Host         string    `json:"host"`
	Command      string    `json:"command"`
	LostSessions int       `json:"lost_sessions,omitempty"`
	Error        string    `json:"error,omitempty"`
	// RolledBack is the version and checksum a rollback (or abort) took away.
	RolledBack *RolledBack `json:"rolled_back,omitempty"`
	// Contract tells that a contract migration step completed in this run.
	Contract bool `json:"contract,omitempty"`
	// TakenOverBy names the command that took this release over.
	TakenOverBy string `json:"taken_over_by,omitempty"`
	// Note says more, for entries that are not releases (a forced lock release: whose lease).
	Note string `json:"note,omitempty"`
}

// writeAtomic writes b to path through a temporary file in the same directory, with the
// private policy's modes (statedir.PrivateFileMode).
func writeAtomic(path string, b []byte) error {
	return statedir.Policy{}.WriteAtomic(path, b)
}

// KindAdopt is a history record that registers the WAR of a version zdd did not deploy (it ran
// before zdd was adopted): `zdd rollback` goes back to it softly, like to a release.
const KindAdopt = "adopt"
