//go:build integration

package schema_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/schema"
	"github.com/saitodrom/zdd/deployer/wait"
)

func names(ms []schema.Migration) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

func resultNames(rs []schema.Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Migration.Name)
	}
	return out
}

func TestExpandThenContractReplicated(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, schema.Expand, "001_users.sql", "-- the users table\nCREATE TABLE {T}_users (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL);\n")
	f.write(t, schema.Expand, "002_email.sql", "ALTER TABLE {T}_users ADD COLUMN email VARCHAR(100) NULL, ALGORITHM=INSTANT, LOCK=NONE;")
	f.write(t, schema.Expand, "010_orders.sql", "CREATE TABLE {T}_orders (id INT PRIMARY KEY)")
	f.write(t, schema.Contract, "001_drop_name.sql", "ALTER TABLE {T}_users DROP COLUMN name, ALGORITHM=INPLACE, LOCK=NONE;")
	gate := errors.New("n2 still runs app##001")
	m := f.migrator(t, func(o *schema.Options) { o.ContractAllowed = func(context.Context) error { return gate } })

	plan, err := m.Plan(ctx, schema.Expand)
	require.NoError(t, err)
	assert.Equal(t, []string{"001_users.sql", "002_email.sql", "010_orders.sql"}, names(plan), "numeric order, not lexical")
	assert.Empty(t, f.tables(t, f.direct(t, "db1")), "plan must not change anything")

	var events []schema.Event
	res, err := m.Up(ctx, schema.Expand, func(e schema.Event) { events = append(events, e) })
	require.NoError(t, err)
	assert.Equal(t, names(plan), resultNames(res))
	for _, r := range res {
		assert.Equal(t, 1, r.Server.ServerID)
		assert.Equal(t, "db1", r.Server.Active)
		assert.Equal(t, res[0].Server.ConnectionID, r.Server.ConnectionID, "one connection for the whole run")
	}
	var kinds []schema.EventKind
	for _, e := range events {
		kinds = append(kinds, e.Kind)
	}
	assert.Equal(t, []schema.EventKind{schema.EventLocked, schema.EventStart, schema.EventDone, schema.EventStart,
		schema.EventDone, schema.EventStart, schema.EventDone}, kinds)

	primary := f.direct(t, "db1")
	cols, err := columns(ctx, primary, f.env.DB.Name, f.prefix+"_users")
	require.NoError(t, err)
	assert.Equal(t, "id,name,email", cols)

	// The contract gate refuses before anything runs.
	_, err = m.Up(ctx, schema.Contract, nil)
	require.ErrorIs(t, err, schema.ErrContractRefused)
	assert.ErrorContains(t, err, "n2 still runs app##001")
	cols, _ = columns(ctx, primary, f.env.DB.Name, f.prefix+"_users")
	assert.Equal(t, "id,name,email", cols)

	m = f.migrator(t) // gate open
	plan, err = m.Plan(ctx, schema.Expand)
	require.NoError(t, err)
	assert.Empty(t, plan, "expand is fully applied")
	res, err = m.Up(ctx, schema.Contract, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"001_drop_name.sql"}, resultNames(res))
	cols, _ = columns(ctx, primary, f.env.DB.Name, f.prefix+"_users")
	assert.Equal(t, "id,email", cols)

	// The journal records everything.
	j := f.journal(t, primary)
	require.Len(t, j, 4)
	for _, e := range j {
		assert.NotEmpty(t, e["finished_at"], e["name"])
		assert.Empty(t, e["error"])
		assert.Equal(t, "tester", e["applied_by"])
		assert.Equal(t, "test-host", e["applied_from"])
		data, err := os.ReadFile(filepath.Join(f.dir, e["phase"], e["name"]))
		require.NoError(t, err)
		sum := sha256.Sum256(data)
		assert.Equal(t, hex.EncodeToString(sum[:]), e["checksum"])
	}
	st, err := m.Status(ctx)
	require.NoError(t, err)
	require.NoError(t, st.WriterErr)
	assert.Empty(t, st.Dirty)
	for _, ps := range st.Phases {
		assert.Empty(t, ps.Pending(), ps.Phase)
		for _, it := range ps.Items {
			assert.Equal(t, schema.StateApplied, it.State, it.Name)
		}
	}

	// Replication carries the changes to the replica.
	replica := f.direct(t, "db2")
	err = wait.Until(ctx, 200*time.Millisecond, 60*time.Second, "the replica to have the new schema", func(ctx context.Context) (bool, error) {
		cols, err := columns(ctx, replica, f.env.DB.Name, f.prefix+"_users")
		return err == nil && cols == "id,email", wait.Reason(err)
	})
	require.NoError(t, err)
	var ro, id int
	require.NoError(t, replica.QueryRow("SELECT @@read_only, @@server_id").Scan(&ro, &id))
	assert.Equal(t, [2]int{1, 2}, [2]int{ro, id}, "the check above must have read the read-only replica")
	require.NoError(t, wait.Until(ctx, 200*time.Millisecond, 60*time.Second, "the replica to have the journal", func(ctx context.Context) (bool, error) {
		var n int
		err := replica.QueryRowContext(ctx, "SELECT COUNT(*) FROM `"+f.prefix+"_journal` WHERE finished_at IS NOT NULL").Scan(&n)
		return n == 4, wait.Reason(err)
	}))
}
