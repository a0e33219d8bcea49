package releasecmd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/deployertest"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/testenv"
)

// world is a fake cluster of three nodes (deployertest's, which start empty) with the release
// commands' dependencies.
type world struct {
	t        *testing.T
	cfg      *config.Config
	spec     *plan.Spec
	cluster  *deployertest.Cluster
	router   *deployertest.Router
	lbErr    error
	dials    int
	io       *iostreams.IOStreams
	out, err interface{ String() string }
}

func newWorld(t *testing.T) *world {
	cfg := config.Default()
	cfg.State.Dir = t.TempDir()
	nodes := []string{"n1", "n2", "n3"}
	w := &world{t: t, cfg: &cfg, cluster: deployertest.New(nodes),
		spec: &plan.Spec{App: "app", HealthPath: "/health.jsp", VersionWidth: 3, CanarySize: 2,
			HealthTimeout: 1e9, ReplicationTimeout: 1e9, DrainTimeout: 1e9}}
	w.router = w.cluster.Router()
	for _, n := range nodes {
		w.spec.Nodes = append(w.spec.Nodes, plan.NodeSpec{Name: n, URL: "http://" + n, Weight: 1})
	}
	w.reset()
	return w
}

// reset gives the world new, empty streams.
func (w *world) reset() {
	streams, _, out, errOut := iostreams.Test()
	w.io, w.out, w.err = streams, out, errOut
}

func (w *world) deps() Deps {
	return Deps{IO: w.io, Config: func() (*config.Config, error) { return w.cfg, nil },
		Dial: func(ctx context.Context, cfg *config.Config) (*Cluster, error) {
			w.dials++
			ms := map[string]deployer.Manager{}
			for _, n := range w.spec.Nodes {
				ms[n.Name] = w.cluster.Manager(n.Name)
			}
			return &Cluster{Spec: w.spec, Managers: ms, Router: w.router, Prober: w.cluster.Prober(),
				CheckLB:   func(context.Context) error { return w.lbErr },
				FreeSpace: func(string, int64) error { return nil }}, nil
		},
		Who: state.Lease{Holder: "tester", Host: "here", PID: 1, Command: "zdd deploy"}}
}

// changes counts the changes on every node (deploys, stops, undeploys, resyncs) and the
// routing changes.
func (w *world) changes() int { return len(w.cluster.Changes()) }

func (w *world) versions(node string) []string { return w.cluster.Versions(node) }

// war builds the sample WAR in a temporary directory.
func war(t *testing.T, version string) string {
	path := filepath.Join(t.TempDir(), "app-"+version+".war")
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, testenv.BuildWAR(f, testenv.WAROptions{Version: version}))
	require.NoError(t, f.Close())
	return path
}

var errBoom = errors.New("boom")
