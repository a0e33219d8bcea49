package wait

import (
	"context"
	"errors"
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
