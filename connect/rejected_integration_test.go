//go:build integration

package connect

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/schema"
	"github.com/saitodrom/zdd/testenv"
	"github.com/saitodrom/zdd/testenv/testenvtest"
)

// rejectFixture is a Migrations on testenv's database with its own journal table and table
// prefix, and its own migrations directory.
type rejectFixture struct {
	env    *testenv.Env
	prefix string
	dir    string
	m      *Migrations
}

func newRejectFixture(t *testing.T) *rejectFixture {
	env := testenvtest.Require(t)
	cfg := envConfig(t, env)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	f := &rejectFixture{env: env, prefix: "c" + hex.EncodeToString(b), dir: t.TempDir()}
	for _, p := range schema.Phases {
		require.NoError(t, os.MkdirAll(filepath.Join(f.dir, string(p)), 0o755))
	}
	writer, err := writerSource(cfg.Database.HAProxy, nil)
	require.NoError(t, err)
	d := cfg.Database
	s, err := schema.New(schema.Options{DSN: d.DSN, Password: d.Password.Reveal(), Dir: f.dir, Servers: d.HAProxy.Servers,
		Writer: writer, LockWait: d.LockWait, LockWaitTimeout: d.LockWaitTimeout, Who: "tester", From: "test-host",
		JournalTable: f.prefix + "_journal"})
	require.NoError(t, err)
	f.m = &Migrations{Schema: s, cfg: cfg}
	t.Cleanup(func() { f.dropAll(t) })
	return f
}

func (f *rejectFixture) write(t *testing.T, name, stmt string) {
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, "expand", name), []byte(strings.ReplaceAll(stmt, "{T}", f.prefix)), 0o644))
}

func (f *rejectFixture) primary(t *testing.T) *sql.DB {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = f.env.DB.User, f.env.DB.Password, "tcp", f.env.DB.Servers[0].Addr, f.env.DB.Name
	c, err := mysql.NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	return db
}

func (f *rejectFixture) dropAll(t *testing.T) {
	db := f.primary(t)
	rows, err := db.Query("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?", f.prefix+"\\_%")
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		tables = append(tables, n)
	}
	rows.Close()
	for _, tb := range tables {
		_, err := db.Exec("DROP TABLE IF EXISTS `" + tb + "`")
		assert.NoError(t, err)
	}
}

// TestIntegrationRejectedMigrationExitCodes: a syntax error in the first file of a phase exits
// 1 (nothing ran; not dirty) and the fixed file then applies; a phase whose second file fails
// after the first was applied is partial state, exit 4.
func TestIntegrationRejectedMigrationExitCodes(t *testing.T) {
	ctx := context.Background()
	f := newRejectFixture(t)
	f.write(t, "001_a.sql", "CREATE TABLE {T}_a (id INT PRIMARY KEY,,)")
	_, err := f.m.Apply(ctx, "expand")
	require.Error(t, err)
	t.Logf("rejected: %v", err)
	assert.Equal(t, 1, outcome.Code(err), "nothing ran: %v", err)
	assert.ErrorIs(t, err, schema.ErrRejected)
	assert.Equal(t, 1, strings.Count(err.Error(), "You have an error in your SQL syntax"), "the cause once: %v", err)
	assert.Contains(t, outcome.Hint(err), "fix the migration file")
	st, err := f.m.Status(ctx)
	require.NoError(t, err)
	assert.Empty(t, st.Dirty, "not dirty")

	f.write(t, "001_a.sql", "CREATE TABLE {T}_a (id INT PRIMARY KEY)")
	res, err := f.m.Apply(ctx, "expand")
	require.NoError(t, err, "the fixed file applies without a resolve")
	require.Len(t, res, 1)

	// 002 applies, 003 is rejected: 002's DDL took effect in this run, so it is exit 4.
	f.write(t, "002_b.sql", "CREATE TABLE {T}_b (id INT PRIMARY KEY)")
	f.write(t, "003_c.sql", "ALTER TABLE {T}_b ADD COLUMN x INT,,")
	res, err = f.m.Apply(ctx, "expand")
	require.Error(t, err)
	t.Logf("partial: %v", err)
	require.Len(t, res, 1)
	assert.Equal(t, "002_b.sql", res[0].Migration.Name)
	assert.Equal(t, 4, outcome.Code(err), "a file of the phase was applied before the failure: %v", err)
	assert.Contains(t, outcome.Hint(err), "partly applied")
	st, err = f.m.Status(ctx)
	require.NoError(t, err)
	assert.Empty(t, st.Dirty, "003 was rejected, not dirty")

	// A statement that fails while running (not rejected) leaves the schema dirty: exit 4.
	f.write(t, "003_c.sql", fmt.Sprintf("SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '%s'", "boom"))
	_, err = f.m.Apply(ctx, "expand")
	require.Error(t, err)
	assert.ErrorIs(t, err, schema.ErrStatement)
	assert.Equal(t, 4, outcome.Code(err))
}
