package migratecmd

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/cmd/zdd/internal/wiring"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/state"
)

// `zdd migrate up` takes the release lease: while a release holds it, nothing is applied
// (exit 5, naming the holder); once it is free, the run takes it and gives it back.
func TestMigrateUpTakesTheReleaseLease(t *testing.T) {
	cfg := config.Default()
	cfg.State.Dir = t.TempDir()
	cfg.Strategy.LockWait = 0
	lock := func(ctx context.Context) (context.Context, func(), error) {
		return lockWith(ctx, &cfg, state.Lease{Holder: "ops", Host: "here", Command: "zdd migrate up"})
	}
	release, err := wiring.Lock(context.Background(), &cfg, state.Lease{Holder: "alice", Host: "ci", Command: "zdd deploy"}, nil)
	require.NoError(t, err)

	streams, _, _, _ := iostreams.Test()
	fr := &fakeRunner{}
	err = RunUp(context.Background(), &UpOptions{IO: streams, NewRunner: fr.new, Phase: "expand", Output: "text", Lock: lock})
	require.ErrorIs(t, err, outcome.ErrLocked)
	assert.Contains(t, err.Error(), "alice@ci")
	assert.Empty(t, fr.calls, "nothing applied while a release holds the lease")

	require.NoError(t, release.Release())
	require.NoError(t, RunUp(context.Background(), &UpOptions{IO: streams, NewRunner: fr.new, Phase: "expand", Output: "text", Lock: lock}))
	assert.Equal(t, []string{"apply expand"}, fr.calls)
	lease, err := wiring.Locker(&cfg).Read()
	require.NoError(t, err)
	assert.False(t, lease.Live(time.Now()), "the lease is given back")
}
