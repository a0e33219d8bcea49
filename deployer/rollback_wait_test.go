package deployer

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/state"
)

// A lease held by a live process on another host: `zdd rollback` waits for it (a line says
// so) and plans once it is released; a holder that keeps renewing is named after the wait.
func TestPlanRollbackWaitsForALiveHolderElsewhere(t *testing.T) {
	_, e, opts, _ := adopted(t) // 001 by hand, 002 by zdd: --hard takes 002 away
	opts.Hard = true
	opts.Locker.TTL, opts.Locker.LockWait = 400*time.Millisecond, 2*time.Second
	var events []Event
	e.Sink = SinkFunc(func(ev Event) { events = append(events, ev) })

	other := &state.Locker{Dir: opts.Locker.Dir, TTL: opts.Locker.TTL}
	held, err := other.Acquire(context.Background(), state.Lease{Holder: "alice", Host: "elsewhere", Command: "zdd deploy"}, 0)
	require.NoError(t, err)
	time.AfterFunc(700*time.Millisecond, func() { _ = held.Release() })
	t0 := time.Now()
	p, err := e.PlanRollbackWaiting(context.Background(), opts)
	require.NoError(t, err, "planned once alice released the lease")
	assert.Equal(t, "hard", p.Mode)
	assert.GreaterOrEqual(t, time.Since(t0), 600*time.Millisecond, "it waited")
	require.NotEmpty(t, events)
	assert.Contains(t, events[0].Message, "alice@elsewhere")
	assert.Contains(t, events[0].Message, "waiting until")

	// Bob keeps renewing (the renewal goroutine of Held): refused after the wait, naming him.
	bob, err := other.Acquire(context.Background(), state.Lease{Holder: "bob", Host: "elsewhere", Command: "zdd deploy"}, 0)
	require.NoError(t, err)
	defer bob.Release()
	t0 = time.Now()
	_, err = e.PlanRollbackWaiting(context.Background(), opts)
	require.ErrorIs(t, err, outcome.ErrLocked)
	assert.Contains(t, err.Error(), "bob@elsewhere")
	assert.GreaterOrEqual(t, time.Since(t0), 1900*time.Millisecond, "max(lock_wait, ttl) waited")
}
