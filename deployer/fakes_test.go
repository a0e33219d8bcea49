package deployer

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// fakeCluster is an in-memory cluster: nodes with versions, and one load balancer. It records
// every change in order, so tests can check what the engine did and never did.
type fakeCluster struct {
	mu       sync.Mutex
	apps     map[string]map[string]*tomcatmgr.App // node -> version -> app
	states   map[string]lb.State
	log      []string
	health   map[string]int  // node -> status of the health page (default 200)
	plain    map[string]bool // node -> version deployed with a StandardManager
	noState  map[string]bool // node -> the version started without a state transfer
	failNext map[string]error
	onDeploy func(node string)
}

func newFakeCluster(nodes []string, versions ...string) *fakeCluster {
	c := &fakeCluster{apps: map[string]map[string]*tomcatmgr.App{}, states: map[string]lb.State{},
		health: map[string]int{}, plain: map[string]bool{}, noState: map[string]bool{}, failNext: map[string]error{}}
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

func (c *fakeCluster) fail(op string) error {
	if err, ok := c.failNext[op]; ok {
		delete(c.failNext, op)
		return err
	}
	return nil
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

// manager is one node's Manager.
type fakeManager struct {
	c    *fakeCluster
	node string
}

func (m fakeManager) List(context.Context) ([]tomcatmgr.App, error) {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	if err := m.c.fail("list " + m.node); err != nil {
		return nil, err
	}
	var out []tomcatmgr.App
	for _, a := range m.c.apps[m.node] {
		out = append(out, *a)
	}
	return out, nil
}

func (m fakeManager) Deploy(ctx context.Context, cx tomcatmgr.Context, war string, progress func(int64, int64)) error {
	if m.c.onDeploy != nil {
		m.c.onDeploy(m.node)
	}
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := m.c.fail("deploy " + m.node); err != nil {
		return err
	}
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

func (m fakeManager) SessionManager(_ context.Context, cx tomcatmgr.Context) (tomcatmgr.SessionManager, error) {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	if m.c.plain[m.node] {
		return tomcatmgr.SessionManager{ClassName: "org.apache.catalina.session.StandardManager"}, nil
	}
	return tomcatmgr.SessionManager{ClassName: "org.apache.catalina.ha.session.DeltaManager", Clustered: true,
		StateTransferred: !m.c.noState[m.node]}, nil
}

func (m fakeManager) HasSession(context.Context, tomcatmgr.Context, string) (bool, error) {
	return true, nil
}

func (m fakeManager) ExpireSession(context.Context, tomcatmgr.Context, string) error { return nil }

func (m fakeManager) Expire(_ context.Context, cx tomcatmgr.Context, _ int) (tomcatmgr.SessionStats, error) {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	n := 0
	for _, apps := range m.c.apps {
		if a, ok := apps[cx.Version]; ok {
			n = max(n, a.Sessions)
			a.Sessions = 0
		}
	}
	return tomcatmgr.SessionStats{Expired: n}, nil
}

// router is the load balancer.
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
	if err := r.c.fail("apply"); err != nil {
		return err
	}
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

// prober answers the health page from the cluster's health map.
type fakeProber struct{ c *fakeCluster }

func (p fakeProber) Health(_ context.Context, url string) (int, error) {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	for node, code := range p.c.health {
		if len(url) > 0 && containsNode(url, node) {
			return code, nil
		}
	}
	return 200, nil
}

func (p fakeProber) NewSession(context.Context, string) (string, error) { return "PROBE.n1", nil }

func containsNode(url, node string) bool {
	return len(url) >= len(node) && fmt.Sprint(url)[7:7+len(node)] == node
}
