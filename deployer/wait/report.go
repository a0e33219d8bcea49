package wait

import (
	"context"
	"sync"
	"time"
)

// DefaultReportEvery is how often a wait reports when WithReporter is given no interval: a
// wait shorter than that says nothing.
const DefaultReportEvery = 4 * time.Second

// Progress is one report of a wait that is still going on.
type Progress struct {
	// What is what it waits for ("the old sessions to end", "deploy of /app##002 on n1").
	What string
	// Elapsed is how long it has waited so far.
	Elapsed time.Duration
	// Deadline is when it gives up; zero when it has none of its own.
	Deadline time.Time
	// Reason is why the condition was not done at its last poll, if it said ("" otherwise).
	Reason string
}

// Reporter receives the reports of the waits run under a context (see WithReporter). It is
// called from a goroutine of the wait's own while the condition or the call runs, one call at
// a time per wait; it must not block for long.
type Reporter func(Progress)

type reporterKey struct{}

type reporting struct {
	every time.Duration
	fn    Reporter
}

// WithReporter returns a context under which every Until and During reports to fn every
// every (DefaultReportEvery when zero or less) for as long as it lasts. The waits nested in a
// condition or a call do not report again (the outer wait does).
func WithReporter(ctx context.Context, every time.Duration, fn Reporter) context.Context {
	if every <= 0 {
		every = DefaultReportEvery
	}
	return context.WithValue(ctx, reporterKey{}, &reporting{every: every, fn: fn})
}

// WithoutReporter returns a context under which waits do not report.
func WithoutReporter(ctx context.Context) context.Context {
	if ctx.Value(reporterKey{}) == nil {
		return ctx
	}
	return context.WithValue(ctx, reporterKey{}, (*reporting)(nil))
}

// During runs call, reporting under what every few seconds while it runs (see WithReporter),
// for the calls that take long without being a poll: a WAR's deploy, an undeploy. deadline is
// when the call gives up, if known (zero: ctx's deadline, if any). It returns call's error.
func During(ctx context.Context, what string, deadline time.Time, call func(ctx context.Context) error) error {
	rep := startReport(ctx, what, deadline)
	defer rep.stop()
	return call(WithoutReporter(ctx))
}

// report is the reporting goroutine of one wait.
type report struct {
	mu   sync.Mutex
	last string
	done chan struct{}
	wg   sync.WaitGroup
}

// startReport starts reporting the wait for what under ctx's Reporter; stop ends it. A zero
// deadline is ctx's, if it has one.
func startReport(ctx context.Context, what string, deadline time.Time) *report {
	r := &report{done: make(chan struct{})}
	if deadline.IsZero() {
		deadline, _ = ctx.Deadline()
	}
	rp, _ := ctx.Value(reporterKey{}).(*reporting)
	if rp == nil || rp.fn == nil {
		return r
	}
	start := time.Now()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(rp.every)
		defer t.Stop()
		for {
			select {
			case <-r.done:
				return
			case <-ctx.Done():
				return
			case now := <-t.C:
				r.mu.Lock()
				reason := r.last
				r.mu.Unlock()
				rp.fn(Progress{What: what, Elapsed: now.Sub(start), Deadline: deadline, Reason: reason})
			}
		}
	}()
	return r
}

// reason records why the condition was not done at its last poll.
func (r *report) reason(err error) {
	r.mu.Lock()
	r.last = err.Error()
	r.mu.Unlock()
}

// stop ends the reports; none is made after it returns.
func (r *report) stop() {
	close(r.done)
	r.wg.Wait()
}
