package deployer

import (
	"context"
	"slices"

	"github.com/saitodrom/zdd/internal/fanout"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// MemberAge returns the configured nodes ordered by cluster-member age, oldest first, as the
// nodes' own views of the cluster show it, or nil when they cannot tell (a node without a
// ClusterViewer, one that does not answer within SentinelTimeout, views that disagree, or
// fewer than three nodes, whose views hold no order). The order matters when a new version
// reaches nodes that already serve sessions: DeltaManager asks only the oldest other member
// for a new context's sessions, and one that lacks the version answers "no context manager",
// so the new context starts empty (shared/reference/tomcat-facts.md, DeltaManager state
// transfer). A node never lists itself; it is the one address every other view holds and its
// own lacks.
func (e *Engine) MemberAge(ctx context.Context) []string {
	names := e.Spec.NodeNames()
	if len(names) < 3 {
		return nil
	}
	views, failed, ok := e.memberViews(ctx, names)
	if !ok || len(failed) > 0 {
		return nil
	}
	for _, ms := range views {
		if len(ms) != len(names)-1 {
			return nil // a member missing from a view, or one the configuration does not name
		}
	}
	addr := map[string]string{} // node -> its receiver address
	for _, n := range names {
		a, ok := ownAddress(n, names, views)
		if !ok {
			return nil
		}
		addr[n] = a
	}
	rank := map[string]map[string]int{} // viewer -> address -> position (0 = oldest)
	for _, n := range names {
		rank[n] = map[string]int{}
		for i, m := range views[n] {
			rank[n][m.Addr()] = i
		}
	}
	order := slices.Clone(names)
	consistent := true
	slices.SortStableFunc(order, func(a, b string) int {
		// Any third node's view holds both; every such view must agree.
		got := 0
		for _, v := range names {
			if v == a || v == b {
				continue
			}
			c := rank[v][addr[a]] - rank[v][addr[b]]
			if got != 0 && (c < 0) != (got < 0) {
				consistent = false
			}
			got = c
		}
		return got
	})
	if !consistent {
		return nil
	}
	return order
}

// memberViews reads the cluster members each of names sees, all at once, each read bounded by
// SentinelTimeout. failed are the nodes whose read failed, sorted; ok is false (nothing read)
// when a node's Manager is not a ClusterViewer.
func (e *Engine) memberViews(ctx context.Context, names []string) (views map[string][]tomcatmgr.Member, failed []string, ok bool) {
	viewers := map[string]ClusterViewer{}
	for _, n := range names {
		v, isViewer := e.Managers[n].(ClusterViewer)
		if !isViewer {
			return nil, nil, false
		}
		viewers[n] = v
	}
	got, errs := fanout.Each(names, func(n string) ([]tomcatmgr.Member, error) {
		vctx, cancel := context.WithTimeout(ctx, SentinelTimeout)
		defer cancel()
		return viewers[n].ClusterMembers(vctx)
	})
	views = map[string][]tomcatmgr.Member{}
	for i, n := range names {
		if errs[i] != nil {
			failed = append(failed, n)
			continue
		}
		views[n] = got[i]
	}
	slices.Sort(failed)
	return views, failed, true
}

// ownAddress returns the one address that every other node's view lists and node's lacks.
func ownAddress(node string, names []string, views map[string][]tomcatmgr.Member) (string, bool) {
	found := ""
	for _, other := range names {
		if other == node {
			continue
		}
		for _, m := range views[other] {
			a := m.Addr()
			if slices.ContainsFunc(views[node], func(x tomcatmgr.Member) bool { return x.Addr() == a }) {
				continue
			}
			if found != "" && found != a {
				return "", false
			}
			found = a
		}
	}
	return found, found != ""
}
