//go:build integration

package schema_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/schema"
	"github.com/saitodrom/zdd/deployer/wait"
	"github.com/saitodrom/zdd/testenv"
	"github.com/saitodrom/zdd/testenv/testenvtest"
)

// haproxyWriter reads "show servers state" from HAProxy's runtime socket and names the first
// server, in the order given (primary first), that is running and not in maintenance or drain.
// It stands in for lb/haproxy's adapter, which cmd wires.
type haproxyWriter struct {
	socket, backend string
	order           []string
}

func (h haproxyWriter) ActiveServer(ctx context.Context) (string, error) {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "unix", h.socket)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := fmt.Fprintf(c, "show servers state %s\n", h.backend); err != nil {
		return "", err
	}
	up := map[string]bool{}
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 7 || strings.HasPrefix(f[0], "#") || f[1] != h.backend {
			continue
		}
		op, _ := strconv.Atoi(f[5])
		admin, _ := strconv.Atoi(f[6])
		up[f[3]] = op == 2 && admin&(0x01|0x02|0x04|0x08|0x10|0x20|0x40) == 0
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	for _, n := range h.order {
		if up[n] {
			return n, nil
		}
	}
	return "", fmt.Errorf("no server of backend %s is up", h.backend)
}

// fixture is one test's throwaway names and directory.
type fixture struct {
	env    *testenv.Env
	prefix string // unique table-name prefix, substituted for {T} in migration files
	dir    string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := testenvtest.Require(t)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	f := &fixture{env: env, prefix: "t" + hex.EncodeToString(b), dir: t.TempDir()}
	for _, p := range schema.Phases {
		require.NoError(t, os.MkdirAll(filepath.Join(f.dir, string(p)), 0o755))
	}
	t.Cleanup(func() { f.dropAll(t) })
	return f
}

// write writes phase/name with {T} replaced by the fixture's prefix.
func (f *fixture) write(t *testing.T, phase schema.Phase, name, sql string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, string(phase), name), []byte(strings.ReplaceAll(sql, "{T}", f.prefix)), 0o644))
}

func (f *fixture) servers() map[string]int {
	m := map[string]int{}
	for _, s := range f.env.DB.Servers {
		m[s.Name] = s.ServerID
	}
	return m
}

func (f *fixture) writer() schema.WriterSource {
	var order []string
	for _, s := range f.env.DB.Servers {
		order = append(order, s.Name)
	}
	return haproxyWriter{socket: f.env.DB.HAProxySocket, backend: f.env.DB.Backend, order: order}
}

// options returns Options through HAProxy with the fixture's own journal table.
func (f *fixture) options() schema.Options {
	return schema.Options{
		DSN:             fmt.Sprintf("%s@tcp(%s)/%s", f.env.DB.User, f.env.DB.HAProxyAddr, f.env.DB.Name),
		Password:        f.env.DB.Password,
		Dir:             f.dir,
		Servers:         f.servers(),
		Writer:          f.writer(),
		LockWait:        2 * time.Second,
		LockWaitTimeout: 2 * time.Second,
		Who:             "tester",
		From:            "test-host",
		JournalTable:    f.prefix + "_journal",
		PollInterval:    50 * time.Millisecond,
	}
}

func (f *fixture) migrator(t *testing.T, mod ...func(*schema.Options)) *schema.Migrator {
	t.Helper()
	o := f.options()
	for _, fn := range mod {
		fn(&o)
	}
	m, err := schema.New(o)
	require.NoError(t, err)
	return m
}

// direct opens the named server (db1 or db2) directly, bypassing HAProxy.
func (f *fixture) direct(t *testing.T, server string) *sql.DB {
	t.Helper()
	for _, s := range f.env.DB.Servers {
		if s.Name == server {
			cfg := mysql.NewConfig()
			cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = f.env.DB.User, f.env.DB.Password, "tcp", s.Addr, f.env.DB.Name
			cfg.Timeout, cfg.ParseTime = 3*time.Second, true
			c, err := mysql.NewConnector(cfg)
			require.NoError(t, err)
			db := sql.OpenDB(c)
			t.Cleanup(func() { db.Close() })
			return db
		}
	}
	t.Fatalf("no server %s", server)
	return nil
}

// columns lists the columns of the fixture's table name on db ("" when it does not exist).
func columns(ctx context.Context, db *sql.DB, schemaName, table string) (string, error) {
	var cols sql.NullString
	err := db.QueryRowContext(ctx, "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS"+
		" WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", schemaName, table).Scan(&cols)
	return cols.String, err
}

// tables lists the fixture's tables on the primary.
func (f *fixture) tables(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME LIKE ? ORDER BY TABLE_NAME",
		f.env.DB.Name, f.prefix+"%")
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		out = append(out, n)
	}
	require.NoError(t, rows.Err())
	return out
}

// dropAll drops every table of the fixture on the primary (replication drops them on the replica).
func (f *fixture) dropAll(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The primary may just have been restarted by a test; wait until it answers.
	db := f.direct(t, "db1")
	err := wait.Until(ctx, 200*time.Millisecond, 45*time.Second, "db1 to answer", func(ctx context.Context) (bool, error) {
		err := db.PingContext(ctx)
		return err == nil, wait.Reason(err)
	})
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	for _, tb := range f.tables(t, db) {
		if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS `"+tb+"`"); err != nil {
			t.Errorf("cleanup: drop %s: %v", tb, err)
		}
	}
}

// journal reads the fixture's journal on db.
func (f *fixture) journal(t *testing.T, db *sql.DB) []map[string]string {
	t.Helper()
	rows, err := db.Query("SELECT phase, name, checksum, started_at, COALESCE(finished_at, ''), COALESCE(error, ''), applied_by, applied_from," +
		" COALESCE(resolution, '') FROM `" + f.prefix + "_journal` ORDER BY id")
	require.NoError(t, err)
	defer rows.Close()
	var out []map[string]string
	for rows.Next() {
		v := make([]string, 9)
		require.NoError(t, rows.Scan(&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]))
		out = append(out, map[string]string{"phase": v[0], "name": v[1], "checksum": v[2], "started_at": v[3],
			"finished_at": v[4], "error": v[5], "applied_by": v[6], "applied_from": v[7], "resolution": v[8]})
	}
	require.NoError(t, rows.Err())
	return out
}
