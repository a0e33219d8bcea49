// Package deployertest is the one in-memory cluster for tests of the release engine, the
// commands built on it and the benchmark's simulator: Tomcat Managers, a load balancer, a
// prober and a database writer check that share one state and record every change in order, so
// a test can check what was done and what never was.
//
// Each fake obeys the contract of its seam as the real adapter does (deployer.Manager as
// tomcatmgr.Client on Tomcat 10.1, lb.Balancer as lb/nginx, deployer.Prober as
// deployer.HTTPProber, schema.WriterSource as HAProxy's active server): the conformance suites
// of deployertest/conformance run the same cases against both. A failure can be injected into
// every method (FailNext, Fail, HangNext with an Op).
package deployertest

import (
	"fmt"
	"sort"
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
	// NoReplication marks nodes that a new session never reaches (a broken cluster channel):
	// Prober.NewSession creates its session on every other node running the version.
	NoReplication map[string]bool
	// ActiveServer is the database server the writer check names as HAProxy's active one
	// (New: "db1"; "": none is up).
	ActiveServer string
	// noContext is node -> version -> started without a context manager on the oldest member.
	noContext map[string]map[string]bool
	faults    map[faultKey]fault
	probes    int
	log       []string
}

// New returns a cluster of nodes that all run the given versions of /app, every node in rotation.
func New(nodes []string, versions ...string) *Cluster {
	c := &Cluster{Apps: map[string]map[string]*tomcatmgr.App{}, States: map[string]lb.State{},
		Health: map[string]int{}, Plain: map[string]bool{}, NoState: map[string]bool{},
		NoResync: map[string]bool{}, NoReplication: map[string]bool{}, ActiveServer: "db1"}
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

// Changes returns the changes so far, in order: "deploy n1 002", "stop n1 002",
// "undeploy n1 002", "route in:[n3] out:[n1 n2]", "resync n1 002".
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

// Writer returns the database writer check (it implements schema.WriterSource).
func (c *Cluster) Writer() *Writer { return &Writer{c: c} }

// Put makes version of /app run on each of nodes, as a deploy outside zdd (by hand through the
// Manager) would; it is not recorded in Changes.
func (c *Cluster) Put(version string, nodes ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range nodes {
		c.Apps[n][version] = &tomcatmgr.App{Context: tomcatmgr.Context{Path: "/app", Version: version}, State: tomcatmgr.StateRunning}
	}
}
