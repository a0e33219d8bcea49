package releasecmd

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/state"
)

// handDeployed puts version on every node, as a deploy through the Manager (not zdd) would.
func (w *world) handDeployed(version string) {
	w.fc.Fake.Put(version, "n1", "n2", "n3")
}

func TestPlanWarnsAboutARunningVersionWithoutWAR(t *testing.T) {
	w := newWorld(t)
	w.handDeployed("001")
	opts := &PlanOptions{Deps: w.deps(), ReleaseFlags: ReleaseFlags{WAR: war(t, "002"), Output: OutputText, NoDrain: true}}
	require.NoError(t, RunPlan(context.Background(), opts))
	assert.Contains(t, w.err.String(), "warning: preflight: 001 runs on every node but zdd has no WAR of it")
	assert.Contains(t, w.err.String(), "--previous-war app-001.war --previous-version 001")

	w.reset()
	opts.IO = w.io
	opts.PreviousWAR, opts.PreviousVersion = war(t, "001"), "001"
	require.NoError(t, RunPlan(context.Background(), opts))
	assert.NotContains(t, w.err.String(), "warning")
	assert.Contains(t, w.err.String(), "zdd deploy will register")
	hist, err := (&state.Journal{Dir: w.cfg.State.Dir}).History()
	require.NoError(t, err)
	assert.Empty(t, hist, "plan registers nothing")
	assert.Zero(t, w.changes())
}

func TestDeployRegistersThePreviousWAR(t *testing.T) {
	w := newWorld(t)
	w.handDeployed("001")
	prev := war(t, "001")
	require.NoError(t, w.deploy(t, "002", func(o *DeployOptions) {
		o.PreviousWAR, o.PreviousVersion, o.NoDrain = prev, "001", true
	}))
	assert.Contains(t, w.err.String(), "as the code of 001")
	hist, err := (&state.Journal{Dir: w.cfg.State.Dir}).History()
	require.NoError(t, err)
	require.Len(t, hist, 2)
	assert.Equal(t, state.KindAdopt, hist[0].Kind)
	assert.Equal(t, "001", hist[0].To)
	info, err := deployer.InspectWAR(prev, "")
	require.NoError(t, err)
	assert.Equal(t, info.SHA256, hist[0].SHA256)
	_, err = state.NewStore(w.cfg.State.Dir).Get(info.SHA256)
	assert.NoError(t, err, "the WAR is in the release store")
	g := state.LastGood(hist, "app", hist[1].SHA256)
	require.NotNil(t, g, "the first rollback finds the registered code")
	assert.Equal(t, "001", g.Entry.To)
}

func TestDeployRefusesBadPreviousFlagsBeforeAnyChange(t *testing.T) {
	w := newWorld(t)
	w.handDeployed("001")
	notWAR := filepath.Join(t.TempDir(), "app-001.war")
	require.NoError(t, os.WriteFile(notWAR, []byte("not a zip"), 0o644))
	for _, c := range []struct{ war, version, want string }{
		{war(t, "001"), "002", "--previous-version 002 does not run on n"},
		{war(t, "001"), "01", "not 3 digits"},
		{notWAR, "001", "not a zip"},
		{war(t, "001"), "", "go together"},
		{"SAME", "001", "is the WAR being released"},
	} {
		w.reset()
		err := w.deploy(t, "002", func(o *DeployOptions) {
			o.PreviousWAR, o.PreviousVersion = c.war, c.version
			if c.war == "SAME" {
				o.PreviousWAR = o.WAR
			}
		})
		require.Error(t, err, c)
		assert.Equal(t, 1, outcome.Code(err), c)
		assert.Contains(t, err.Error(), c.want, c)
	}
	assert.Zero(t, w.changes())
	hist, err := (&state.Journal{Dir: w.cfg.State.Dir}).History()
	require.NoError(t, err)
	assert.Empty(t, hist)
}
