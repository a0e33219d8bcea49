package watch

import (
	"context"
	"crypto/tls"
	"fmt"
	"sync"
	"time"
)

// WatchOptions configures a Watcher: a few synthetic users on a real URL during a release.
type WatchOptions struct {
	// URLs are the public pages to watch (e.g. https://shop.example.com/app/). Required.
	URLs []string
	// Users is the number of synthetic users. Zero means 3.
	Users int
	// Interval is each user's pause between two requests. Zero means 200 ms (with 3 users,
	// about 15 requests/s: light enough for production).
	Interval time.Duration
	// NewSessionEvery makes a user start a new session after this many requests. Zero means 50.
	NewSessionEvery int
	// Timeout is each request's timeout. Zero means 10 s.
	Timeout time.Duration
	// SampleApp checks the sample application's page (version, node, session counter) instead
	// of any page (status code and session cookie only; see Options.AnyPage).
	SampleApp bool
	// TLS verifies https URLs (see Options.TLS); nil means the system roots.
	TLS *tls.Config
}

// Watcher runs synthetic session-keeping users against a URL and reports the first failed
// request or lost session as soon as it happens. The release command starts one before its
// first change, selects on Failed() beside its steps (a receive is a failed gate: roll back),
// and calls Stop at the end for the report.
//
// A typical use:
//
//	w := watch.Watch(ctx, watch.WatchOptions{URLs: []string{url}})
//	defer w.Stop()
//	... run the release; between and during steps:
//	select {
//	case f := <-w.Failed():
//		return fmt.Errorf("watch: %s", f.What) // the release rolls back
//	default:
//	}
type Watcher struct {
	failed chan Failure
	first  sync.Once
	cancel context.CancelFunc
	done   chan *Report
	report *Report
	stop   sync.Once
}

// Watch starts the users; they run until Stop or until ctx ends.
func Watch(ctx context.Context, opts WatchOptions) *Watcher {
	if opts.Users == 0 {
		opts.Users = 3
	}
	if opts.Interval == 0 {
		opts.Interval = 200 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &Watcher{failed: make(chan Failure, 1), cancel: cancel, done: make(chan *Report, 1)}
	lo := Options{URLs: opts.URLs, Users: opts.Users, NewSessionEvery: opts.NewSessionEvery, Timeout: opts.Timeout,
		Interval: opts.Interval, AnyPage: !opts.SampleApp, TLS: opts.TLS,
		OnFailure: func(f Failure) {
			w.first.Do(func() { w.failed <- f })
		}}
	go func() { w.done <- Run(ctx, lo) }()
	return w
}

// Failed delivers the first failure (a failed request or a lost session), once; later failures
// are counted in the report only. It is never closed.
func (w *Watcher) Failed() <-chan Failure { return w.failed }

// Stop ends the users and returns the report of the whole watch. It may be called more than
// once; later calls return the same report.
func (w *Watcher) Stop() *Report {
	w.stop.Do(func() {
		w.cancel()
		w.report = <-w.done
	})
	return w.report
}

// Err returns nil when nothing failed and nothing was lost, else an error that counts them and
// names the first failure.
func (r *Report) Err() error {
	if r.OK() {
		return nil
	}
	what := ""
	if len(r.Failures) > 0 {
		what = "; first at " + r.Failures[0].At.Round(time.Millisecond).String() + ": " + r.Failures[0].What
	}
	return fmt.Errorf("load: %d failed requests, %d lost sessions in %d requests%s", r.Failed, r.LostSessions, r.Requests, what)
}
