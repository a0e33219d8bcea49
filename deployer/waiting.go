package deployer

import (
	"context"
	"time"

	"github.com/saitodrom/zdd/deployer/wait"
)

// waitReportEvery is how often a wait of the engine reports (tests shorten it).
var waitReportEvery = wait.DefaultReportEvery

// waitReports returns ctx with a wait.Reporter that turns the reports of the waits of step
// idx (0 for none) into waiting events: every wait longer than a few seconds says what it
// waits for, for how long so far and until when.
func (e *Engine) waitReports(ctx context.Context, idx int, kind string) context.Context {
	if e.Sink == nil {
		return ctx
	}
	return wait.WithReporter(ctx, waitReportEvery, e.WaitReporter(idx, kind))
}

// WaitReporter returns a wait.Reporter that emits each report as a waiting event of step idx
// (0: none) of kind, for the callers that wait outside a step (the lease, with
// wait.WithReporter).
func (e *Engine) WaitReporter(idx int, kind string) wait.Reporter {
	return func(p wait.Progress) {
		ev := Event{Type: EventWaiting, Step: idx, Kind: kind, Message: p.What, Waited: p.Elapsed.Seconds()}
		if p.Reason != "" {
			ev.Message += " (" + p.Reason + ")"
		}
		if !p.Deadline.IsZero() {
			d := p.Deadline
			ev.Deadline = &d
		}
		ev.Time = time.Now()
		e.emit(ev)
	}
}

// during runs a long call to a node (a deploy, an undeploy) with waiting events while it runs.
func (e *Engine) during(ctx context.Context, what string, timeout time.Duration, call func(context.Context) error) error {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	return wait.During(ctx, what, deadline, call)
}
