package deployertest

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/saitodrom/zdd/tomcatmgr"
)

// Prober answers the nodes' pages; it implements deployer.Prober as deployer.HTTPProber does
// against Tomcat (deployertest/conformance checks both). A URL is "http://<node>/<context
// path>/<page>": a node the cluster does not have cannot be reached (an error); a context that
// does not run on the node answers 404; a running one answers 200, except the newest version's
// health page on a Cluster.Health node while it runs beside an older one.
type Prober struct{ c *Cluster }

// page splits url into its node and context path, and tells whether the node exists; c.mu
// must be held.
func (p *Prober) page(url string) (node, path string, ok bool) {
	rest, _ := strings.CutPrefix(url, "http://")
	node, path, _ = strings.Cut(rest, "/")
	path, _, _ = strings.Cut(path, "/")
	_, ok = p.c.Apps[node]
	return node, "/" + path, ok
}

// newestOf returns the newest version of the context at path running on node ("" for none),
// the one Tomcat gives a request without a session; c.mu must be held.
func (c *Cluster) newestOf(node, path string) string {
	best := ""
	for v, a := range c.Apps[node] {
		if a.Context.Path == path && a.State == tomcatmgr.StateRunning && (best == "" || tomcatmgr.CompareVersions(v, best) > 0) {
			best = v
		}
	}
	return best
}

func unreachable(url string) error {
	return fmt.Errorf("GET %s: dial tcp: connect: connection refused", url)
}

// Health returns the page's status.
func (p *Prober) Health(ctx context.Context, url string) (int, error) {
	code := 0
	node, _, _ := p.nodeOf(url)
	err := p.c.call(ctx, Health, node, plainTimeout(Health, node), func() error {
		node, path, ok := p.page(url)
		switch v := p.c.newestOf(node, path); {
		case !ok:
			return unreachable(url)
		case v == "":
			code = 404
		case p.c.isNew(node, v):
			code = 200
			if c, ok := p.c.Health[node]; ok {
				code = c
			}
		default:
			code = 200
		}
		return nil
	})
	return code, err
}

// nodeOf locks c.mu to split url (see page).
func (p *Prober) nodeOf(url string) (string, string, bool) {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	return p.page(url)
}

// NewSession creates a session "PROBE<n>.<node>" in the newest version of the context on the
// node, and replicates it to every other node running that version, except NoReplication
// nodes. An error when the page does not answer 200.
func (p *Prober) NewSession(ctx context.Context, url string) (string, error) {
	id := ""
	node, _, _ := p.nodeOf(url)
	err := p.c.call(ctx, NewSession, node, plainTimeout(NewSession, node), func() error {
		node, path, ok := p.page(url)
		v := p.c.newestOf(node, path)
		switch {
		case !ok:
			return unreachable(url)
		case v == "":
			return fmt.Errorf("GET %s: HTTP 404", url)
		}
		p.c.probes++
		id = fmt.Sprintf("PROBE%d.%s", p.c.probes, node)
		now := time.Now()
		for n := range p.c.Apps {
			if n == node || (p.c.runs(n, v) && !p.c.NoReplication[n]) {
				p.c.sessionsOf(n, v)[id] = now
			}
		}
		return nil
	})
	return id, err
}
