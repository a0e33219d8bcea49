package deployertest

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/saitodrom/zdd/tomcatmgr"
)

// ClusterMembers returns the other members of Cluster.Members, oldest first, each node at
// 127.0.0.1:4000+its position in Members; an error when Members is not set (membership
// unknown), like a node whose cluster channel cannot be read.
func (m *Manager) ClusterMembers(ctx context.Context) ([]tomcatmgr.Member, error) {
	var out []tomcatmgr.Member
	err := m.do(ctx, ClusterMembers, nil, func() error {
		if m.c.Members == nil {
			return errors.New("deployertest: no membership set")
		}
		for i, n := range m.c.Members {
			if n != m.node {
				out = append(out, tomcatmgr.Member{Host: "127.0.0.1", Port: 4000 + i})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// transferState gives version on node the sessions a DeltaManager receives at start: with
// Members set, those of the oldest other member, or none, marked noContextManagerReceived, when
// that member does not run the version (the NOCONTEXTMANAGER answer); without Members, those of
// the first other node (by name) running it; none for a NoState node. c.mu must be held.
func (c *Cluster) transferState(node, version string) {
	delete(c.noContext[node], version)
	if c.NoState[node] {
		return
	}
	from := ""
	if c.Members != nil {
		i := slices.IndexFunc(c.Members, func(n string) bool { return n != node })
		if i < 0 {
			return
		}
		from = c.Members[i]
		if !c.runs(from, version) {
			if c.noContext == nil {
				c.noContext = map[string]map[string]bool{}
			}
			if c.noContext[node] == nil {
				c.noContext[node] = map[string]bool{}
			}
			c.noContext[node][version] = true
			return
		}
	} else {
		nodes := slices.Sorted(maps.Keys(c.Apps))
		i := slices.IndexFunc(nodes, func(n string) bool { return n != node && c.runs(n, version) })
		if i < 0 {
			return
		}
		from = nodes[i]
	}
	mine := c.sessionsOf(node, version)
	for id, at := range c.sessionsOf(from, version) {
		mine[id] = at
	}
}

// runs tells whether version runs on node; c.mu must be held.
func (c *Cluster) runs(node, version string) bool {
	a, ok := c.Apps[node][version]
	return ok && a.State == tomcatmgr.StateRunning
}
