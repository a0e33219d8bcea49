package deployertest

import (
	"context"
	"errors"
	"slices"

	"github.com/saitodrom/zdd/tomcatmgr"
)

// ClusterMembers returns the other members of Cluster.Members, oldest first, each node at
// 127.0.0.1:4000+its position in Members; an error when Members is not set (membership
// unknown), like a node whose cluster channel cannot be read.
func (m *Manager) ClusterMembers(context.Context) ([]tomcatmgr.Member, error) {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	if m.c.Members == nil {
		return nil, errors.New("deployertest: no membership set")
	}
	var out []tomcatmgr.Member
	for i, n := range m.c.Members {
		if n != m.node {
			out = append(out, tomcatmgr.Member{Host: "127.0.0.1", Port: 4000 + i})
		}
	}
	return out, nil
}

// transferState gives version on node the sessions of the oldest other member, or marks it
// started without them when that member does not run the version (DeltaManager's
// NOCONTEXTMANAGER answer); nothing when Members is not set. c.mu must be held.
func (c *Cluster) transferState(node, version string) {
	delete(c.noContext[node], version)
	i := slices.IndexFunc(c.Members, func(n string) bool { return n != node })
	if i < 0 {
		return
	}
	oldest := c.Members[i]
	if a, ok := c.Apps[oldest][version]; !ok || a.State != tomcatmgr.StateRunning {
		if c.noContext == nil {
			c.noContext = map[string]map[string]bool{}
		}
		if c.noContext[node] == nil {
			c.noContext[node] = map[string]bool{}
		}
		c.noContext[node][version] = true
		return
	}
	mine := c.sessionsOf(node, version)
	for id, at := range c.sessionsOf(oldest, version) {
		mine[id] = at
	}
}
