//go:build integration

package deployer_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/connect"
	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/testenv"
	"github.com/saitodrom/zdd/testenv/testenvtest"
	"github.com/saitodrom/zdd/tomcatmgr"
	"github.com/saitodrom/zdd/watch"
)

// fixture is the engine wired to testenv, with a clean application state.
type fixture struct {
	env     *testenv.Env
	cfg     *config.Config
	cluster *connect.Cluster
	events  []deployer.Event
	mu      sync.Mutex
	t       *testing.T
}

func newFixture(t *testing.T, mode testenv.Mode) *fixture {
	env := testenvtest.Require(t)
	ctx := context.Background()
	if mode != env.Mode {
		var err error
		env, err = testenv.Up(ctx, testenv.Options{Dir: env.Dir, Mode: mode})
		require.NoError(t, err)
		t.Cleanup(func() {
			_, err := testenv.Up(ctx, testenv.Options{Dir: env.Dir, Mode: testenv.RoundRobin})
			assert.NoError(t, err)
		})
	}
	b, err := os.ReadFile(env.ConfigFile)
	require.NoError(t, err)
	cfg, err := config.ParseYAML(b, env.ConfigFile)
	require.NoError(t, err)
	require.Empty(t, cfg.ReadSecretFiles())
	cfg.State.Dir = t.TempDir()
	cluster, err := connect.Dial(ctx, cfg, connect.Options{})
	require.NoError(t, err)
	f := &fixture{env: env, cfg: cfg, cluster: cluster, t: t}
	f.clean(t)
	t.Cleanup(func() { f.clean(t); cluster.Close() })
	return f
}

// clean undeploys every version of the application and puts every node in rotation.
func (f *fixture) clean(t *testing.T) {
	ctx := context.Background()
	for name, m := range f.cluster.Managers {
		apps, err := m.List(ctx)
		require.NoError(t, err)
		for _, a := range apps {
			if a.Path == "/"+f.env.App {
				require.NoError(t, m.Undeploy(ctx, a.Context), "undeploy %s on %s", a.Name(), name)
			}
		}
	}
	all := map[string]lb.State{}
	for _, n := range f.env.Nodes {
		all[n.Name] = lb.State{Weight: 1}
	}
	require.NoError(t, f.cluster.Router.Apply(ctx, all))
}

func (f *fixture) war(t *testing.T, opts testenv.WAROptions) plan.WARInfo {
	path := filepath.Join(t.TempDir(), "app-"+opts.Version+".war")
	file, err := os.Create(path)
	require.NoError(t, err)
	h := sha256.New()
	require.NoError(t, testenv.BuildWAR(io.MultiWriter(file, h), opts))
	require.NoError(t, file.Close())
	st, err := os.Stat(path)
	require.NoError(t, err)
	return plan.WARInfo{Path: path, SHA256: hex.EncodeToString(h.Sum(nil)), Size: st.Size()}
}

func (f *fixture) engine(spec *plan.Spec) *deployer.Engine {
	return &deployer.Engine{Spec: spec, Managers: f.cluster.Managers, Router: f.cluster.Router,
		Prober: deployer.NewHTTPProber(5 * time.Second), Journal: &state.Journal{Dir: f.cfg.State.Dir},
		Sink: deployer.SinkFunc(func(e deployer.Event) {
			if e.Type != deployer.EventProgress {
				f.t.Log(deployer.FormatText(e))
			}
			f.mu.Lock()
			f.events = append(f.events, e)
			f.mu.Unlock()
		})}
}

// release plans and runs one release of the sample WAR built with opts.
func (f *fixture) release(t *testing.T, spec *plan.Spec, opts testenv.WAROptions) error {
	ctx := context.Background()
	e := f.engine(spec)
	st, err := e.Observe(ctx)
	require.NoError(t, err)
	plan, err := plan.BuildPlan(spec, st, opts.Version, f.war(t, opts))
	require.NoError(t, err)
	t.Logf("plan:\n%s", plan.Render(spec.NodeNames(), spec.CanarySize))
	t0 := time.Now()
	err = e.Start(ctx, plan, state.Lease{Holder: "test", Host: "localhost", Command: t.Name()})
	t.Logf("release %s: %v in %s", opts.Version, err, time.Since(t0).Round(time.Millisecond))
	return err
}

// underLoad runs fn while session-keeping users send requests through both load balancers.
func (f *fixture) underLoad(t *testing.T, fn func()) *watch.Report {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *watch.Report)
	go func() {
		done <- watch.Run(ctx, watch.Options{URLs: []string{f.env.LBs[0].URL + "/app/", f.env.LBs[1].URL + "/app/"}, Users: 20})
	}()
	// Let the users establish sessions first.
	time.Sleep(2 * time.Second)
	fn()
	time.Sleep(2 * time.Second)
	cancel()
	r := <-done
	t.Logf("load: %s", r)
	for _, fl := range r.Failures {
		t.Logf("  %s user %d: %s", fl.At.Round(time.Millisecond), fl.User, fl.What)
	}
	return r
}

func spec(f *fixture) *plan.Spec {
	s := connect.Spec(f.cfg)
	s.NoDrain = true
	return s
}

func testReleases(t *testing.T, mode testenv.Mode) {
	f := newFixture(t, mode)
	require.NoError(t, f.release(t, spec(f), testenv.WAROptions{Version: "001"}), "first release")
	r := f.underLoad(t, func() {
		require.NoError(t, f.release(t, spec(f), testenv.WAROptions{Version: "002"}))
		require.NoError(t, f.release(t, spec(f), testenv.WAROptions{Version: "003"}))
	})
	assert.Equal(t, 0, r.Failed, "failed requests")
	assert.Equal(t, 0, r.LostSessions, "lost sessions")
	assert.Positive(t, r.NewSessionVersions["003"], "new sessions must reach 003")

	// Drain with the load stopped: the old versions' sessions are expired at the deadline.
	s := spec(f)
	s.DrainTimeout, s.ExpireAtDrainDeadline = 3*time.Second, true
	e := f.engine(s)
	rel := &state.Release{Plan: plan.Plan{App: "app", From: []string{"001", "002"}, To: "003",
		Steps: plan.DrainSteps(s, []string{"001", "002"})}, Steps: make([]state.StepRecord, 2)}
	require.NoError(t, e.Continue(context.Background(), rel))
	st, err := e.Observe(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"003"}, st.Versions(), "only 003 remains after the drain")
}

func TestReleaseUnderLoadRoundRobin(t *testing.T) { testReleases(t, testenv.RoundRobin) }

func TestReleaseUnderLoadSticky(t *testing.T) { testReleases(t, testenv.Sticky) }

func TestFailingHealthRollsBack(t *testing.T) {
	f := newFixture(t, testenv.RoundRobin)
	require.NoError(t, f.release(t, spec(f), testenv.WAROptions{Version: "001"}))
	var err error
	r := f.underLoad(t, func() {
		s := spec(f)
		s.HealthTimeout = 3 * time.Second
		err = f.release(t, s, testenv.WAROptions{Version: "002", FailHealth: true})
	})
	require.ErrorIs(t, err, outcome.ErrRolledBack)
	assert.Equal(t, 3, outcome.Code(err))
	var gate *deployer.GateError
	require.ErrorAs(t, err, &gate)
	assert.Equal(t, "health", gate.Check)
	assert.Equal(t, 0, r.Failed, "failed requests")
	assert.Equal(t, 0, r.LostSessions, "lost sessions")
	f.assertOnly(t, "001")
}

func TestNotDistributableStopsAtGate(t *testing.T) {
	f := newFixture(t, testenv.RoundRobin)
	require.NoError(t, f.release(t, spec(f), testenv.WAROptions{Version: "001"}))
	err := f.release(t, spec(f), testenv.WAROptions{Version: "002", NotDistributable: true})
	require.ErrorIs(t, err, outcome.ErrRolledBack)
	var gate *deployer.GateError
	require.ErrorAs(t, err, &gate)
	assert.Equal(t, "clustered", gate.Check)
	f.assertOnly(t, "001")
}

func TestPauseThenPromote(t *testing.T) {
	f := newFixture(t, testenv.RoundRobin)
	require.NoError(t, f.release(t, spec(f), testenv.WAROptions{Version: "001"}))
	s := spec(f)
	s.PauseAfterCanary = true
	err := f.release(t, s, testenv.WAROptions{Version: "002"})
	require.ErrorIs(t, err, outcome.ErrPaused)
	assert.Equal(t, 7, outcome.Code(err))
	e := f.engine(s)
	rel, err := e.Journal.Current()
	require.NoError(t, err)
	require.Equal(t, state.StatusPaused, rel.Status)
	require.NoError(t, e.Continue(context.Background(), rel))
	st, err := e.Observe(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"001", "002"}, st.Versions())
	states, err := f.cluster.Router.States(context.Background())
	require.NoError(t, err)
	for _, n := range f.env.Nodes {
		assert.False(t, states[n.Name].Down, "%s must be back in rotation", n.Name)
	}
}

// assertOnly checks that every node runs exactly version v and is in rotation.
func (f *fixture) assertOnly(t *testing.T, v string) {
	ctx := context.Background()
	for name, m := range f.cluster.Managers {
		apps, err := m.List(ctx)
		require.NoError(t, err)
		var got []string
		for _, a := range apps {
			if a.Path == "/app" {
				got = append(got, a.Version)
				assert.Equal(t, tomcatmgr.StateRunning, a.State)
			}
		}
		assert.Equal(t, []string{v}, got, "versions on %s", name)
	}
	states, err := f.cluster.Router.States(ctx)
	require.NoError(t, err)
	for _, n := range f.env.Nodes {
		assert.False(t, states[n.Name].Down, "%s must be in rotation", n.Name)
	}
}
