//go:build integration

package haproxy

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/lb/remote"
	"github.com/saitodrom/zdd/testenv/testenvtest"
)

// waitActive polls until ActiveServer names want or the deadline passes.
func waitActive(t *testing.T, c *Client, backend, want string, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var got string
	var err error
	for {
		got, err = c.ActiveServer(ctx, backend)
		if err == nil && got == want {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("active server of %s: got %q (%v), want %s", backend, got, err, want)
		case <-tick.C:
		}
	}
}

func TestIntegrationActiveServerFailover(t *testing.T) {
	env := testenvtest.Require(t)
	c, err := New(Options{Network: "unix", Address: env.DB.HAProxySocket})
	require.NoError(t, err)
	ctx := context.Background()
	name, err := c.ActiveServer(ctx, env.DB.Backend)
	require.NoError(t, err)
	assert.Equal(t, "db1", name)

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		require.NoError(t, env.Start(ctx, "db1"))
		waitActive(t, c, env.DB.Backend, "db1", 30*time.Second)
	})
	require.NoError(t, env.Stop(ctx, "db1"))
	waitActive(t, c, env.DB.Backend, "db2", 15*time.Second)
	st, err := c.Server(ctx, env.DB.Backend, "db1")
	require.NoError(t, err)
	assert.Equal(t, OpStopped, st.Op)
}

func TestIntegrationSetWeightAndStateLocal(t *testing.T) {
	env := testenvtest.Require(t)
	c, err := New(Options{Network: "unix", Address: env.DB.HAProxySocket})
	require.NoError(t, err)
	setWeightAndState(t, c, env.DB.Backend)
}

// Needs the sshd to allow direct-streamlocal channels (OpenSSH denies them
// when AllowTcpForwarding is no, whatever AllowStreamLocalForwarding says).
func TestIntegrationSetWeightAndStateOverSSH(t *testing.T) {
	env := testenvtest.Require(t)
	l := env.LBs[0]
	r, err := remote.DialSSH(context.Background(), remote.SSHOptions{Addr: l.SSHAddr, User: env.SSH.User,
		KeyFile: env.SSH.IdentityFile, KnownHostsFile: env.SSH.KnownHosts})
	require.NoError(t, err)
	// Closed after setWeightAndState's cleanup, which restores db2 over this connection
	// (a defer would close it first: cleanups run after the test function returns).
	t.Cleanup(func() { r.Close() })
	c, err := New(Options{Network: "unix", Address: env.DB.HAProxySocket, Dialer: r})
	require.NoError(t, err)
	setWeightAndState(t, c, env.DB.Backend)
}

func setWeightAndState(t *testing.T, c *Client, be string) {
	ctx := context.Background()
	before, err := c.Server(ctx, be, "db2")
	require.NoError(t, err)
	t.Cleanup(func() {
		assert.NoError(t, c.SetState(context.Background(), be, "db2", Ready))
		assert.NoError(t, c.SetWeight(context.Background(), be, "db2", before.Weight))
	})
	require.NoError(t, c.SetWeight(ctx, be, "db2", 50))
	require.NoError(t, c.SetState(ctx, be, "db2", Drain))
	st, err := c.Server(ctx, be, "db2")
	require.NoError(t, err)
	assert.Equal(t, 50, st.Weight)
	assert.True(t, st.Admin.Drain())
	require.NoError(t, c.SetState(ctx, be, "db2", Maint))
	require.NoError(t, c.SetState(ctx, be, "db2", Ready))
	assert.ErrorIs(t, c.SetWeight(ctx, be, "nosuch", 5), ErrNoServer)
	assert.ErrorIs(t, c.SetWeight(ctx, "nosuch", "db2", 5), ErrNoBackend)
	assert.ErrorIs(t, c.SetWeight(ctx, be, "db2", 257), ErrInvalid)
	name, err := c.ActiveServer(ctx, be)
	require.NoError(t, err)
	assert.Equal(t, "db1", name, "changing the backup does not move the master")
}
