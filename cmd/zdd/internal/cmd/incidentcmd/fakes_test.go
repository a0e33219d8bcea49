package incidentcmd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/testenv"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// fakeCluster is an in-memory cluster of nodes running versions of /app behind one load
// balancer. It records every change in order (deploy, stop, undeploy, route).
type fakeCluster struct {
	mu     sync.Mutex
	apps   map[string]map[string]*tomcatmgr.App // node -> version -> app
	states map[string]lb.State
	log    []string
}

func newFakeCluster(nodes []string, versions ...string) *fakeCluster {
	c := &fakeCluster{apps: map[string]map[string]*tomcatmgr.App{}, states: map[string]lb.State{}}
	for _, n := range nodes {
		c.apps[n] = map[string]*tomcatmgr.App{}
		for _, v := range versions {
			c.apps[n][v] = &tomcatmgr.App{Context: tomcatmgr.Context{Path: "/app", Version: v}, State: tomcatmgr.StateRunning}
		}
		c.states[n] = lb.State{Weight: 1}
	}
	return c
}

func (c *fakeCluster) record(format string, args ...any) {
	c.log = append(c.log, fmt.Sprintf(format, args...))
}

// versions returns the versions on node, sorted.
func (c *fakeCluster) versions(node string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for v := range c.apps[node] {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// changes returns a copy of the change log.
func (c *fakeCluster) changes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.log...)
}

func (c *fakeCluster) setSessions(node, version string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.apps[node][version].Sessions = n
}

// fakeManager is one node's Manager; it also implements Stop, used by `zdd rollback --hard`.
type fakeManager struct {
	c    *fakeCluster
	node string
}

func (m fakeManager) List(ctx context.Context) ([]tomcatmgr.App, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	var out []tomcatmgr.App
	for _, a := range m.c.apps[m.node] {
		out = append(out, *a)
	}
	return out, nil
}

func (m fakeManager) Deploy(ctx context.Context, cx tomcatmgr.Context, war string, progress func(int64, int64)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := os.Stat(war); err != nil {
		return err
	}
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	if _, ok := m.c.apps[m.node][cx.Version]; ok {
		return tomcatmgr.ErrAlreadyExists
	}
	m.c.apps[m.node][cx.Version] = &tomcatmgr.App{Context: cx, State: tomcatmgr.StateRunning}
	m.c.record("deploy %s %s", m.node, cx.Version)
	if progress != nil {
		progress(10, 10)
	}
	return nil
}

func (m fakeManager) Stop(_ context.Context, cx tomcatmgr.Context) error {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	a, ok := m.c.apps[m.node][cx.Version]
	if !ok {
		return tomcatmgr.ErrNotFound
	}
	a.State, a.Sessions = tomcatmgr.StateStopped, 0
	m.c.record("stop %s %s", m.node, cx.Version)
	return nil
}

func (m fakeManager) Undeploy(_ context.Context, cx tomcatmgr.Context) error {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	if _, ok := m.c.apps[m.node][cx.Version]; !ok {
		return tomcatmgr.ErrNotFound
	}
	delete(m.c.apps[m.node], cx.Version)
	m.c.record("undeploy %s %s", m.node, cx.Version)
	return nil
}

func (m fakeManager) SessionManager(context.Context, tomcatmgr.Context) (tomcatmgr.SessionManager, error) {
	return tomcatmgr.SessionManager{ClassName: "org.apache.catalina.ha.session.DeltaManager", Clustered: true, StateTransferred: true}, nil
}

func (m fakeManager) HasSession(context.Context, tomcatmgr.Context, string) (bool, error) {
	return true, nil
}

func (m fakeManager) ExpireSession(context.Context, tomcatmgr.Context, string) error { return nil }

func (m fakeManager) Expire(context.Context, tomcatmgr.Context, int) (tomcatmgr.SessionStats, error) {
	return tomcatmgr.SessionStats{}, nil
}

// fakeRouter is the load balancer of a fakeCluster.
type fakeRouter struct{ c *fakeCluster }

func (r fakeRouter) States(context.Context) (map[string]lb.State, error) {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	out := map[string]lb.State{}
	for k, v := range r.c.states {
		out[k] = v
	}
	return out, nil
}

func (r fakeRouter) Apply(_ context.Context, states map[string]lb.State) error {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	var in, out []string
	for _, n := range lb.SortedNodes(states) {
		r.c.states[n] = states[n]
		if states[n].Down {
			out = append(out, n)
		} else {
			in = append(in, n)
		}
	}
	r.c.record("route in:%v out:%v", in, out)
	return nil
}

func (r fakeRouter) Verify(context.Context, map[string]lb.State) error { return nil }

func (r fakeRouter) WeightRange() (int, int) { return 1, 1000 }

type fakeProber struct{}

func (fakeProber) Health(context.Context, string) (int, error)        { return 200, nil }
func (fakeProber) NewSession(context.Context, string) (string, error) { return "probe.n1", nil }

var nodes = []string{"n1", "n2", "n3"}

// world is a fake cluster of three nodes, a state directory and test streams.
type world struct {
	cfg      *config.Config
	spec     *deployer.Spec
	cluster  *fakeCluster
	dials    int
	io       *iostreams.IOStreams
	in       interface{ WriteString(string) (int, error) }
	out, err interface{ String() string }
}

func newWorld(t *testing.T, versions ...string) *world {
	cfg := config.Default()
	cfg.State.Dir = t.TempDir()
	w := &world{cfg: &cfg, cluster: newFakeCluster(nodes, versions...),
		spec: &deployer.Spec{App: "app", HealthPath: "/health.jsp", VersionWidth: 3, CanarySize: 1,
			HealthTimeout: time.Second, ReplicationTimeout: time.Second, DrainTimeout: time.Second}}
	for _, n := range nodes {
		w.spec.Nodes = append(w.spec.Nodes, deployer.NodeSpec{Name: n, URL: "http://" + n, Weight: 1})
	}
	w.reset()
	return w
}

// reset gives the world new, empty streams.
func (w *world) reset() {
	streams, in, out, errOut := iostreams.Test()
	w.io, w.in, w.out, w.err = streams, in, out, errOut
}

func (w *world) deps() Deps {
	return Deps{IO: w.io, Config: func() (*config.Config, error) { return w.cfg, nil }, Output: "text",
		Dial: func(context.Context, *config.Config) (*Cluster, error) {
			w.dials++
			ms := map[string]deployer.Manager{}
			for _, n := range nodes {
				ms[n] = fakeManager{c: w.cluster, node: n}
			}
			return &Cluster{Spec: w.spec, Managers: ms, Router: fakeRouter{c: w.cluster}, Prober: fakeProber{}}, nil
		},
		Who: deployer.Lease{Holder: "tester", Host: "here", PID: 1, Command: "zdd rollback"}}
}

func (w *world) journal() *deployer.Journal { return &deployer.Journal{Dir: w.cfg.State.Dir} }

func (w *world) history(t *testing.T) []deployer.HistoryEntry {
	h, err := w.journal().History()
	require.NoError(t, err)
	return h
}

// released records in the journal a completed release of version with the WAR checksum sha,
// started d ago.
func (w *world) released(t *testing.T, from []string, version, sha string, d time.Duration) {
	start := time.Now().Add(-d).UTC()
	rel := &deployer.Release{ID: version + "-" + start.Format("20060102T150405Z"), Command: "zdd deploy app.war",
		Holder: "alice", Host: "ci", Started: start, Status: deployer.StatusDone,
		Plan: deployer.Plan{App: "app", From: from, To: version, SHA256: sha}}
	j := w.journal()
	require.NoError(t, j.Save(rel))
	require.NoError(t, j.AppendHistory(rel))
}

// storeWAR puts the sample WAR of version into the release store and returns its checksum.
func (w *world) storeWAR(t *testing.T, version string) string {
	src := filepath.Join(t.TempDir(), "app.war")
	f, err := os.Create(src)
	require.NoError(t, err)
	require.NoError(t, testenv.BuildWAR(f, testenv.WAROptions{Version: version}))
	require.NoError(t, f.Close())
	info, err := deployer.NewStore(w.cfg.State.Dir).Put(src)
	require.NoError(t, err)
	return info.SHA256
}

// writeLease writes the lease file as a holder would.
func (w *world) writeLease(t *testing.T, l deployer.Lease) {
	b, err := json.Marshal(l)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(w.cfg.State.Dir, "lock.json"), b, 0o644))
}

func (w *world) lockFile() string { return filepath.Join(w.cfg.State.Dir, "lock.json") }
