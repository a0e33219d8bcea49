//go:build integration

package schema_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/schema"
)

func TestSecondRunWaitsThenFailsWithLocked(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, schema.Expand, "001_a.sql", "CREATE TABLE {T}_a (id INT PRIMARY KEY)")
	a := f.migrator(t, func(o *schema.Options) { o.Who, o.From = "run-a", "host-a" })
	b := f.migrator(t, func(o *schema.Options) { o.Who, o.From, o.LockWait = "run-b", "host-b", 1500*time.Millisecond })

	locked, release := make(chan struct{}), make(chan struct{})
	type outcome struct {
		res []schema.Result
		err error
	}
	aDone := make(chan outcome, 1)
	go func() {
		res, err := a.Up(ctx, schema.Expand, func(e schema.Event) {
			if e.Kind == schema.EventLocked { // run A holds the lock: park it here
				close(locked)
				<-release
			}
		})
		aDone <- outcome{res, err}
	}()
	select {
	case <-locked:
	case o := <-aDone:
		t.Fatalf("run A ended before locking: %v", o.err)
	case <-time.After(20 * time.Second):
		t.Fatal("run A did not take the lock")
	}

	var waitEvents []schema.Event
	res, err := b.Up(ctx, schema.Expand, func(e schema.Event) { waitEvents = append(waitEvents, e) })
	close(release)
	assert.Empty(t, res)
	require.ErrorIs(t, err, schema.ErrLocked)
	var le *schema.LockedError
	require.ErrorAs(t, err, &le)
	assert.GreaterOrEqual(t, le.Waited, 1500*time.Millisecond, "B must wait LockWait before giving up")
	assert.NotZero(t, le.Holder.ConnectionID)
	assert.Equal(t, "run-a", le.Holder.Who)
	assert.Equal(t, "host-a", le.Holder.From)
	assert.Equal(t, f.env.DB.User, le.Holder.User)
	assert.Equal(t, schema.Expand, le.Holder.Phase)
	assert.ErrorContains(t, err, "run by run-a from host-a")
	require.Len(t, waitEvents, 1)
	assert.Equal(t, schema.EventLockWait, waitEvents[0].Kind)
	assert.Equal(t, "run-a", waitEvents[0].Holder.Who)

	o := <-aDone
	require.NoError(t, o.err)
	assert.Equal(t, []string{"001_a.sql"}, resultNames(o.res))
	j := f.journal(t, f.direct(t, "db1"))
	require.Len(t, j, 1, "B must not have run anything")
	assert.Equal(t, "run-a", j[0]["applied_by"])

	// Once A is done, B gets the lock at once and finds nothing to do.
	res, err = b.Up(ctx, schema.Expand, nil)
	require.NoError(t, err)
	assert.Empty(t, res)
}

func TestFailingStatementLeavesJournalDirty(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, schema.Expand, "001_ok.sql", "CREATE TABLE {T}_ok (id INT PRIMARY KEY)")
	// A statement that fails while it runs (a syntax error is rejected unexecuted: see
	// TestSyntaxErrorRejectedNotDirty).
	f.write(t, schema.Expand, "002_bad.sql", "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'")
	f.write(t, schema.Expand, "003_after.sql", "CREATE TABLE {T}_after (id INT PRIMARY KEY)")
	m := f.migrator(t)

	var failed []schema.Event
	res, err := m.Up(ctx, schema.Expand, func(e schema.Event) {
		if e.Kind == schema.EventFailed {
			failed = append(failed, e)
		}
	})
	assert.Equal(t, []string{"001_ok.sql"}, resultNames(res))
	require.ErrorIs(t, err, schema.ErrStatement)
	assert.ErrorContains(t, err, "expand/002_bad.sql")
	assert.ErrorContains(t, err, "Error 1644 (45000): boom")
	require.Len(t, failed, 1)
	assert.Equal(t, "002_bad.sql", failed[0].Migration.Name)

	primary := f.direct(t, "db1")
	assert.Equal(t, []string{f.prefix + "_journal", f.prefix + "_journal_lock", f.prefix + "_ok"}, f.tables(t, primary),
		"003 must not run after 002 failed")
	j := f.journal(t, primary)
	require.Len(t, j, 2)
	assert.Equal(t, "002_bad.sql", j[1]["name"])
	assert.Empty(t, j[1]["finished_at"])
	assert.Contains(t, j[1]["error"], "Error 1644 (45000)")

	// Every later run refuses and says what to do; so does plan.
	for _, phase := range schema.Phases {
		_, err = m.Up(ctx, phase, nil)
		require.ErrorIs(t, err, schema.ErrDirty, phase)
		assert.ErrorContains(t, err, "expand/002_bad.sql")
		assert.ErrorContains(t, err, "zdd migrate resolve")
	}
	_, err = m.Plan(ctx, schema.Expand)
	require.ErrorIs(t, err, schema.ErrDirty)
	st, err := m.Status(ctx)
	require.NoError(t, err)
	require.Len(t, st.Dirty, 1)
	assert.Contains(t, st.Dirty[0].Error, "1644")
	assert.Len(t, f.journal(t, primary), 2, "refused runs must not journal anything")

	// Resolving something that is not dirty is refused.
	err = m.Resolve(ctx, schema.Expand, "001_ok.sql", schema.ResolveRetry)
	require.ErrorIs(t, err, schema.ErrInvalid)

	// Fix the file, mark it for retry, run again: 002 and 003 apply.
	f.write(t, schema.Expand, "002_bad.sql", "CREATE TABLE {T}_bad (id INT PRIMARY KEY)")
	require.NoError(t, m.Resolve(ctx, schema.Expand, "002_bad.sql", schema.ResolveRetry))
	plan, err := m.Plan(ctx, schema.Expand)
	require.NoError(t, err)
	assert.Equal(t, []string{"002_bad.sql", "003_after.sql"}, names(plan))
	res, err = m.Up(ctx, schema.Expand, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"002_bad.sql", "003_after.sql"}, resultNames(res))
	j = f.journal(t, primary)
	require.Len(t, j, 4)
	assert.Equal(t, "retry", j[1]["resolution"])
}

func TestResolveApplied(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, schema.Expand, "001_x.sql", "CREATE TABLE {T}_x (id INT PRIMARY KEY)")
	m := f.migrator(t)
	primary := f.direct(t, "db1")
	// Simulate a crash after the statement took effect but before the journal was finished.
	_, err := m.Up(ctx, schema.Expand, nil)
	require.NoError(t, err)
	_, err = primary.Exec("UPDATE `" + f.prefix + "_journal` SET finished_at = NULL")
	require.NoError(t, err)
	_, err = m.Up(ctx, schema.Expand, nil)
	require.ErrorIs(t, err, schema.ErrDirty)
	assert.ErrorContains(t, err, "did not finish (interrupted)")

	require.NoError(t, m.Resolve(ctx, schema.Expand, "001_x.sql", schema.ResolveApplied))
	plan, err := m.Plan(ctx, schema.Expand)
	require.NoError(t, err)
	assert.Empty(t, plan)
	st, err := m.Status(ctx)
	require.NoError(t, err)
	assert.Equal(t, schema.StateApplied, st.Phases[0].Items[0].State)
}

func TestChangedChecksumRefused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, schema.Expand, "001_x.sql", "CREATE TABLE {T}_x (id INT PRIMARY KEY)")
	m := f.migrator(t)
	_, err := m.Up(ctx, schema.Expand, nil)
	require.NoError(t, err)

	f.write(t, schema.Expand, "001_x.sql", "CREATE TABLE {T}_x (id BIGINT PRIMARY KEY)")
	f.write(t, schema.Expand, "002_y.sql", "CREATE TABLE {T}_y (id INT PRIMARY KEY)")
	for _, phase := range schema.Phases {
		_, err = m.Up(ctx, phase, nil)
		require.ErrorIs(t, err, schema.ErrChecksum, phase)
		assert.ErrorContains(t, err, "expand/001_x.sql: file changed after it was applied")
	}
	_, err = m.Plan(ctx, schema.Expand)
	require.ErrorIs(t, err, schema.ErrChecksum)
	assert.NotContains(t, f.tables(t, f.direct(t, "db1")), f.prefix+"_y", "nothing may run after a checksum mismatch")
	st, err := m.Status(ctx)
	require.NoError(t, err)
	assert.Equal(t, schema.StateChanged, st.Phases[0].Items[0].State)

	// A new file numbered before an applied one is refused too.
	f.write(t, schema.Expand, "001_x.sql", "CREATE TABLE {T}_x (id INT PRIMARY KEY)")
	require.NoError(t, os.Rename(filepath.Join(f.dir, "expand", "002_y.sql"), filepath.Join(f.dir, "expand", "003_y.sql")))
	_, err = m.Up(ctx, schema.Expand, nil)
	require.NoError(t, err)
	f.write(t, schema.Expand, "002_late.sql", "CREATE TABLE {T}_late (id INT PRIMARY KEY)")
	_, err = m.Up(ctx, schema.Expand, nil)
	require.ErrorIs(t, err, schema.ErrInvalid)
	assert.ErrorContains(t, err, "002_late.sql is pending but sorts before the applied 003_y.sql")
	assert.NotContains(t, f.tables(t, f.direct(t, "db1")), f.prefix+"_late")
}

func TestCancelLetsRunningStatementFinish(t *testing.T) {
	f := newFixture(t)
	f.write(t, schema.Expand, "001_slow.sql", "CREATE TABLE {T}_slow AS SELECT SLEEP(2) AS s")
	f.write(t, schema.Expand, "002_next.sql", "CREATE TABLE {T}_next (id INT PRIMARY KEY)")
	m := f.migrator(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := m.Up(ctx, schema.Expand, func(e schema.Event) {
		if e.Kind == schema.EventStart && e.Migration.Name == "001_slow.sql" {
			cancel() // Ctrl-C while the statement runs
		}
	})
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, []string{"001_slow.sql"}, resultNames(res), "the running statement finishes and is reported")
	primary := f.direct(t, "db1")
	j := f.journal(t, primary)
	require.Len(t, j, 1, "002 must not start after the cancel")
	assert.NotEmpty(t, j[0]["finished_at"], "the finished statement is journaled")
	assert.Contains(t, f.tables(t, primary), f.prefix+"_slow")

	// The lock was released: the next run goes on at once.
	res, err = m.Up(context.Background(), schema.Expand, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"002_next.sql"}, resultNames(res))
}
