//go:build integration

package connect

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/schema"
	"github.com/saitodrom/zdd/lb/haproxy"
	"github.com/saitodrom/zdd/lb/remote"
	"github.com/saitodrom/zdd/testenv"
	"github.com/saitodrom/zdd/testenv/testenvtest"
)

// envConfig reads the zdd.yaml testenv wrote, with its password files, and points
// migrations.dir at an empty migrations directory.
func envConfig(t *testing.T, env *testenv.Env) *config.Config {
	b, err := os.ReadFile(env.ConfigFile)
	require.NoError(t, err)
	cfg, err := config.ParseYAML(b, env.ConfigFile)
	require.NoError(t, err)
	require.Empty(t, cfg.ReadSecretFiles())
	cfg.Migrations.Dir = t.TempDir()
	for _, p := range schema.Phases {
		require.NoError(t, os.MkdirAll(filepath.Join(cfg.Migrations.Dir, string(p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(cfg.Migrations.Dir, string(p), "001_connect_probe.sql"), []byte("SELECT 1;\n"), 0o644))
	}
	return cfg
}

// TestIntegrationCheckWriter: the release preflight proves the writer through HAProxy, with
// HAProxy's socket reached locally and over SSH from lb1's host, and refuses (exit 1, nothing
// changed) once the primary is stopped and HAProxy routes to the read-only replica.
func TestIntegrationCheckWriter(t *testing.T) {
	env := testenvtest.Require(t)
	cfg := envConfig(t, env)
	ctx := context.Background()

	m, err := NewMigrations(cfg, MigrateOptions{})
	require.NoError(t, err)
	require.NoError(t, m.CheckWriter(ctx))
	require.NoError(t, m.ContractAllowed(ctx), "testenv deploys no version of /app by itself")

	l := env.LBs[0]
	r, err := remote.DialSSH(ctx, remote.SSHOptions{Name: l.Name, Addr: l.SSHAddr, User: env.SSH.User,
		KeyFile: env.SSH.IdentityFile, KnownHostsFile: env.SSH.KnownHosts})
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	viaSSH, err := NewMigrations(cfg, MigrateOptions{HAProxyDialer: r})
	require.NoError(t, err)
	require.NoError(t, viaSSH.CheckWriter(ctx), "HAProxy's socket through an SSH direct-streamlocal channel")

	hc, err := haproxy.New(haproxy.Options{Network: "unix", Address: env.DB.HAProxySocket})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		require.NoError(t, env.Start(ctx, "db1"))
		waitActive(t, ctx, hc, env.DB.Backend, "db1")
	})
	require.NoError(t, env.Stop(ctx, "db1"))
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	waitActive(t, wctx, hc, env.DB.Backend, "db2")

	err = m.CheckWriter(ctx)
	require.Error(t, err)
	assert.ErrorIs(t, err, schema.ErrNotWriter)
	assert.Equal(t, 1, outcome.Code(err))
	assert.Contains(t, err.Error(), "read_only")
	assert.NotContains(t, err.Error(), env.DB.Password)

	err = m.Up(ctx, "expand")
	require.Error(t, err)
	assert.Equal(t, 1, outcome.Code(err), "refused before any DDL: %v", err)
	assert.False(t, strings.Contains(err.Error(), env.DB.Password))
}

func waitActive(t *testing.T, ctx context.Context, c *haproxy.Client, backend, want string) {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		got, err := c.ActiveServer(ctx, backend)
		if err == nil && got == want {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("HAProxy's active server: got %q (%v), want %s", got, err, want)
		case <-tick.C:
		}
	}
}
