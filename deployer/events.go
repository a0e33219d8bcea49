package deployer

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// EventSchema is the version of the event format; it changes when a field is removed or renamed.
const EventSchema = 1

// Event types.
const (
	EventReleaseStarted  = "release_started"
	EventStepStarted     = "step_started"
	EventStepFinished    = "step_finished"
	EventStepFailed      = "step_failed"
	EventProgress        = "progress"
	EventGate            = "gate"
	EventWarning         = "warning"
	EventWaiting         = "waiting"
	EventRollbackStarted = "rollback_started"
	EventSummary         = "summary"
)

// Event is one thing that happened during a release. With --output json each event is one
// line of JSON on stdout; docs/events.md documents the fields.
type Event struct {
	// Schema is EventSchema.
	Schema int `json:"schema"`
	// Time is when it happened.
	Time time.Time `json:"time"`
	// Type is one of the Event* constants.
	Type string `json:"type"`
	// Step is the index (1-based) of the step it belongs to, 0 for none.
	Step int `json:"step,omitempty"`
	// Kind is the step's kind (route, deploy, gate, ...).
	Kind string `json:"kind,omitempty"`
	// Node is the node it concerns, if one.
	Node string `json:"node,omitempty"`
	// Message is a human-readable description.
	Message string `json:"message,omitempty"`
	// Current and Total measure progress, in Unit ("bytes" or "sessions").
	Current int64  `json:"current,omitempty"`
	Total   int64  `json:"total,omitempty"`
	Unit    string `json:"unit,omitempty"`
	// Passed is a gate's result.
	Passed *bool `json:"passed,omitempty"`
	// Duration is how long a finished step took, in seconds.
	Duration float64 `json:"duration_s,omitempty"`
	// Waited is how long a wait still going on has lasted so far, in seconds (waiting events).
	Waited float64 `json:"waited_s,omitempty"`
	// Deadline is when that wait gives up, if it has a deadline (waiting events).
	Deadline *time.Time `json:"deadline,omitempty"`
	// Summary is set on the last event of a run.
	Summary *Summary `json:"summary,omitempty"`
}

// Summary is the outcome of a run.
type Summary struct {
	// Outcome is outcome.Name of the run's error: success, rolled_back, paused, ...
	Outcome string `json:"outcome"`
	// ExitCode is the process's exit code.
	ExitCode int `json:"exit_code"`
	// App, From and To describe the release.
	App  string   `json:"app"`
	From []string `json:"from"`
	To   string   `json:"to"`
	// Duration is the whole run, in seconds.
	Duration float64 `json:"duration_s"`
	// Steps is the number of steps run.
	Steps int `json:"steps"`
	// LostSessions counts sessions ended by a rollback or an expiry.
	LostSessions int `json:"lost_sessions"`
	// Error is the error message, if the run failed.
	Error string `json:"error,omitempty"`
}

// Sink receives the events of a run, from one goroutine at a time.
type Sink interface {
	Emit(Event)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(Event)

// Emit calls f.
func (f SinkFunc) Emit(e Event) { f(e) }

// JSONSink writes each event as one line of JSON.
func JSONSink(w io.Writer) Sink {
	var mu sync.Mutex
	enc := json.NewEncoder(w)
	return SinkFunc(func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(e)
	})
}

// TextSink writes plain timestamped lines (for CI logs and pipes). Progress events are
// written at most every 5 s per step, and always at completion.
func TextSink(w io.Writer) Sink {
	var mu sync.Mutex
	last := map[int]time.Time{}
	return SinkFunc(func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		if e.Type == EventProgress {
			if e.Current != e.Total && e.Time.Sub(last[e.Step]) < 5*time.Second {
				return
			}
			last[e.Step] = e.Time
		}
		fmt.Fprintln(w, FormatText(e))
	})
}

// FormatText renders an event as one plain line, without a trailing newline.
func FormatText(e Event) string {
	ts := e.Time.Format("2006-01-02T15:04:05.000Z07:00")
	prefix := ts + " "
	if e.Step > 0 {
		prefix += fmt.Sprintf("[%d %s] ", e.Step, e.Kind)
	}
	if e.Node != "" {
		prefix += e.Node + ": "
	}
	switch e.Type {
	case EventProgress:
		return fmt.Sprintf("%s%s %d/%d %s", prefix, e.Message, e.Current, e.Total, e.Unit)
	case EventStepFinished:
		return fmt.Sprintf("%sdone in %.1fs", prefix, e.Duration)
	case EventStepFailed:
		return prefix + "FAILED: " + e.Message
	case EventWarning:
		return prefix + "warning: " + e.Message
	case EventWaiting:
		line := fmt.Sprintf("%swaiting for %s: %s so far", prefix, e.Message, time.Duration(e.Waited*float64(time.Second)).Round(time.Second))
		if e.Deadline != nil {
			line += fmt.Sprintf(", until %s (%s left)", e.Deadline.Format("15:04:05"), e.Deadline.Sub(e.Time).Round(time.Second))
		}
		return line
	case EventGate:
		res := "passed"
		if e.Passed != nil && !*e.Passed {
			res = "FAILED"
		}
		return fmt.Sprintf("%sgate %s: %s", prefix, res, e.Message)
	case EventSummary:
		s := e.Summary
		line := fmt.Sprintf("%s%s: %s %v -> %s in %.1fs (exit %d)", prefix, s.Outcome, s.App, s.From, s.To, s.Duration, s.ExitCode)
		if s.LostSessions > 0 {
			line += fmt.Sprintf(", %d sessions ended", s.LostSessions)
		}
		return line
	}
	return prefix + e.Message
}
