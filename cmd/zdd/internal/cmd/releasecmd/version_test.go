package releasecmd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/deployer/outcome"
)

// badVersions are the forms of --version that plan and deploy must refuse while 005 runs
// with app.version_width 3, and what the error says about each.
var badVersions = []struct{ version, says string }{
	{"abc", "decimal digits only"},
	{"1234", "has 4 digits, app.version_width is 3"},
	{"0x3", "decimal digits only"},
	{"02a", "decimal digits only"},
	{"3", "has 1 digits"},
	{"9999999999999", "has 13 digits"},
	{"", "is empty"},
	{"004", "does not sort above the deployed 005"},
	{"005", "does not sort above the deployed 005"},
	{"00#", "decimal digits only"},
	{"0/6", "decimal digits only"},
	{"..6", "decimal digits only"},
	{"0 6", "decimal digits only"},
	{" 006", "decimal digits only"},
	{"-06", "decimal digits only"},
	{"+06", "decimal digits only"},
	{"00٦", "decimal digits only"}, // an Arabic-Indic digit six
}

// stateSnapshot maps every file under dir to its checksum.
func stateSnapshot(t *testing.T, dir string) map[string]string {
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		out[p] = hex.EncodeToString(sum[:])
		return nil
	}))
	return out
}

// runVersion runs `zdd plan|deploy WAR --version v` through its cobra command on w's fake
// cluster, so that the flag's wiring (an empty --version counts as given) is tested too.
func (w *world) runVersion(t *testing.T, command, v string) error {
	streams, _, _, _ := iostreams.Test()
	f := cmdutil.New(streams)
	wr := war(t, "x")
	args := []string{wr, "--version", v}
	ctx := context.Background()
	switch command {
	case "plan":
		cmd := NewCmdPlan(f, func(ctx context.Context, o *PlanOptions) error { o.Deps = w.deps(); return RunPlan(ctx, o) })
		cmd.SetArgs(args)
		return cmd.ExecuteContext(ctx)
	default:
		cmd := NewCmdDeploy(f, func(ctx context.Context, o *DeployOptions) error {
			o.Deps = w.deps()
			return RunDeploy(ctx, o)
		})
		cmd.SetArgs(args)
		return cmd.ExecuteContext(ctx)
	}
}

func TestBadVersionsAreRefusedAndChangeNothing(t *testing.T) {
	w := newWorld(t)
	require.NoError(t, w.deploy(t, "005", nil))
	changes, state := w.changes(), stateSnapshot(t, w.cfg.State.Dir)
	for _, command := range []string{"plan", "deploy"} {
		for _, c := range badVersions {
			w.reset()
			err := w.runVersion(t, command, c.version)
			require.Error(t, err, "%s --version %q", command, c.version)
			assert.Equal(t, 1, outcome.Code(err), "%s --version %q: %v", command, c.version, err)
			assert.Contains(t, err.Error(), c.says, "%s --version %q", command, c.version)
			assert.Contains(t, outcome.Hint(err), "nothing was changed", "%s --version %q", command, c.version)
			assert.Equal(t, changes, w.changes(), "%s --version %q changed the cluster", command, c.version)
			assert.Equal(t, state, stateSnapshot(t, w.cfg.State.Dir), "%s --version %q changed state.dir", command, c.version)
			for _, n := range []string{"n1", "n2", "n3"} {
				assert.Equal(t, []string{"005"}, w.versions(n))
			}
		}
	}
	// The control: the same path accepts a good version.
	require.NoError(t, w.runVersion(t, "plan", "006"))
	require.NoError(t, w.runVersion(t, "deploy", "006"))
	assert.Equal(t, []string{"006"}, w.versions("n1"))
}

func TestBadVersionFormIsRefusedBeforeConnecting(t *testing.T) {
	w := newWorld(t)
	err := w.runVersion(t, "deploy", "abc")
	assert.Equal(t, 1, outcome.Code(err))
	assert.Equal(t, 0, w.fc.Dials, "the form is checked before any server is contacted")
}

func TestRefusedDeploySaysWhatRuns(t *testing.T) {
	w := newWorld(t)
	require.NoError(t, w.deploy(t, "001", nil))
	w.reset()
	err := w.deploy(t, "001", nil)
	assert.Equal(t, 1, outcome.Code(err))
	assert.Contains(t, w.out.String(), "preflight_failed: app 001 -> 001 in ")

	w.reset()
	err = w.deploy(t, "abc", nil)
	assert.Equal(t, 1, outcome.Code(err))
	assert.Contains(t, w.out.String(), "preflight_failed: app (not read) -> abc in ", "refused before reading what runs")
	assert.NotContains(t, w.out.String(), "nothing")
}
