package wait

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUntilDoneAfterPolls(t *testing.T) {
	n := 0
	err := Until(context.Background(), time.Millisecond, time.Second, "three polls", func(context.Context) (bool, error) {
		n++
		return n == 3, nil
	})
	require.NoError(t, err)
	assert.Equal(t, 3, n)
}

func TestUntilTimeoutCarriesReason(t *testing.T) {
	err := Until(context.Background(), time.Millisecond, 20*time.Millisecond, "port 1", func(context.Context) (bool, error) {
		return false, Reason(errors.New("connection refused"))
	})
	require.ErrorIs(t, err, ErrTimeout)
	assert.Contains(t, err.Error(), "waiting for port 1")
	assert.Contains(t, err.Error(), "connection refused")
}

func TestUntilHardErrorStops(t *testing.T) {
	boom := errors.New("boom")
	n := 0
	err := Until(context.Background(), time.Millisecond, time.Second, "x", func(context.Context) (bool, error) {
		n++
		return false, boom
	})
	require.ErrorIs(t, err, boom)
	assert.Equal(t, 1, n)
}

func TestUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Until(ctx, time.Millisecond, time.Second, "x", func(context.Context) (bool, error) { return false, nil })
	require.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, ErrTimeout)
}

// slowPoll is a condition whose first poll says why it is not done and whose later polls
// block until their context ends, returning what an HTTP client returns then (an error that
// wraps context.DeadlineExceeded), as tomcatmgr's List does when the wait's deadline cuts it off.
func slowPoll(n *int) Condition {
	return func(ctx context.Context) (bool, error) {
		*n++
		if *n == 1 {
			return false, Reason(errors.New("3 sessions left"))
		}
		<-ctx.Done()
		return false, fmt.Errorf("tomcatmgr: list on n1: timed out: %w", ctx.Err())
	}
}

func TestUntilDeadlineDuringSlowPollIsTimeout(t *testing.T) {
	n := 0
	t0 := time.Now()
	err := Until(context.Background(), 10*time.Millisecond, 100*time.Millisecond, "the old sessions to end", slowPoll(&n))
	require.ErrorIs(t, err, ErrTimeout)
	assert.NotErrorIs(t, err, context.DeadlineExceeded, "the poll's own error is not passed on as a cause")
	assert.Contains(t, err.Error(), "3 sessions left", "the last reason it was not done")
	assert.Contains(t, err.Error(), "cut off")
	assert.Equal(t, 2, n)
	assert.Less(t, time.Since(t0), time.Second)
}

func TestUntilParentDeadlineIsNotTimeout(t *testing.T) {
	// The caller's own deadline (--timeout) is the caller's: returned as its ctx error.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	n := 0
	err := Until(ctx, 10*time.Millisecond, time.Second, "x", slowPoll(&n))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, ErrTimeout)
}

func TestUntilCancelledDuringPoll(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	n := 0
	err := Until(ctx, 10*time.Millisecond, time.Second, "x", slowPoll(&n))
	require.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, ErrTimeout)
}

func TestUntilDeadlineErrorBeforeDeadlineIsHard(t *testing.T) {
	// A poll that timed out on its own (the client's per-request timeout) before the wait's
	// deadline is a failure of that poll, as before.
	err := Until(context.Background(), 10*time.Millisecond, time.Minute, "x", func(context.Context) (bool, error) {
		return false, fmt.Errorf("no answer within 10s: %w", context.DeadlineExceeded)
	})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, ErrTimeout)
}

// collect is a Reporter that keeps its reports.
type collect struct {
	mu  sync.Mutex
	got []Progress
}

func (c *collect) report(p Progress) {
	c.mu.Lock()
	c.got = append(c.got, p)
	c.mu.Unlock()
}

func (c *collect) all() []Progress {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Progress(nil), c.got...)
}

func TestUntilReportsWhileSlowPollRuns(t *testing.T) {
	c := &collect{}
	ctx := WithReporter(context.Background(), 20*time.Millisecond, c.report)
	n := 0
	t0 := time.Now()
	err := Until(ctx, 10*time.Millisecond, 130*time.Millisecond, "the old sessions to end", slowPoll(&n))
	require.ErrorIs(t, err, ErrTimeout)
	got := c.all()
	require.GreaterOrEqual(t, len(got), 4, "a report every 20ms during a 130ms wait whose second poll blocks")
	for i, p := range got {
		assert.Equal(t, "the old sessions to end", p.What)
		assert.Equal(t, "3 sessions left", p.Reason)
		assert.WithinDuration(t, t0.Add(130*time.Millisecond), p.Deadline, 20*time.Millisecond)
		if i > 0 {
			assert.Greater(t, p.Elapsed, got[i-1].Elapsed)
		}
	}
	n0 := len(c.all())
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, n0, len(c.all()), "no report after the wait returned")
}

func TestShortWaitDoesNotReport(t *testing.T) {
	c := &collect{}
	ctx := WithReporter(context.Background(), time.Second, c.report)
	require.NoError(t, Until(ctx, time.Millisecond, time.Second, "x", func(context.Context) (bool, error) { return true, nil }))
	assert.Empty(t, c.all())
}

func TestDuringReportsAndNestedWaitsDoNot(t *testing.T) {
	c := &collect{}
	ctx := WithReporter(context.Background(), 20*time.Millisecond, c.report)
	boom := errors.New("boom")
	err := During(ctx, "deploy of /app##002 on n1", time.Time{}, func(ctx context.Context) error {
		// A wait inside the call: only the outer one reports.
		_ = Until(ctx, 5*time.Millisecond, 110*time.Millisecond, "inner", func(context.Context) (bool, error) { return false, nil })
		return boom
	})
	require.ErrorIs(t, err, boom)
	got := c.all()
	require.GreaterOrEqual(t, len(got), 3)
	for _, p := range got {
		assert.Equal(t, "deploy of /app##002 on n1", p.What)
		assert.True(t, p.Deadline.IsZero())
	}
}
