package connect

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/schema"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// fakeManager answers List only; any other call fails the test.
type fakeManager struct {
	deployer.Manager
	apps []tomcatmgr.App
	err  error
}

func (f *fakeManager) List(context.Context) ([]tomcatmgr.App, error) { return f.apps, f.err }

func app(path, version string) tomcatmgr.App {
	return tomcatmgr.App{Context: tomcatmgr.Context{Path: path, Version: version}, State: "running"}
}

func migrateConfig(t *testing.T) *config.Config {
	cfg := config.Default()
	cfg.Nodes = []config.Node{{Name: "n1", ManagerURL: "http://127.0.0.1:1/manager"}, {Name: "n2", ManagerURL: "http://127.0.0.1:2/manager"}}
	cfg.Database.DSN = "zdd@tcp(127.0.0.1:1)/zdd"
	cfg.Database.Password = "pw-n0t-shown"
	cfg.Database.HAProxy.Address = "unix://" + filepath.Join(t.TempDir(), "admin.sock")
	cfg.Database.HAProxy.Servers = map[string]int{"db1": 1, "db2": 2}
	cfg.Migrations.Dir = t.TempDir()
	return &cfg
}

func TestContractAllowed(t *testing.T) {
	cases := []struct {
		name    string
		n1, n2  []tomcatmgr.App
		refused string
	}{
		{"same version everywhere", []tomcatmgr.App{app("/app", "002")}, []tomcatmgr.App{app("/app", "002"), app("/other", "001")}, ""},
		{"nothing deployed", nil, nil, ""},
		{"old version on one node", []tomcatmgr.App{app("/app", "002")}, []tomcatmgr.App{app("/app", "001"), app("/app", "002")}, "newest version of /app is 002 but n2 has 001"},
		{"stopped old version counts", []tomcatmgr.App{{Context: tomcatmgr.Context{Path: "/app", Version: "001"}, State: "stopped"}, app("/app", "002")}, []tomcatmgr.App{app("/app", "002")}, "n1 has 001"},
		{"unversioned is older", []tomcatmgr.App{app("/app", ""), app("/app", "003")}, []tomcatmgr.App{app("/app", "003")}, "n1 has (unversioned)"},
		{"newest only on one node", []tomcatmgr.App{app("/app", "001")}, []tomcatmgr.App{app("/app", "002")}, "n1 has 001"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := migrateConfig(t)
			m, err := NewMigrations(cfg, MigrateOptions{Managers: map[string]deployer.Manager{
				"n1": &fakeManager{apps: c.n1}, "n2": &fakeManager{apps: c.n2}}})
			require.NoError(t, err)
			err = m.ContractAllowed(context.Background())
			if c.refused == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.refused)
			assert.Equal(t, 1, outcome.Code(err))
			assert.Contains(t, outcome.Hint(err), "zdd drain")
		})
	}
}

func TestContractAllowedNodeDown(t *testing.T) {
	cfg := migrateConfig(t)
	m, err := NewMigrations(cfg, MigrateOptions{Managers: map[string]deployer.Manager{
		"n1": &fakeManager{apps: []tomcatmgr.App{app("/app", "002")}}, "n2": &fakeManager{err: errors.New("connection refused")}}})
	require.NoError(t, err)
	err = m.ContractAllowed(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "list /app on n2: connection refused")
	assert.Equal(t, 1, outcome.Code(err))
}

// TestContractRefusedBeforeConnecting: Up contract calls the gate first; the DSN points nowhere,
// so reaching it would be a connect error instead.
func TestContractRefusedBeforeConnecting(t *testing.T) {
	cfg := migrateConfig(t)
	for _, p := range []string{"expand", "contract"} {
		require.NoError(t, os.MkdirAll(filepath.Join(cfg.Migrations.Dir, p), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(cfg.Migrations.Dir, p, "001_a.sql"), []byte("SELECT 1;\n"), 0o644))
	}
	m, err := NewMigrations(cfg, MigrateOptions{Managers: map[string]deployer.Manager{
		"n1": &fakeManager{apps: []tomcatmgr.App{app("/app", "001"), app("/app", "002")}}, "n2": &fakeManager{apps: []tomcatmgr.App{app("/app", "002")}}}})
	require.NoError(t, err)
	err = m.Up(context.Background(), "contract")
	require.Error(t, err)
	assert.ErrorIs(t, err, schema.ErrContractRefused)
	assert.Equal(t, 1, outcome.Code(err))
	assert.Contains(t, outcome.Hint(err), "zdd drain")
	assert.NotContains(t, err.Error(), "pw-n0t-shown")

	// Expand is not gated: it gets as far as connecting, to an address where nothing listens.
	err = m.Up(context.Background(), "expand")
	require.Error(t, err)
	assert.ErrorIs(t, err, schema.ErrConnect)
	assert.Equal(t, 1, outcome.Code(err))
	assert.NotContains(t, err.Error(), "pw-n0t-shown")
}

func TestNewMigrationsRefusesWithoutWriterProof(t *testing.T) {
	for name, change := range map[string]func(*config.Config){
		"no dsn":          func(c *config.Config) { c.Database.DSN = "" },
		"no haproxy":      func(c *config.Config) { c.Database.HAProxy.Address = "" },
		"bad address":     func(c *config.Config) { c.Database.HAProxy.Address = "http://x" },
		"no servers":      func(c *config.Config) { c.Database.HAProxy.Servers = nil },
		"dsn w/ password": func(c *config.Config) { c.Database.DSN = "zdd:pw-n0t-shown@tcp(127.0.0.1:1)/zdd" },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := migrateConfig(t)
			change(cfg)
			_, err := NewMigrations(cfg, MigrateOptions{Managers: map[string]deployer.Manager{}})
			require.Error(t, err)
			assert.Equal(t, 1, outcome.Code(err))
			assert.NotContains(t, err.Error(), "pw-n0t-shown")
		})
	}
}

func TestMigrationsPhaseChecked(t *testing.T) {
	m, err := NewMigrations(migrateConfig(t), MigrateOptions{Managers: map[string]deployer.Manager{}})
	require.NoError(t, err)
	_, err = m.Pending(context.Background(), "sideways")
	assert.ErrorIs(t, err, schema.ErrInvalid)
	assert.Equal(t, 1, outcome.Code(err))
	assert.ErrorIs(t, m.Up(context.Background(), "sideways"), schema.ErrInvalid)
}

func TestClassify(t *testing.T) {
	stmt := &schema.StatementError{Phase: schema.Expand, File: "expand/001_a.sql", Err: errors.New("syntax")}
	cases := []struct {
		name    string
		err     error
		started bool
		code    int
	}{
		{"locked", &schema.LockedError{Lock: "l"}, false, 5},
		{"locked after DDL is still locked", fmt.Errorf("x: %w", schema.ErrLocked), true, 5},
		{"invalid", fmt.Errorf("x: %w", schema.ErrInvalid), false, 1},
		{"dirty", &schema.DirtyError{}, false, 1},
		{"checksum", &schema.ChecksumError{}, false, 1},
		{"not writer", fmt.Errorf("x: %w", schema.ErrNotWriter), false, 1},
		{"connect", fmt.Errorf("x: %w", schema.ErrConnect), false, 1},
		{"contract refused", fmt.Errorf("x: %w: %w", schema.ErrContractRefused, errors.New("n1 has 001")), false, 1},
		{"statement", stmt, true, 4},
		{"not writer mid-phase", fmt.Errorf("x: %w", schema.ErrNotWriter), true, 4},
		{"connection lost mid-phase", fmt.Errorf("x: %w", schema.ErrConnLost), true, 4},
		{"cancelled after a statement", fmt.Errorf("x: %w", context.Canceled), true, 130},
		{"unclassified before DDL", errors.New("boom"), false, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Classify(c.err, c.started)
			assert.Equal(t, c.code, outcome.Code(got))
			assert.Equal(t, c.err.Error(), got.Error(), "the text is unchanged")
		})
	}
	assert.NoError(t, Classify(nil, true))
	assert.Contains(t, outcome.Hint(Classify(stmt, true)), "zdd migrate resolve")
}
