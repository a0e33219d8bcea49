//go:build integration

package schema_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/schema"
	"github.com/saitodrom/zdd/deployer/wait"

	redaction "github.com/saitodrom/zdd/internal/redact"
)

// throughHAProxy reports the server_id and read_only a new connection through HAProxy sees.
func (f *fixture) throughHAProxy(ctx context.Context) (id, ro int, err error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = f.env.DB.User, f.env.DB.Password, "tcp", f.env.DB.HAProxyAddr, f.env.DB.Name
	cfg.Timeout = 2 * time.Second
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return 0, 0, err
	}
	db := sql.OpenDB(c)
	defer db.Close()
	err = db.QueryRowContext(ctx, "SELECT @@server_id, @@read_only").Scan(&id, &ro)
	return id, ro, err
}

// waitRouted waits until HAProxy names server active and new connections land on serverID.
func (f *fixture) waitRouted(ctx context.Context, server string, serverID int) error {
	return wait.Until(ctx, 200*time.Millisecond, 60*time.Second, "HAProxy to route to "+server, func(ctx context.Context) (bool, error) {
		active, err := f.writer().ActiveServer(ctx)
		if err != nil || active != server {
			return false, wait.Reason(fmt.Errorf("active %q: %v", active, err))
		}
		id, _, err := f.throughHAProxy(ctx)
		return err == nil && id == serverID, wait.Reason(err)
	})
}

func TestPrimaryStoppedRefusedBeforeAnyDDL(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, schema.Expand, "001_x.sql", "CREATE TABLE {T}_x (id INT PRIMARY KEY)")
	m := f.migrator(t)

	require.NoError(t, f.env.Stop(ctx, "db1"))
	t.Cleanup(func() {
		require.NoError(t, f.env.Start(ctx, "db1"))
		require.NoError(t, f.waitRouted(ctx, "db1", 1), "HAProxy must route back to the primary")
	})
	require.NoError(t, f.waitRouted(ctx, "db2", 2))

	var events []schema.Event
	res, err := m.Up(ctx, schema.Expand, func(e schema.Event) { events = append(events, e) })
	assert.Empty(t, res)
	assert.Empty(t, events, "nothing may start")
	require.ErrorIs(t, err, schema.ErrNotWriter)
	assert.ErrorContains(t, err, "connected to server_id 2")
	assert.ErrorContains(t, err, "read_only is ON")
	assert.ErrorContains(t, err, "HAProxy failed over to the replica")
	t.Logf("refusal: %v", err)

	_, err = m.Plan(ctx, schema.Expand)
	require.ErrorIs(t, err, schema.ErrNotWriter)
	st, err := m.Status(ctx)
	require.NoError(t, err, "status still reports, from the replica")
	assert.ErrorIs(t, st.WriterErr, schema.ErrNotWriter)
	assert.Equal(t, 2, st.Server.ServerID)
	assert.True(t, st.Server.ReadOnly)

	assert.Empty(t, f.tables(t, f.direct(t, "db2")), "no DDL, not even the journal, may reach the replica")
}

func TestDSNDirectlyAtReplicaRefused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, schema.Expand, "001_x.sql", "CREATE TABLE {T}_x (id INT PRIMARY KEY)")
	var replicaAddr string
	for _, s := range f.env.DB.Servers {
		if s.ReadOnly {
			replicaAddr = s.Addr
		}
	}
	m := f.migrator(t, func(o *schema.Options) {
		o.DSN = fmt.Sprintf("%s@tcp(%s)/%s", f.env.DB.User, replicaAddr, f.env.DB.Name)
	})
	_, err := m.Up(ctx, schema.Expand, nil)
	require.ErrorIs(t, err, schema.ErrNotWriter)
	assert.ErrorContains(t, err, "its server_id is 2 but HAProxy's active server db1 has server_id 1")
	assert.ErrorContains(t, err, "the DSN reaches db2 directly")
	t.Logf("refusal: %v", err)
	_, err = m.Plan(ctx, schema.Expand)
	require.ErrorIs(t, err, schema.ErrNotWriter)
	assert.Empty(t, f.tables(t, f.direct(t, "db1")))
	assert.Empty(t, f.tables(t, f.direct(t, "db2")))
}

func TestConnectErrorsAreClear(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, schema.Expand, "001_x.sql", "CREATE TABLE {T}_x (id INT PRIMARY KEY)")

	unreachable := f.migrator(t, func(o *schema.Options) {
		o.DSN = fmt.Sprintf("%s@tcp(127.0.0.1:1)/%s", f.env.DB.User, f.env.DB.Name)
	})
	_, err := unreachable.Up(ctx, schema.Expand, nil)
	require.ErrorIs(t, err, schema.ErrConnect)
	assert.ErrorContains(t, err, "schema: connect zdd@127.0.0.1:1/zdd")
	assert.ErrorContains(t, err, "connection refused")
	assert.ErrorContains(t, err, "is HAProxy running")
	t.Logf("unreachable: %v", err)

	wrong := f.migrator(t, func(o *schema.Options) { o.Password = "not-the-password-42" })
	_, err = wrong.Up(ctx, schema.Expand, nil)
	require.ErrorIs(t, err, schema.ErrConnect)
	assert.ErrorContains(t, err, "login refused")
	assert.ErrorContains(t, err, "Access denied")
	assert.NotContains(t, err.Error(), "not-the-password-42")
	t.Logf("wrong credentials: %v", err)
	_, err = wrong.Status(ctx)
	require.ErrorIs(t, err, schema.ErrConnect)

	assert.Empty(t, f.tables(t, f.direct(t, "db1")), "nothing may change")
}

func TestPasswordNeverAppears(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	pw := f.env.DB.Password
	require.NotEmpty(t, pw)
	var out strings.Builder
	record := func(v ...any) {
		for _, x := range v {
			fmt.Fprintf(&out, "%v\n%+v\n%#v\n", x, x, x)
		}
	}

	// A DSN with the password in it is refused without echoing it.
	o := f.options()
	o.DSN = fmt.Sprintf("%s:%s@tcp(%s)/%s", f.env.DB.User, pw, f.env.DB.HAProxyAddr, f.env.DB.Name)
	_, err := schema.New(o)
	require.ErrorIs(t, err, schema.ErrInvalid)
	record(err, o)

	// A statement whose error message (raised while it runs, so the schema is dirty) contains
	// the password.
	f.write(t, schema.Expand, "001_ok.sql", "CREATE TABLE {T}_ok (id INT PRIMARY KEY)")
	f.write(t, schema.Expand, "002_leak.sql", "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'failed: "+pw+"'")
	m := f.migrator(t)
	record(m, *m, f.options())
	res, err := m.Up(ctx, schema.Expand, func(e schema.Event) { record(e, e.Err) })
	require.ErrorIs(t, err, schema.ErrStatement)
	record(res, err)
	_, err = m.Up(ctx, schema.Expand, nil)
	require.ErrorIs(t, err, schema.ErrDirty)
	record(err)
	st, err := m.Status(ctx)
	require.NoError(t, err)
	record(st, *st)
	j := f.journal(t, f.direct(t, "db1"))
	record(j)
	require.Len(t, j, 2)
	assert.Contains(t, j[1]["error"], redaction.Text, "the journal keeps the server's message, redacted")

	// Connect and writer-proof errors.
	bad := f.migrator(t, func(o *schema.Options) { o.DSN = fmt.Sprintf("%s@tcp(127.0.0.1:1)/%s", f.env.DB.User, f.env.DB.Name) })
	_, err = bad.Status(ctx)
	require.Error(t, err)
	record(err)

	text := out.String()
	assert.Contains(t, text, redaction.Text, "the recorded output must include the redacted statement error")
	if strings.Contains(text, pw) { // not assert.NotContains: it would print the password
		t.Errorf("the password appears in the output:\n%s", strings.ReplaceAll(text, pw, "<PASSWORD>"))
	}
}

// switchingWriter names db1 for the first n calls, then db2, as if HAProxy failed over mid-run.
type switchingWriter struct {
	n     int
	calls int
}

func (w *switchingWriter) ActiveServer(context.Context) (string, error) {
	w.calls++
	if w.calls <= w.n {
		return "db1", nil
	}
	return "db2", nil
}

func TestWriterRecheckedBeforeEachStatement(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, schema.Expand, "001_a.sql", "CREATE TABLE {T}_a (id INT PRIMARY KEY)")
	f.write(t, schema.Expand, "002_b.sql", "CREATE TABLE {T}_b (id INT PRIMARY KEY)")
	// Calls: proof before the lock, proof before 001, then HAProxy names db2.
	m := f.migrator(t, func(o *schema.Options) { o.Writer = &switchingWriter{n: 2} })
	res, err := m.Up(ctx, schema.Expand, nil)
	assert.Equal(t, []string{"001_a.sql"}, resultNames(res))
	require.ErrorIs(t, err, schema.ErrNotWriter)
	assert.ErrorContains(t, err, "its server_id is 1 but HAProxy's active server db2 has server_id 2")
	primary := f.direct(t, "db1")
	assert.NotContains(t, f.tables(t, primary), f.prefix+"_b", "002 must not run once the proof fails")
	assert.Len(t, f.journal(t, primary), 1)

	unknown := f.migrator(t, func(o *schema.Options) {
		o.Writer = schema.WriterSourceFunc(func(context.Context) (string, error) { return "db9", nil })
	})
	_, err = unknown.Up(ctx, schema.Expand, nil)
	require.ErrorIs(t, err, schema.ErrInvalid)
	assert.ErrorContains(t, err, `HAProxy's active server "db9" has no server_id configured (known: db1, db2)`)

	broken := f.migrator(t, func(o *schema.Options) {
		o.Writer = schema.WriterSourceFunc(func(context.Context) (string, error) { return "", fmt.Errorf("dial unix admin.sock: no such file") })
	})
	_, err = broken.Up(ctx, schema.Expand, nil)
	require.ErrorIs(t, err, schema.ErrNotWriter)
	assert.ErrorContains(t, err, "cannot tell HAProxy's active server: dial unix admin.sock")
	assert.Len(t, f.journal(t, primary), 1)
}
