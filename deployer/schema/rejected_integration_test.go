//go:build integration

package schema_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/schema"
)

// TestSyntaxErrorRejectedNotDirty: MariaDB refuses a migration with a syntax error before
// running anything. The attempt is journaled as failed (with the server's message) and
// resolved as rejected by the run itself: not applied, not dirty; the next run is not refused,
// and once the file is fixed it applies.
func TestSyntaxErrorRejectedNotDirty(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, schema.Expand, "001_bad.sql", "CREATE TABLE {T}_bad (id INT PRIMARY KEY,,)")
	f.write(t, schema.Expand, "002_after.sql", "CREATE TABLE {T}_after (id INT PRIMARY KEY)")
	m := f.migrator(t)

	var failed []schema.Event
	res, err := m.Up(ctx, schema.Expand, func(e schema.Event) {
		if e.Kind == schema.EventFailed {
			failed = append(failed, e)
		}
	})
	assert.Empty(t, res)
	require.ErrorIs(t, err, schema.ErrRejected)
	assert.NotErrorIs(t, err, schema.ErrStatement, "a rejected statement leaves nothing dirty")
	assert.ErrorContains(t, err, "expand/001_bad.sql")
	assert.ErrorContains(t, err, "Error 1064 (42000): You have an error in your SQL syntax")
	assert.ErrorContains(t, err, "nothing changed")
	assert.Equal(t, 1, strings.Count(err.Error(), "You have an error in your SQL syntax"), "the cause once: %v", err)
	require.Len(t, failed, 1)

	primary := f.direct(t, "db1")
	assert.Equal(t, []string{f.prefix + "_journal", f.prefix + "_journal_lock"}, f.tables(t, primary), "002 must not run after 001 failed")
	j := f.journal(t, primary)
	require.Len(t, j, 1)
	assert.Equal(t, "001_bad.sql", j[0]["name"])
	assert.Empty(t, j[0]["finished_at"], "not applied")
	assert.Contains(t, j[0]["error"], "Error 1064 (42000)", "the failure is recorded")
	assert.Equal(t, "rejected", j[0]["resolution"])

	st, err := m.Status(ctx)
	require.NoError(t, err)
	assert.Empty(t, st.Dirty, "not dirty")
	require.Len(t, st.Phases[0].Items, 2)
	assert.Equal(t, schema.StatePending, st.Phases[0].Items[0].State)
	plan, err := m.Plan(ctx, schema.Expand)
	require.NoError(t, err, "plan is not refused")
	assert.Equal(t, []string{"001_bad.sql", "002_after.sql"}, names(plan))

	// Fixed, the file applies without any resolve.
	f.write(t, schema.Expand, "001_bad.sql", "CREATE TABLE {T}_bad (id INT PRIMARY KEY)")
	res, err = m.Up(ctx, schema.Expand, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"001_bad.sql", "002_after.sql"}, resultNames(res))
	j = f.journal(t, primary)
	require.Len(t, j, 3)
	assert.NotEmpty(t, j[1]["finished_at"])
}
