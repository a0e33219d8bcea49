// Package wait is the one way zdd waits: poll a condition on a ticker until it holds, the
// deadline passes or the context is cancelled. Nothing in zdd sleeps bare.
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
// and is returned unchanged; return (false, nil) to keep polling.
type Condition func(ctx context.Context) (done bool, err error)

// Until calls cond immediately and then every interval until it returns true, returns an
// error, timeout elapses or ctx is done. On timeout the error wraps ErrTimeout and, when the
// last poll said why it was not done, that reason (see Reason). On cancellation it returns
// ctx.Err(). A timeout of zero or less means no deadline other than ctx's.
func Until(ctx context.Context, interval, timeout time.Duration, what string, cond Condition) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		done, err := cond(ctx)
		var nr notReady
		if err != nil && !errors.As(err, &nr) {
			return err
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				if err != nil {
					return fmt.Errorf("waiting for %s: %w after %s: %w", what, ErrTimeout, timeout, err)
				}
				return fmt.Errorf("waiting for %s: %w after %s", what, ErrTimeout, timeout)
			}
			return ctx.Err()
		case <-ticker.C:
		}
	}
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
