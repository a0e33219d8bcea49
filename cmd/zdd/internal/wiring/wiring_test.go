package wiring

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/deployertest"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
)

var nodes = []string{"n1", "n2", "n3"}

func testConfig(t *testing.T) *config.Config {
	cfg := config.Default()
	cfg.State.Dir = t.TempDir()
	cfg.Strategy.LockWait = 0
	return &cfg
}

// fakeDial returns a Dial on an in-memory cluster, with m as its Migrator when not nil.
func fakeDial(m deployer.Migrator, dials *int) DialFunc {
	c := deployertest.New(nodes, "001")
	return func(context.Context, *config.Config) (*Cluster, error) {
		*dials++
		spec := &plan.Spec{App: "app", HealthPath: "/health.jsp", VersionWidth: 3, CanarySize: 2}
		ms := map[string]deployer.Manager{}
		for _, n := range nodes {
			ms[n] = c.Manager(n)
			spec.Nodes = append(spec.Nodes, plan.NodeSpec{Name: n, URL: "http://" + n, Weight: 1})
		}
		cl := &Cluster{Spec: spec, Managers: ms, Router: c.Router(), Prober: c.Prober(), Migrator: m,
			CheckLB: func(context.Context) error { return nil }}
		if m != nil {
			cl.CheckDB = func(context.Context) error { return nil }
		}
		return cl, nil
	}
}

func TestDialDatabaseSetsMigratorWhenConfigured(t *testing.T) {
	cfg := testConfig(t)
	c := &Cluster{}
	require.NoError(t, dialDatabase(cfg, c))
	assert.Nil(t, c.Migrator, "no database.dsn: no migrator")
	assert.Nil(t, c.CheckDB)

	cfg.Database.DSN = "zdd@tcp(127.0.0.1:1)/app"
	cfg.Database.HAProxy = config.HAProxy{Address: "tcp://127.0.0.1:1", Backend: "mysql", Servers: map[string]int{"db1": 1}}
	cfg.Migrations.Dir = t.TempDir()
	require.NoError(t, dialDatabase(cfg, c), "building the migrator connects to nothing yet")
	assert.NotNil(t, c.Migrator, "database.dsn set: the engine gets a migrator")
	assert.NotNil(t, c.CheckDB, "and preflight checks the writer")
	assert.NotNil(t, c.DBStatus)
}

func TestStartWiresEverySeam(t *testing.T) {
	for _, withDB := range []bool{false, true} {
		cfg := testConfig(t)
		var m *deployertest.Migrator
		var mig deployer.Migrator
		if withDB {
			m = &deployertest.Migrator{}
			mig = m
		}
		dials := 0
		sink := deployer.SinkFunc(func(deployer.Event) {})
		run, err := Start(context.Background(), cfg, Options{Dial: fakeDial(mig, &dials), Who: state.Lease{Holder: "t", Host: "h", PID: 1}, Sink: sink})
		require.NoError(t, err)
		e := run.Engine
		assert.Equal(t, 1, dials)
		assert.Len(t, e.Managers, 3)
		assert.NotNil(t, e.Router)
		assert.NotNil(t, e.Prober)
		assert.NotNil(t, e.Preflight)
		require.NotNil(t, e.Journal)
		assert.Equal(t, cfg.State.Dir, e.Journal.Dir)
		assert.NotNil(t, e.Store)
		assert.NotNil(t, e.Sink)
		assert.Nil(t, run.Held, "without Lock the engine takes the lease itself")
		if withDB {
			assert.Same(t, m, e.Migrator.(*deployertest.Migrator))
			assert.True(t, e.Spec.Migrations, "plans get their migration steps")
		} else {
			assert.Nil(t, e.Migrator)
			assert.False(t, e.Spec.Migrations)
		}
		run.Close()
	}
}

func TestStartTakesLeaseAndCancelsWhenLost(t *testing.T) {
	cfg := testConfig(t)
	cfg.Strategy.LeaseTTL = 300 * time.Millisecond // renewed (and checked) every 100 ms
	dials := 0
	who := state.Lease{Holder: "alice", Host: "ci", PID: 42, Command: "zdd deploy app.war"}
	run, err := Start(context.Background(), cfg, Options{Dial: fakeDial(nil, &dials), Who: who, Lock: true})
	require.NoError(t, err)
	defer run.Close()
	require.NotNil(t, run.Held)
	l, err := Locker(cfg).Read()
	require.NoError(t, err)
	require.NotNil(t, l)
	assert.Equal(t, "alice", l.Holder)
	assert.Equal(t, run.Held.Lease(), run.Lease(state.Lease{}))

	// A second command waits for the lease (none here: lock_wait 0) and is refused, exit 5.
	_, err = Start(context.Background(), cfg, Options{Dial: fakeDial(nil, &dials), Who: state.Lease{Holder: "bob"}, Lock: true})
	require.Error(t, err)
	assert.Equal(t, 5, outcome.Code(err))
	assert.Contains(t, err.Error(), "alice@ci")

	select {
	case <-run.Ctx.Done():
		t.Fatal("run cancelled while its lease is held")
	case <-time.After(150 * time.Millisecond):
	}
	// `zdd rollback` takes the lease over: the run stops.
	taken, err := Locker(cfg).TakeOver(state.Lease{Holder: "carol", Host: "laptop"}, l)
	require.NoError(t, err)
	defer taken.Release()
	select {
	case <-run.Ctx.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("run not cancelled after its lease was taken over")
	}
}

func TestLockWaitReportsWaitingEvents(t *testing.T) {
	cfg := testConfig(t)
	cfg.Strategy.LockWait = 15 * time.Second // room for the lease's poll interval on a busy machine
	first, err := Lock(context.Background(), cfg, state.Lease{Holder: "alice", Host: "ci"}, nil)
	require.NoError(t, err)
	time.AfterFunc(4500*time.Millisecond, func() { _ = first.Release() })
	var got []deployer.Event
	sink := deployer.SinkFunc(func(e deployer.Event) { got = append(got, e) })
	held, err := Lock(context.Background(), cfg, state.Lease{Holder: "bob", Host: "ci"}, sink)
	require.NoError(t, err, "the lease is free after 4.5 s of the 15 s wait")
	defer held.Release()
	require.NotEmpty(t, got, "a wait of 4.5 s reports (every 4 s)")
	assert.Equal(t, deployer.EventWaiting, got[0].Type)
	assert.Equal(t, "lock", got[0].Kind)
	assert.Contains(t, got[0].Message, "the release lock")
	require.NotNil(t, got[0].Deadline)
}

func TestStartDialFailureChangesNothing(t *testing.T) {
	cfg := testConfig(t)
	boom := outcome.Classify(outcome.ErrPreflight, os.ErrPermission)
	_, err := Start(context.Background(), cfg, Options{Lock: true,
		Dial: func(context.Context, *config.Config) (*Cluster, error) { return nil, boom }})
	require.ErrorIs(t, err, boom)
	_, statErr := os.Stat(filepath.Join(cfg.State.Dir, "lock.json"))
	assert.ErrorIs(t, statErr, os.ErrNotExist, "no lease taken when the cluster cannot be reached")
}
