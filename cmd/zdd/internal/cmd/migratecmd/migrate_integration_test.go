//go:build integration

package migratecmd_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmd/migratecmd"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/cmd/zdd/internal/zddcmd"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/schema"
	"github.com/saitodrom/zdd/testenv"
	"github.com/saitodrom/zdd/testenv/testenvtest"
)

// fixture is a migrations directory with files of unique names and tables, and a direct
// connection to the primary that removes them (and their journal rows) when the test ends.
type fixture struct {
	env   *testenv.Env
	dir   string
	tag   string // unique per test: in every file and table name
	base  int64  // version of the first file
	db    *sql.DB
	out   strings.Builder // everything every command printed, to look for the password
	extra []string        // --set flags of every command
}

func newFixture(t *testing.T) *fixture {
	env := testenvtest.Require(t)
	t.Setenv("ZDD_CONFIG", env.ConfigFile)
	for _, k := range config.Keys() {
		t.Setenv(config.EnvVar(k), "") // an empty variable counts as unset
	}
	now := time.Now().UnixNano() / 1000
	f := &fixture{env: env, dir: t.TempDir(), tag: fmt.Sprintf("mc%d", now%1_000_000_000), base: now % 1_000_000_000_000}
	for _, p := range schema.Phases {
		require.NoError(t, os.MkdirAll(filepath.Join(f.dir, string(p)), 0o755))
	}
	f.extra = []string{"--set", "migrations.dir=" + f.dir}
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = env.DB.User, env.DB.Password, "tcp", env.DB.Servers[0].Addr, env.DB.Name
	db, err := sql.Open("mysql", cfg.FormatDSN())
	require.NoError(t, err)
	f.db = db
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS `"+f.tag+"`")
		assert.NoError(t, err)
		_, err = db.ExecContext(ctx, "DELETE FROM `"+schema.DefaultJournalTable+"` WHERE name LIKE ?", "%\\_"+f.tag+"\\_%")
		assert.NoError(t, err)
		db.Close()
		assert.NotContains(t, f.out.String(), env.DB.Password, "the database password was printed")
		assert.NotContains(t, f.out.String(), env.Manager.Password, "the Manager password was printed")
	})
	return f
}

// file writes <phase>/<base+n>_<tag>_<what>.sql and returns its name.
func (f *fixture) file(t *testing.T, phase schema.Phase, n int64, what, stmt string) string {
	name := fmt.Sprintf("%d_%s_%s.sql", f.base+n, f.tag, what)
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, string(phase), name), []byte(stmt+";\n"), 0o644))
	return name
}

// zdd runs the command as main does and returns its exit code, stdout and stderr.
func (f *fixture) zdd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	streams, _, out, errOut := iostreams.Test()
	code := zddcmd.Main(context.Background(), append(args, f.extra...), streams)
	fmt.Fprintf(&f.out, "%s\n%s\n", out, errOut)
	t.Logf("zdd %s: exit %d\nstdout:\n%sstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	return code, out.String(), errOut.String()
}

func (f *fixture) columns(t *testing.T) string {
	var cols sql.NullString
	require.NoError(t, f.db.QueryRow("SELECT GROUP_CONCAT(column_name ORDER BY ordinal_position) FROM information_schema.columns"+
		" WHERE table_schema = DATABASE() AND table_name = ?", f.tag).Scan(&cols))
	return cols.String
}

func TestIntegrationMigrateExpandThenContract(t *testing.T) {
	f := newFixture(t)
	create := f.file(t, schema.Expand, 1, "create", "CREATE TABLE `"+f.tag+"` (id INT PRIMARY KEY, old_col INT)")
	add := f.file(t, schema.Expand, 2, "add", "ALTER TABLE `"+f.tag+"` ADD COLUMN new_col INT")
	drop := f.file(t, schema.Contract, 1, "drop", "ALTER TABLE `"+f.tag+"` DROP COLUMN old_col")

	code, out, _ := f.zdd(t, "migrate", "plan", "--phase", "expand")
	require.Equal(t, 0, code)
	assert.Equal(t, "expand/"+create+"\nexpand/"+add+"\n", out)

	code, out, errOut := f.zdd(t, "migrate", "up", "--phase", "expand", "-o", "json")
	require.Equal(t, 0, code, errOut)
	var up migratecmd.UpJSON
	require.NoError(t, json.Unmarshal([]byte(out), &up))
	require.Len(t, up.Applied, 2)
	assert.Equal(t, []string{create, add}, []string{up.Applied[0].Name, up.Applied[1].Name})
	assert.Equal(t, 1, up.Applied[0].ServerID, "ran on the primary")
	assert.Contains(t, errOut, "migrate: expand: lock acquired on server_id 1")
	assert.Contains(t, errOut, "migrate: expand: "+add+" done in ")
	assert.Equal(t, "id,old_col,new_col", f.columns(t))

	code, out, errOut = f.zdd(t, "migrate", "up", "--phase", "expand")
	require.Equal(t, 0, code, errOut)
	assert.Empty(t, out, "a second run applies nothing")

	code, out, _ = f.zdd(t, "migrate", "plan", "--phase", "contract", "-o", "json")
	require.Equal(t, 0, code)
	var plan migratecmd.PlanJSON
	require.NoError(t, json.Unmarshal([]byte(out), &plan))
	assert.Equal(t, migratecmd.PlanJSON{Phase: "contract", Pending: []string{drop}}, plan, "no node has an older version: not refused")

	code, out, errOut = f.zdd(t, "migrate", "up", "--phase", "contract")
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `^applied contract/`+drop+` on server_id 1 in \S+\n$`, out)
	assert.Equal(t, "id,new_col", f.columns(t))

	code, out, _ = f.zdd(t, "migrate", "status", "-o", "json")
	require.Equal(t, 0, code)
	var st migratecmd.StatusJSON
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	assert.True(t, st.Writer)
	assert.Equal(t, 1, st.Server.ServerID)
	states := map[string]schema.State{}
	for _, p := range st.Phases {
		for _, m := range p.Migrations {
			if strings.Contains(m.Name, f.tag) {
				states[string(p.Phase)+"/"+m.Name] = m.State
				assert.NotEmpty(t, m.AppliedBy)
				assert.NotEmpty(t, m.AppliedFrom)
			}
		}
	}
	assert.Equal(t, map[string]schema.State{"expand/" + create: schema.StateApplied, "expand/" + add: schema.StateApplied,
		"contract/" + drop: schema.StateApplied}, states)

	code, out, _ = f.zdd(t, "migrate", "status")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "server: server_id 1 ")
	assert.Regexp(t, `applied\s+`+add+`\s+started `, out)
}

func TestIntegrationMigrateContractRefusedWhileOldVersionDeployed(t *testing.T) {
	f := newFixture(t)
	f.file(t, schema.Expand, 1, "create", "CREATE TABLE `"+f.tag+"` (id INT PRIMARY KEY, old_col INT)")
	drop := f.file(t, schema.Contract, 1, "drop", "ALTER TABLE `"+f.tag+"` DROP COLUMN old_col")
	code, _, errOut := f.zdd(t, "migrate", "up", "--phase", "expand")
	require.Equal(t, 0, code, errOut)

	testenvtest.DeploySample(t, f.env, testenv.WAROptions{Version: "001"})
	testenvtest.DeploySample(t, f.env, testenv.WAROptions{Version: "002"})

	code, out, errOut := f.zdd(t, "migrate", "up", "--phase", "contract")
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "contract phase not allowed yet")
	assert.Contains(t, errOut, "the newest version of /app is 002 but n1 has 001; n2 has 001; n3 has 001")
	assert.Contains(t, errOut, "zdd: hint: `zdd drain`")
	assert.Equal(t, "id,old_col", f.columns(t), "nothing ran")

	code, out, errOut = f.zdd(t, "migrate", "plan", "--phase", "contract")
	assert.Equal(t, 0, code)
	assert.Equal(t, "contract/"+drop+"\n", out)
	assert.Contains(t, errOut, "up --phase contract would be refused now")
}

func TestIntegrationMigrateLockedExitsFive(t *testing.T) {
	f := newFixture(t)
	f.file(t, schema.Expand, 1, "create", "CREATE TABLE `"+f.tag+"` (id INT PRIMARY KEY)")
	f.extra = append(f.extra, "--set", "database.lock_wait=1s")

	// Another run holds the lock: the same GET_LOCK name a run takes, on a connection of ours.
	ctx := context.Background()
	conn, err := f.db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	var got int
	require.NoError(t, conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 0)", "zdd-schema:"+f.env.DB.Name+"."+schema.DefaultJournalTable).Scan(&got))
	require.Equal(t, 1, got)

	start := time.Now()
	code, out, errOut := f.zdd(t, "migrate", "up", "--phase", "expand")
	assert.Equal(t, 5, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "zdd: error: schema: lock zdd-schema:"+f.env.DB.Name+"."+schema.DefaultJournalTable+": held by connection ")
	assert.Contains(t, errOut, "gave up after 1")
	assert.Contains(t, errOut, "zdd: hint: wait for the other migration run to finish")
	assert.Contains(t, errOut, "migrate: expand: waiting for the migration lock held by connection ")
	assert.Less(t, time.Since(start), 20*time.Second, "waited about lock_wait, not the default")
	assert.Equal(t, "", f.columns(t), "nothing ran")

	code, _, errOut = f.zdd(t, "migrate", "resolve", "--phase", "expand", "001_x.sql", "--retry")
	assert.Equal(t, 5, code, "resolve takes the same lock: %s", errOut)

	_, err = conn.ExecContext(ctx, "DO RELEASE_LOCK(?)", "zdd-schema:"+f.env.DB.Name+"."+schema.DefaultJournalTable)
	require.NoError(t, err)
	code, _, errOut = f.zdd(t, "migrate", "up", "--phase", "expand")
	assert.Equal(t, 0, code, errOut)
}

func TestIntegrationMigrateFailedStatementExitsFourThenResolve(t *testing.T) {
	f := newFixture(t)
	bad := f.file(t, schema.Expand, 1, "bad", "CREATE TABLE `"+f.tag+"` (id INT PRIMARY KEY, oops NOTATYPE)")
	code, _, errOut := f.zdd(t, "migrate", "up", "--phase", "expand")
	assert.Equal(t, 4, code)
	assert.Contains(t, errOut, "expand/"+bad)
	assert.Contains(t, errOut, "Unknown data type: 'NOTATYPE'", "the server's message")

	code, _, errOut = f.zdd(t, "migrate", "up", "--phase", "expand")
	assert.Equal(t, 1, code, "a dirty journal refuses before any DDL")
	assert.Contains(t, errOut, "zdd: error: schema: journal is dirty: expand/"+bad)
	assert.Contains(t, errOut, "zdd: hint: `zdd migrate status` lists the dirty entries")

	code, out, _ := f.zdd(t, "migrate", "status", "-o", "json")
	require.Equal(t, 0, code)
	var st migratecmd.StatusJSON
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	require.Len(t, st.Dirty, 1, "only this test's entry is dirty")
	assert.Equal(t, bad, st.Dirty[0].Name)
	assert.Contains(t, st.Dirty[0].Error, "NOTATYPE")

	require.NoError(t, os.WriteFile(filepath.Join(f.dir, "expand", bad), []byte("CREATE TABLE `"+f.tag+"` (id INT PRIMARY KEY);\n"), 0o644))
	// The form the schema package's hint names (--name) works as well as the positional NAME.
	code, out, errOut = f.zdd(t, "migrate", "resolve", "--phase", "expand", "--name", bad, "--retry")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "resolved expand/"+bad+" as retry\n", out)
	code, _, errOut = f.zdd(t, "migrate", "up", "--phase", "expand")
	assert.Equal(t, 0, code, errOut)
	assert.Equal(t, "id", f.columns(t))
}
