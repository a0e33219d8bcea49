package deployertest

import (
	"context"
	"sort"
	"time"

	"github.com/saitodrom/zdd/tomcatmgr"
)

// SetSession puts session id of version on each of nodes with last-accessed time at (as
// replication would); a node without the version running is skipped.
func (c *Cluster) SetSession(version, id string, at time.Time, nodes ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range nodes {
		c.sessionsOf(n, version)[id] = at
	}
}

// DropSession removes session id of version from node (as a node that missed its creation).
func (c *Cluster) DropSession(node, version, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.sessionsOf(node, version), id)
}

// sessionsOf returns the session map of version on node, creating it; c.mu must be held.
func (c *Cluster) sessionsOf(node, version string) map[string]time.Time {
	if c.Sessions == nil {
		c.Sessions = map[string]map[string]map[string]time.Time{}
	}
	if c.Sessions[node] == nil {
		c.Sessions[node] = map[string]map[string]time.Time{}
	}
	if c.Sessions[node][version] == nil {
		c.Sessions[node][version] = map[string]time.Time{}
	}
	return c.Sessions[node][version]
}

// deployed tells whether cx is deployed on the node, running or stopped: Tomcat keeps a
// stopped context's session manager (empty, STOPPED); c.mu must be held.
func (m *Manager) deployed(cx tomcatmgr.Context) bool {
	a, ok := m.c.Apps[m.node][cx.Version]
	return ok && a.Context.Path == cx.Path
}

// running tells whether cx runs on the node; c.mu must be held.
func (m *Manager) running(cx tomcatmgr.Context) bool {
	a, ok := m.c.Apps[m.node][cx.Version]
	return ok && a.Context.Path == cx.Path && a.State == tomcatmgr.StateRunning
}

func (m *Manager) noManager(op string, cx tomcatmgr.Context) error {
	return &tomcatmgr.Error{Op: op, Node: m.node, Context: cx.Name(), Message: "no session manager", Kind: tomcatmgr.ErrNotFound}
}

// SessionIDs lists the node's sessions of cx, sorted; ErrNotFound if cx is not deployed there.
func (m *Manager) SessionIDs(ctx context.Context, cx tomcatmgr.Context) ([]string, error) {
	var out []string
	err := m.do(ctx, SessionIDs, &cx, func() error {
		if !m.deployed(cx) {
			return m.noManager("jmx invoke listSessionIds", cx)
		}
		for id := range m.c.sessionsOf(m.node, cx.Version) {
			out = append(out, id)
		}
		sort.Strings(out)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// LastAccessed returns the session's time on the node, truncated to whole seconds as the MBean
// prints it.
func (m *Manager) LastAccessed(ctx context.Context, cx tomcatmgr.Context, id string) (time.Time, bool, error) {
	if err := tomcatmgr.CheckSessionID(id); err != nil {
		return time.Time{}, false, err
	}
	var at time.Time
	var ok bool
	err := m.do(ctx, LastAccessed, &cx, func() error {
		if !m.deployed(cx) {
			return m.noManager("jmx invoke getLastAccessedTime", cx)
		}
		at, ok = m.c.sessionsOf(m.node, cx.Version)[id]
		return nil
	})
	if err != nil {
		return time.Time{}, false, err
	}
	return at.Truncate(time.Second), ok, nil
}

// ResyncSessions replaces the node's sessions of cx with those of the first other node (by
// name) that runs cx, as DeltaManager fetches them from the oldest member; with NoResync it
// changes nothing. It records "resync <node> <version>".
func (m *Manager) ResyncSessions(ctx context.Context, cx tomcatmgr.Context) error {
	return m.do(ctx, ResyncSessions, &cx, func() error {
		if !m.running(cx) {
			return m.noManager("jmx invoke getAllClusterSessions", cx)
		}
		m.c.record("resync %s %s", m.node, cx.Version)
		if m.c.NoResync[m.node] {
			return nil
		}
		var nodes []string
		for n := range m.c.Apps {
			nodes = append(nodes, n)
		}
		sort.Strings(nodes)
		for _, n := range nodes {
			if n != m.node && m.c.runs(n, cx.Version) {
				mine := m.c.sessionsOf(m.node, cx.Version)
				clear(mine)
				for id, at := range m.c.sessionsOf(n, cx.Version) {
					mine[id] = at
				}
				return nil
			}
		}
		return nil
	})
}

// newest returns the newest version running on node ("" for none); c.mu must be held.
func (c *Cluster) newest(node string) string {
	best := ""
	for v, a := range c.Apps[node] {
		if a.State == tomcatmgr.StateRunning && (best == "" || tomcatmgr.CompareVersions(v, best) > 0) {
			best = v
		}
	}
	return best
}

// isNew tells whether version is the newest running on node and runs beside an older one;
// c.mu must be held.
func (c *Cluster) isNew(node, version string) bool {
	n := 0
	for _, a := range c.Apps[node] {
		if a.State == tomcatmgr.StateRunning {
			n++
		}
	}
	return n > 1 && version != "" && c.newest(node) == version
}
