package releasecmd

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/cmd/zdd/internal/wiring/wiringtest"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/testenv"
)

// world is a fake cluster of three nodes (wiringtest's, which start empty) with the release
// commands' dependencies.
type world struct {
	t        *testing.T
	cfg      *config.Config
	fc       *wiringtest.Cluster
	io       *iostreams.IOStreams
	out, err interface{ String() string }
}

func newWorld(t *testing.T) *world {
	cfg := config.Default()
	cfg.State.Dir = t.TempDir()
	fc := wiringtest.New([]string{"n1", "n2", "n3"}, 2, time.Second)
	w := &world{t: t, cfg: &cfg, fc: fc}
	w.reset()
	return w
}

// reset gives the world new, empty streams.
func (w *world) reset() {
	streams, _, out, errOut := iostreams.Test()
	w.io, w.out, w.err = streams, out, errOut
}

func (w *world) deps() Deps {
	return Deps{IO: w.io, Config: func() (*config.Config, error) { return w.cfg, nil }, Dial: w.fc.Dial,
		Who: state.Lease{Holder: "tester", Host: "here", PID: 1, Command: "zdd deploy"}}
}

// changes counts the changes on every node (deploys, stops, undeploys, resyncs) and the
// routing changes.
func (w *world) changes() int { return len(w.fc.Fake.Changes()) }

func (w *world) versions(node string) []string { return w.fc.Fake.Versions(node) }

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
