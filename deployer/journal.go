package deployer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
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
	Plan Plan `json:"plan"`
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
}

func (j *Journal) releasePath() string { return filepath.Join(j.Dir, "release.json") }

// Save writes r atomically (a temporary file renamed into place).
func (j *Journal) Save(r *Release) error {
	r.Updated = time.Now().UTC()
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(j.releasePath(), b)
}

// Current returns the last release recorded, or nil when there is none.
func (j *Journal) Current() (*Release, error) {
	b, err := os.ReadFile(j.releasePath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal: read %s: %w", j.releasePath(), err)
	}
	var r Release
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("journal: %s is corrupt: %w", j.releasePath(), err)
	}
	return &r, nil
}

// AppendHistory adds a finished release to history.jsonl.
func (j *Journal) AppendHistory(r *Release) error {
	entry := HistoryEntry{ID: r.ID, App: r.Plan.App, From: r.Plan.From, To: r.Plan.To, SHA256: r.Plan.SHA256,
		Status: r.Status, Started: r.Started, Finished: r.Updated, Holder: r.Holder, Host: r.Host,
		Command: r.Command, LostSessions: r.LostSessions, Error: r.Error}
	b, err := json.Marshal(entry)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(j.Dir, "history.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("journal: open history: %w", err)
	}
	defer f.Close()
	_, err = f.Write(append(b, '\n'))
	return err
}

// HistoryEntry is one line of history.jsonl.
type HistoryEntry struct {
	ID           string    `json:"id"`
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
}

// writeAtomic writes b to path through a temporary file in the same directory.
func writeAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
