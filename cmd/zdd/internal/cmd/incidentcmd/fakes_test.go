package incidentcmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/cmd/zdd/internal/wiring/wiringtest"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/testenv"
)

var nodes = []string{"n1", "n2", "n3"}

// world is a fake cluster of three nodes, a state directory and test streams.
type world struct {
	cfg      *config.Config
	fc       *wiringtest.Cluster
	io       *iostreams.IOStreams
	in       interface{ WriteString(string) (int, error) }
	out, err interface{ String() string }
}

func newWorld(t *testing.T, versions ...string) *world {
	cfg := config.Default()
	cfg.State.Dir = t.TempDir()
	fc := wiringtest.New(nodes, 1, time.Second, versions...)
	w := &world{cfg: &cfg, fc: fc}
	w.reset()
	return w
}

// reset gives the world new, empty streams.
func (w *world) reset() {
	streams, in, out, errOut := iostreams.Test()
	w.io, w.in, w.out, w.err = streams, in, out, errOut
}

func (w *world) deps() Deps {
	return Deps{IO: w.io, Config: func() (*config.Config, error) { return w.cfg, nil }, Output: "text", Dial: w.fc.Dial,
		Who: state.Lease{Holder: "tester", Host: "here", PID: 1, Command: "zdd rollback"}}
}

func (w *world) journal() *state.Journal { return &state.Journal{Dir: w.cfg.State.Dir} }

func (w *world) history(t *testing.T) []state.HistoryEntry {
	h, err := w.journal().History()
	require.NoError(t, err)
	return h
}

// released records in the journal a completed release of version with the WAR checksum sha,
// started d ago.
func (w *world) released(t *testing.T, from []string, version, sha string, d time.Duration) {
	start := time.Now().Add(-d).UTC()
	rel := &state.Release{ID: version + "-" + start.Format("20060102T150405Z"), Command: "zdd deploy app.war",
		Holder: "alice", Host: "ci", Started: start, Status: state.StatusDone,
		Plan: plan.Plan{App: "app", From: from, To: version, SHA256: sha}}
	j := w.journal()
	require.NoError(t, j.Save(rel))
	require.NoError(t, j.AppendHistory(rel))
}

// storeWAR puts the sample WAR of version into the release store and returns its checksum.
func (w *world) storeWAR(t *testing.T, version string) string {
	src := filepath.Join(t.TempDir(), "app.war")
	f, err := os.Create(src)
	require.NoError(t, err)
	require.NoError(t, testenv.BuildWAR(f, testenv.WAROptions{Version: version}))
	require.NoError(t, f.Close())
	info, err := state.NewStore(w.cfg.State.Dir).Put(src)
	require.NoError(t, err)
	return info.SHA256
}

// writeLease writes the lease file as a holder would.
func (w *world) writeLease(t *testing.T, l state.Lease) {
	b, err := json.Marshal(l)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(w.cfg.State.Dir, "lock.json"), b, 0o644))
}

func (w *world) lockFile() string { return filepath.Join(w.cfg.State.Dir, "lock.json") }
