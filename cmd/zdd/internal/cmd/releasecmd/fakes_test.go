package releasecmd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/testenv"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// fakeManager is an in-memory Tomcat Manager: deployed contexts run at once, with no sessions.
type fakeManager struct {
	mu      sync.Mutex
	apps    []tomcatmgr.App
	listErr error
	changes int // deploys and undeploys
}

func (m *fakeManager) List(ctx context.Context) ([]tomcatmgr.App, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.listErr != nil {
		return nil, m.listErr
	}
	return append([]tomcatmgr.App(nil), m.apps...), nil
}

func (m *fakeManager) Deploy(ctx context.Context, cx tomcatmgr.Context, war string, progress func(sent, total int64)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	st, err := os.Stat(war)
	if err != nil {
		return err
	}
	progress(st.Size()/2, st.Size())
	progress(st.Size(), st.Size())
	m.mu.Lock()
	defer m.mu.Unlock()
	m.changes++
	m.apps = append(m.apps, tomcatmgr.App{Context: cx, State: tomcatmgr.StateRunning})
	return nil
}

func (m *fakeManager) Undeploy(ctx context.Context, cx tomcatmgr.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, a := range m.apps {
		if a.Context == cx {
			m.changes++
			m.apps = append(m.apps[:i], m.apps[i+1:]...)
			return nil
		}
	}
	return tomcatmgr.ErrNotFound
}

func (m *fakeManager) SessionManager(context.Context, tomcatmgr.Context) (tomcatmgr.SessionManager, error) {
	return tomcatmgr.SessionManager{ClassName: "org.apache.catalina.ha.session.DeltaManager", Clustered: true, StateTransferred: true}, nil
}

func (m *fakeManager) HasSession(context.Context, tomcatmgr.Context, string) (bool, error) {
	return true, nil
}

func (m *fakeManager) ExpireSession(context.Context, tomcatmgr.Context, string) error { return nil }

func (m *fakeManager) Expire(context.Context, tomcatmgr.Context, int) (tomcatmgr.SessionStats, error) {
	return tomcatmgr.SessionStats{}, nil
}

func (m *fakeManager) versions() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, a := range m.apps {
		out = append(out, a.Version)
	}
	return out
}

// fakeRouter is an in-memory load balancer.
type fakeRouter struct {
	mu      sync.Mutex
	states  map[string]lb.State
	applies int
}

func (r *fakeRouter) States(context.Context) (map[string]lb.State, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]lb.State{}
	for k, v := range r.states {
		out[k] = v
	}
	return out, nil
}

func (r *fakeRouter) Apply(_ context.Context, states map[string]lb.State) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.applies++
	for k, v := range states {
		r.states[k] = v
	}
	return nil
}

func (r *fakeRouter) Verify(context.Context, map[string]lb.State) error { return nil }

func (r *fakeRouter) WeightRange() (int, int) { return 1, 1000 }

type fakeProber struct{}

func (fakeProber) Health(context.Context, string) (int, error)        { return 200, nil }
func (fakeProber) NewSession(context.Context, string) (string, error) { return "probe.n1", nil }

// world is a fake cluster of three nodes with the release commands' dependencies.
type world struct {
	t        *testing.T
	cfg      *config.Config
	spec     *deployer.Spec
	managers map[string]*fakeManager
	router   *fakeRouter
	lbErr    error
	dials    int
	io       *iostreams.IOStreams
	out, err interface{ String() string }
}

func newWorld(t *testing.T) *world {
	cfg := config.Default()
	cfg.State.Dir = t.TempDir()
	w := &world{t: t, cfg: &cfg, managers: map[string]*fakeManager{},
		router: &fakeRouter{states: map[string]lb.State{}},
		spec: &deployer.Spec{App: "app", HealthPath: "/health.jsp", VersionWidth: 3, CanarySize: 2,
			HealthTimeout: 1e9, ReplicationTimeout: 1e9, DrainTimeout: 1e9}}
	for _, n := range []string{"n1", "n2", "n3"} {
		w.managers[n] = &fakeManager{}
		w.router.states[n] = lb.State{Weight: 1}
		w.spec.Nodes = append(w.spec.Nodes, deployer.NodeSpec{Name: n, URL: "http://" + n, Weight: 1})
	}
	w.reset()
	return w
}

// reset gives the world new, empty streams.
func (w *world) reset() {
	streams, _, out, errOut := iostreams.Test()
	w.io, w.out, w.err = streams, out, errOut
}

func (w *world) deps() Deps {
	return Deps{IO: w.io, Config: func() (*config.Config, error) { return w.cfg, nil },
		Dial: func(ctx context.Context, cfg *config.Config) (*Cluster, error) {
			w.dials++
			ms := map[string]deployer.Manager{}
			for k, v := range w.managers {
				ms[k] = v
			}
			return &Cluster{Spec: w.spec, Managers: ms, Router: w.router, Prober: fakeProber{},
				CheckLB:   func(context.Context) error { return w.lbErr },
				FreeSpace: func(string, int64) error { return nil }}, nil
		},
		Who: deployer.Lease{Holder: "tester", Host: "here", PID: 1, Command: "zdd deploy"}}
}

// changes counts the deploys and undeploys on every node and the routing changes.
func (w *world) changes() int {
	n := w.router.applies
	for _, m := range w.managers {
		n += m.changes
	}
	return n
}

func (w *world) versions(node string) []string { return w.managers[node].versions() }

// war builds the sample WAR in a temporary directory.
func war(t *testing.T, version string) string {
	path := filepath.Join(t.TempDir(), "app-"+version+".war")
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, testenv.BuildWAR(f, testenv.WAROptions{Version: version}))
	require.NoError(t, f.Close())
	return path
}

var errBoom = errors.New("boom")
