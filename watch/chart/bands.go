package chart

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/saitodrom/zdd/deployer"
)

// Band is one step of a release on the chart's time axis: a bar in the lane of its kind.
type Band struct {
	// Kind is the lane: the step's kind (route, deploy, gate, drain, ...), or "rollback" for
	// every step of a rollback.
	Kind string `json:"kind"`
	// Label is written in the bar when it is wide enough: the step's number and its nodes.
	Label string `json:"label,omitempty"`
	// Start and End bound the step; End is zero for a step that never finished (the bar then
	// ends with the chart).
	Start time.Time `json:"start"`
	End   time.Time `json:"end,omitzero"`
	// Failed tells a step that failed.
	Failed bool `json:"failed,omitempty"`
}

// Mark is a moment pointed at on every panel, e.g. a fault injected.
type Mark struct {
	// At is the moment.
	At time.Time `json:"at"`
	// Label says what happened then (it is the mark's legend entry).
	Label string `json:"label"`
}

// Bands turns a release's events (docs/events.md) into one band per step: from its
// step_started to its step_finished or step_failed event. A step's label is its number (plan
// steps) and the nodes its events named, in order (for a route step: the nodes its
// readmission gate checked); the steps of a rollback (kind "rollback
// route", ...) go to the lane "rollback" with their own kind as label. Other events are
// ignored.
func Bands(events []deployer.Event) []Band {
	var out []Band
	open := map[string]int{} // key of a started step -> index in out
	nodes := map[string][]string{}
	for _, e := range events {
		key := e.Kind // a rollback's steps have no number and run one at a time
		if e.Step > 0 {
			key = strconv.Itoa(e.Step) // the events within a step may have their own kind (readmit)
		}
		switch e.Type {
		case deployer.EventStepStarted:
			b := Band{Kind: e.Kind, Start: e.Time}
			if e.Step > 0 {
				b.Label = fmt.Sprintf("%d", e.Step)
			}
			if k, ok := strings.CutPrefix(e.Kind, "rollback "); ok {
				b.Kind, b.Label = "rollback", k
			}
			open[key], nodes[key] = len(out), nil
			out = append(out, b)
		case deployer.EventStepFinished, deployer.EventStepFailed:
			i, ok := open[key]
			if !ok {
				continue
			}
			out[i].End, out[i].Failed = e.Time, e.Type == deployer.EventStepFailed
			if ns := nodes[key]; len(ns) > 0 {
				out[i].Label = strings.TrimSpace(out[i].Label + " " + strings.Join(ns, ","))
			}
			delete(open, key)
		default:
			if _, ok := open[key]; ok && e.Node != "" && !contains(nodes[key], e.Node) {
				nodes[key] = append(nodes[key], e.Node)
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// laneOrder is the order of the known lanes, top to bottom; others follow in order of
// appearance.
var laneOrder = []string{"preflight", "migrate", "route", "deploy", "gate", "pause", "drain", "undeploy", "stop", "rollback"}

// lanes returns the lanes the bands use, in laneOrder then in order of appearance.
func lanes(bands []Band) []string {
	used := map[string]bool{}
	var extra []string
	for _, b := range bands {
		if !used[b.Kind] && !contains(laneOrder, b.Kind) {
			extra = append(extra, b.Kind)
		}
		used[b.Kind] = true
	}
	var out []string
	for _, k := range laneOrder {
		if used[k] {
			out = append(out, k)
		}
	}
	return append(out, extra...)
}

// Recorder keeps the events of a release for Bands. It is a deployer.Sink, safe for
// concurrent use.
type Recorder struct {
	mu     sync.Mutex
	events []deployer.Event
}

// Emit keeps e.
func (r *Recorder) Emit(e deployer.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// Events returns a copy of the events kept so far, in order.
func (r *Recorder) Events() []deployer.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]deployer.Event(nil), r.events...)
}

// ReadEvents reads the events a release wrote with --output json (one JSON object a line,
// docs/events.md). Blank lines are skipped; any other line that is not an event is an error
// naming its line number.
func ReadEvents(r io.Reader) ([]deployer.Event, error) {
	var out []deployer.Event
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var e deployer.Event
		if err := json.Unmarshal(line, &e); err != nil || e.Schema == 0 || e.Type == "" {
			return nil, fmt.Errorf("chart: events line %d is not an event of `zdd deploy --output json` (docs/events.md)", n)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}
