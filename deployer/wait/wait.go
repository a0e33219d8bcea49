// Package wait is the one way zdd waits: poll a condition on a ticker until it holds, the
// deadline passes or the context is cancelled. Nothing in zdd sleeps bare.
//
// A wait that lasts reports its progress to the Reporter the caller put in the context (see
// WithReporter): what it waits for, for how long so far and until when. The package never
// prints; the engine turns the reports into events.
package wait

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrTimeout is returned (wrapped) by Until when the deadline passes before the condition holds.
var ErrTimeout = errors.New("timed out")

// Condition reports whether the awaited state holds. A non-nil error stops the wait at once
// and is returned unchanged; return (false, nil) to keep polling. The exception: an error that
// wraps context.DeadlineExceeded once the wait's own deadline has passed is the wait's timeout
// (the poll in flight was cut off by it), not a failure.
type Condition func(ctx context.Context) (done bool, err error)

// Until calls cond immediately and then every interval until it returns true, returns an
// error, timeout elapses or ctx is done. On timeout the error wraps ErrTimeout and, when the
// last poll said why it was not done, that reason (see Reason); a poll still in flight when
// the deadline passes ends the same way. On cancellation of ctx (the caller's, not the wait's
// own deadline) it returns ctx.Err(). A timeout of zero or less means no deadline other than
// ctx's. While it waits it reports to ctx's Reporter, if any (see WithReporter).
func Until(ctx context.Context, interval, timeout time.Duration, what string, cond Condition) error {
	parent := ctx
	var deadline time.Time
	if timeout > 0 {
		var cancel context.CancelFunc
		deadline = time.Now().Add(timeout)
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	rep := startReport(parent, what, deadline)
	defer rep.stop()
	pollCtx := WithoutReporter(ctx) // nested waits do not report twice
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var last error // the last reason the condition was not done
	for {
		done, err := cond(pollCtx)
		var nr notReady
		if err != nil && !errors.As(err, &nr) {
			if parent.Err() == nil && ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
				return timeoutError(what, timeout, last, err)
			}
			return err
		}
		if done {
			return nil
		}
		if err != nil {
			last = err
			rep.reason(err)
		}
		select {
		case <-ctx.Done():
			if parent.Err() != nil {
				return parent.Err()
			}
			return timeoutError(what, timeout, last, nil)
		case <-ticker.C:
		}
	}
}

// timeoutError is the timeout of the wait for what: it wraps ErrTimeout and the last reason
// the condition gave; cut, when not nil, is the poll the deadline interrupted (its text only,
// so that the error is a timeout and nothing else).
func timeoutError(what string, timeout time.Duration, last, cut error) error {
	switch {
	case last != nil && cut != nil:
		return fmt.Errorf("waiting for %s: %w after %s: %w (the poll in flight was cut off: %v)", what, ErrTimeout, timeout, last, cut)
	case last != nil:
		return fmt.Errorf("waiting for %s: %w after %s: %w", what, ErrTimeout, timeout, last)
	case cut != nil:
		return fmt.Errorf("waiting for %s: %w after %s (the poll in flight was cut off: %v)", what, ErrTimeout, timeout, cut)
	}
	return fmt.Errorf("waiting for %s: %w after %s", what, ErrTimeout, timeout)
}

// notReady marks an error that says why a condition is not done yet; polling goes on.
type notReady struct{ err error }

func (n notReady) Error() string { return n.err.Error() }
func (n notReady) Unwrap() error { return n.err }

// Reason lets a condition say why it is not done yet: return (false, wait.Reason(err)) and
// polling goes on; if the deadline passes, err is part of the timeout error.
func Reason(err error) error {
	if err == nil {
		return nil
	}
	return notReady{err}
}
