// Package deployertest is an in-memory cluster for tests of the release engine and the
// commands built on it: Tomcat Managers, a load balancer and a prober that share one state and
// record every change in order, so a test can check what was done and what never was.
package deployertest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// Cluster is the shared state. Tests may set its exported fields before the code under test
// runs; read it afterwards through Versions, Changes and State.
type Cluster struct {
	mu sync.Mutex
	// Apps maps node -> version -> the application of /app.
	Apps map[string]map[string]*tomcatmgr.App
	// States is the load balancer's state of each node.
	States map[string]lb.State
	// Health is the status the health page answers on a node while its newest version runs
	// beside an older one, as when a new WAR is broken (default, and otherwise: 200).
	Health map[string]int
	// Plain marks nodes whose newest version's session manager is a StandardManager (not
	// clustered) while it runs beside an older one.
	Plain map[string]bool
	// NoState marks nodes where a version started without a state transfer.
	NoState map[string]bool
	// FailNext makes the next call of an operation fail once: "list n2", "deploy n1", "apply",
	// "states".
	FailNext map[string]error
	// OnDeploy, when set, is called at the start of every Deploy with the node.
	OnDeploy func(node string)
	// Sessions maps node -> version -> session id -> last-accessed time (see sessions.go).
	Sessions map[string]map[string]map[string]time.Time
	// NoResync marks nodes whose ResyncSessions changes nothing (the transfer timed out).
	NoResync map[string]bool
	// Members, when set, is the cluster membership by age, oldest first: Managers then answer
	// ClusterMembers, and a version deployed to a node takes its sessions from the oldest other
	// member, as DeltaManager does; when that member does not run the version, the new context
	// starts empty with noContextManagerReceived (see members.go).
	Members []string
	// noContext is node -> version -> started without a context manager on the oldest member.
	noContext map[string]map[string]bool
	log       []string
}

// New returns a cluster of nodes that all run the given versions of /app, every node in rotation.
func New(nodes []string, versions ...string) *Cluster {
	c := &Cluster{Apps: map[string]map[string]*tomcatmgr.App{}, States: map[string]lb.State{},
		Health: map[string]int{}, Plain: map[string]bool{}, NoState: map[string]bool{}, FailNext: map[string]error{},
		NoResync: map[string]bool{}}
	for _, n := range nodes {
		c.Apps[n] = map[string]*tomcatmgr.App{}
		for _, v := range versions {
			c.Apps[n][v] = &tomcatmgr.App{Context: tomcatmgr.Context{Path: "/app", Version: v}, State: tomcatmgr.StateRunning}
		}
		c.States[n] = lb.State{Weight: 1}
	}
	return c
}

func (c *Cluster) record(format string, args ...any) {
	c.log = append(c.log, fmt.Sprintf(format, args...))
}

func (c *Cluster) fail(op string) error {
	if err, ok := c.FailNext[op]; ok {
		delete(c.FailNext, op)
		return err
	}
	return nil
}

// Changes returns the changes so far, in order: "deploy n1 002", "stop n1 002",
// "undeploy n1 002", "route in:[n3] out:[n1 n2]".
func (c *Cluster) Changes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.log...)
}

// Versions returns the versions on node, sorted.
func (c *Cluster) Versions(node string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for v := range c.Apps[node] {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// State returns the load balancer's state of node.
func (c *Cluster) State(node string) lb.State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.States[node]
}

// SetSessions sets the session count of a version on a node, and gives the node that many
// session ids of the version (S0, S1...: the same ids on every node, as replication would).
func (c *Cluster) SetSessions(node, version string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Apps[node][version].Sessions = n
	ids := c.sessionsOf(node, version)
	for i := 0; i < n; i++ {
		if id := fmt.Sprintf("S%d", i); !hasID(ids, id) {
			ids[id] = time.Time{}
		}
	}
}

func hasID(ids map[string]time.Time, id string) bool {
	_, ok := ids[id]
	return ok
}

// Manager returns node's Tomcat Manager.
func (c *Cluster) Manager(node string) *Manager { return &Manager{c: c, node: node} }

// Router returns the load balancer.
func (c *Cluster) Router() *Router { return &Router{c: c} }

// Prober returns the prober of the nodes' pages; node URLs must be "http://<node>".
func (c *Cluster) Prober() *Prober { return &Prober{c: c} }

// Manager is one node's Tomcat Manager (it implements deployer.Manager, and Stop).
type Manager struct {
	c    *Cluster
	node string
}

// List returns the node's applications.
func (m *Manager) List(context.Context) ([]tomcatmgr.App, error) {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	if err := m.c.fail("list " + m.node); err != nil {
		return nil, err
	}
	var out []tomcatmgr.App
	for _, a := range m.c.Apps[m.node] {
		out = append(out, *a)
	}
	return out, nil
}

// Deploy adds the version, running.
func (m *Manager) Deploy(ctx context.Context, cx tomcatmgr.Context, _ string, progress func(int64, int64)) error {
	if m.c.OnDeploy != nil {
		m.c.OnDeploy(m.node)
	}
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := m.c.fail("deploy " + m.node); err != nil {
		return err
	}
	if _, ok := m.c.Apps[m.node][cx.Version]; ok {
		return tomcatmgr.ErrAlreadyExists
	}
	m.c.Apps[m.node][cx.Version] = &tomcatmgr.App{Context: cx, State: tomcatmgr.StateRunning}
	m.c.transferState(m.node, cx.Version)
	m.c.record("deploy %s %s", m.node, cx.Version)
	if progress != nil {
		progress(10, 10)
	}
	return nil
}

// Stop stops the version; its sessions are gone.
func (m *Manager) Stop(_ context.Context, cx tomcatmgr.Context) error {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	a, ok := m.c.Apps[m.node][cx.Version]
	if !ok {
		return tomcatmgr.ErrNotFound
	}
	a.State, a.Sessions = tomcatmgr.StateStopped, 0
	m.c.record("stop %s %s", m.node, cx.Version)
	return nil
}

// Undeploy removes the version.
func (m *Manager) Undeploy(_ context.Context, cx tomcatmgr.Context) error {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	if _, ok := m.c.Apps[m.node][cx.Version]; !ok {
		return tomcatmgr.ErrNotFound
	}
	delete(m.c.Apps[m.node], cx.Version)
	m.c.record("undeploy %s %s", m.node, cx.Version)
	return nil
}

// SessionManager is a DeltaManager that received its state, unless Plain or NoState say otherwise.
func (m *Manager) SessionManager(_ context.Context, cx tomcatmgr.Context) (tomcatmgr.SessionManager, error) {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	if m.c.Plain[m.node] && m.c.isNew(m.node, cx.Version) {
		return tomcatmgr.SessionManager{ClassName: "org.apache.catalina.session.StandardManager"}, nil
	}
	noContext := m.c.noContext[m.node][cx.Version]
	return tomcatmgr.SessionManager{ClassName: "org.apache.catalina.ha.session.DeltaManager", Clustered: true,
		StateTransferred: !m.c.NoState[m.node] && !noContext, NoContextManagerReceived: noContext}, nil
}

// HasSession finds every session (replication always works here).
func (m *Manager) HasSession(context.Context, tomcatmgr.Context, string) (bool, error) {
	return true, nil
}

// ExpireSession does nothing.
func (m *Manager) ExpireSession(context.Context, tomcatmgr.Context, string) error { return nil }

// Expire ends every session of the version on every node and returns how many there were.
func (m *Manager) Expire(_ context.Context, cx tomcatmgr.Context, _ int) (tomcatmgr.SessionStats, error) {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	n := 0
	for _, apps := range m.c.Apps {
		if a, ok := apps[cx.Version]; ok {
			n = max(n, a.Sessions)
			a.Sessions = 0
		}
	}
	return tomcatmgr.SessionStats{Expired: n}, nil
}

// Router is the load balancer (it implements lb.Balancer).
type Router struct{ c *Cluster }

// States returns every node's state.
func (r *Router) States(context.Context) (map[string]lb.State, error) {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	if err := r.c.fail("states"); err != nil {
		return nil, err
	}
	out := map[string]lb.State{}
	for k, v := range r.c.States {
		out[k] = v
	}
	return out, nil
}

// Apply sets the states and records "route in:[..] out:[..]".
func (r *Router) Apply(_ context.Context, states map[string]lb.State) error {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	if err := r.c.fail("apply"); err != nil {
		return err
	}
	var in, out []string
	for _, n := range lb.SortedNodes(states) {
		r.c.States[n] = states[n]
		if states[n].Down {
			out = append(out, n)
		} else {
			in = append(in, n)
		}
	}
	r.c.record("route in:%v out:%v", in, out)
	return nil
}

// Verify always confirms.
func (r *Router) Verify(context.Context, map[string]lb.State) error { return nil }

// WeightRange is Nginx's.
func (r *Router) WeightRange() (int, int) { return 1, 1000 }

// Prober answers health pages from Cluster.Health and creates a probe session.
type Prober struct{ c *Cluster }

// Health returns the node's health status (the node is the URL's host).
func (p *Prober) Health(_ context.Context, url string) (int, error) {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	host, _, _ := strings.Cut(strings.TrimPrefix(url, "http://"), "/")
	if code, ok := p.c.Health[host]; ok && p.c.isNew(host, p.c.newest(host)) {
		return code, nil
	}
	return 200, nil
}

// NewSession returns a probe session id.
func (p *Prober) NewSession(context.Context, string) (string, error) { return "PROBE.n1", nil }
