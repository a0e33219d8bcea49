// Package wiringtest puts deployertest's in-memory cluster behind wiring's Dial seam, for the
// tests of the command packages (releasecmd, incidentcmd): one fake cluster, dialled the way
// wiring.Dial is, counted, with a database or not.
package wiringtest

import (
	"context"
	"time"

	"github.com/saitodrom/zdd/cmd/zdd/internal/wiring"
	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/deployertest"
	"github.com/saitodrom/zdd/deployer/plan"
)

// Cluster is a fake cluster of nodes named in Spec, reached through Dial.
type Cluster struct {
	// Spec is what every dialled cluster carries: app "app", one node spec per node.
	Spec *plan.Spec
	// Fake is the in-memory cluster: its Managers, Router and Prober are the dialled ones.
	Fake *deployertest.Cluster
	// Router is Fake's router (one for the Cluster's life, so its state persists across dials).
	Router *deployertest.Router
	// LBErr is what the dialled cluster's CheckLB returns.
	LBErr error
	// Dials counts the calls to Dial and to the DialFuncs of WithMigrator.
	Dials int
}

// New returns a cluster of nodes running versions (none: empty nodes), whose spec has the
// given canary size and the same timeout for the health, replication and drain waits.
func New(nodes []string, canary int, timeout time.Duration, versions ...string) *Cluster {
	c := &Cluster{Fake: deployertest.New(nodes, versions...),
		Spec: &plan.Spec{App: "app", HealthPath: "/health.jsp", VersionWidth: 3, CanarySize: canary,
			HealthTimeout: timeout, ReplicationTimeout: timeout, DrainTimeout: timeout}}
	c.Router = c.Fake.Router()
	for _, n := range nodes {
		c.Spec.Nodes = append(c.Spec.Nodes, plan.NodeSpec{Name: n, URL: "http://" + n, Weight: 1})
	}
	return c
}

// Dial is a wiring.DialFunc: the fake cluster without a database.
func (c *Cluster) Dial(ctx context.Context, cfg *config.Config) (*wiring.Cluster, error) {
	return c.WithMigrator(nil)(ctx, cfg)
}

// WithMigrator returns a wiring.DialFunc whose clusters have the database m (nil: none).
func (c *Cluster) WithMigrator(m deployer.Migrator) wiring.DialFunc {
	return func(context.Context, *config.Config) (*wiring.Cluster, error) {
		c.Dials++
		ms := map[string]deployer.Manager{}
		for _, n := range c.Spec.Nodes {
			ms[n.Name] = c.Fake.Manager(n.Name)
		}
		return &wiring.Cluster{Spec: c.Spec, Managers: ms, Router: c.Router, Prober: c.Fake.Prober(), Migrator: m,
			CheckLB:   func(context.Context) error { return c.LBErr },
			FreeSpace: func(string, int64) error { return nil }}, nil
	}
}
