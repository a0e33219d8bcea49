package state

import "context"

// WhileHeld returns a context that is cancelled when ctx is, or when held is lost (its lease
// was taken over, by `zdd rollback` for example): a run under it stops as after Ctrl-C. Call
// the cancel function when the run ends.
func WhileHeld(ctx context.Context, held *Held) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-held.Lost():
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}
