package incidentcmd

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/testenv"
)

// warFile builds the sample WAR of version in a temporary file.
func warFile(t *testing.T, version string) plan.WARInfo {
	p := filepath.Join(t.TempDir(), "app-"+version+".war")
	f, err := os.Create(p)
	require.NoError(t, err)
	require.NoError(t, testenv.BuildWAR(f, testenv.WAROptions{Version: version}))
	require.NoError(t, f.Close())
	info, err := deployer.InspectWAR(p, "")
	require.NoError(t, err)
	return info
}

// release runs a release of the sample WAR of version on the world, through the store as
// `zdd deploy` does (pause: stop after the canary).
func (w *world) release(t *testing.T, version string, pause bool) error {
	spec := *w.fc.Spec
	spec.NoDrain, spec.PauseAfterCanary = true, pause
	e := &deployer.Engine{Spec: &spec, Managers: map[string]deployer.Manager{}, Router: w.fc.Fake.Router(),
		Prober: w.fc.Fake.Prober(), Journal: w.journal(), Store: state.NewStore(w.cfg.State.Dir)}
	for _, n := range nodes {
		e.Managers[n] = w.fc.Fake.Manager(n)
	}
	st, err := e.Observe(context.Background())
	require.NoError(t, err)
	plan, err := plan.BuildPlan(&spec, st, version, warFile(t, version))
	require.NoError(t, err)
	return e.Start(context.Background(), plan, state.Lease{Holder: "alice", Host: "ci", Command: "zdd deploy"})
}

func TestRollbackAdoptedRefusesThenWARWorks(t *testing.T) {
	w := newWorld(t, "001") // deployed before zdd
	require.NoError(t, w.release(t, "002", false))
	w.fc.Fake.SetSessions("n1", "002", 3)
	before := len(w.fc.Fake.Changes())
	err := w.rollback(func(o *RollbackOptions) { o.Yes = true })
	require.Error(t, err)
	assert.Equal(t, 1, outcome.Code(err), "never 6: 001 still runs")
	assert.Contains(t, err.Error(), "its 3 open sessions would be lost")
	assert.Contains(t, outcome.Hint(err), "zdd rollback --war app-001.war")
	assert.Len(t, w.fc.Fake.Changes(), before)

	w.reset()
	require.NoError(t, w.rollback(func(o *RollbackOptions) { o.Yes, o.NoDrain, o.WAR = true, true, warFile(t, "001").Path }))
	assert.Contains(t, w.out.String(), "rollback: success 001,002 -> 003")
	assert.NotContains(t, w.out.String(), "sessions ended")
	assert.Equal(t, []string{"001", "002", "003"}, w.fc.Fake.Versions("n3"))
}

func TestRollbackHardAndWARConflict(t *testing.T) {
	streams, _, _, _ := iostreams.Test()
	cmd := NewCmdRollback(cmdutil.New(streams), func(context.Context, *RollbackOptions) error { t.Fatal("ran"); return nil })
	cmd.SetArgs([]string{"--hard", "--war", "x.war"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--hard and --war do not go together")
}

func TestAbortPausedIsTheDefaultRollback(t *testing.T) {
	w := newWorld(t)
	require.NoError(t, w.release(t, "001", false))
	require.ErrorIs(t, w.release(t, "002", true), outcome.ErrPaused)
	w.fc.Fake.SetSessions("n1", "002", 4)
	w.cfg.Strategy.LeaseTTL = time.Minute
	require.NoError(t, RunResume(context.Background(), &ResumeOptions{Deps: w.deps(), Abort: true, Yes: true}))
	assert.Contains(t, w.out.String(), "abort: success")
	assert.NotContains(t, w.out.String(), "sessions ended")
	for _, n := range nodes {
		// The drain retired 001 (no sessions) and kept 002, whose canary sessions are still open.
		assert.Equal(t, []string{"002", "003"}, w.fc.Fake.Versions(n), "002 kept on %s for the canary's sessions", n)
		assert.False(t, w.fc.Fake.State(n).Down)
	}
	// Asked on a terminal like rollback.
	err := RunResume(context.Background(), &ResumeOptions{Deps: w.deps(), Abort: true})
	assert.Equal(t, 6, outcome.Code(err), "nothing left to abort")
}

func TestAbortPausedHardCountsTheCanarySessions(t *testing.T) {
	w := newWorld(t, "001") // no WAR of 001: the default refuses and names --hard
	require.ErrorIs(t, w.release(t, "002", true), outcome.ErrPaused)
	w.fc.Fake.SetSessions("n1", "002", 4)
	err := RunResume(context.Background(), &ResumeOptions{Deps: w.deps(), Abort: true, Yes: true})
	require.Error(t, err)
	assert.Equal(t, 1, outcome.Code(err))
	assert.Contains(t, outcome.Hint(err), "--hard")

	w.reset()
	w.io.SetTTY(true, true, false)
	_, _ = w.in.WriteString("n\n")
	err = RunResume(context.Background(), &ResumeOptions{Deps: w.deps(), Abort: true, Hard: true})
	require.Error(t, err)
	assert.Contains(t, w.out.String(), "abort now? [y/N]")

	w.reset()
	require.NoError(t, RunResume(context.Background(), &ResumeOptions{Deps: w.deps(), Abort: true, Hard: true, Yes: true}))
	assert.Contains(t, w.out.String(), "4 sessions ended")
	for _, n := range nodes {
		assert.Equal(t, []string{"001"}, w.fc.Fake.Versions(n))
	}
}

func TestAbortFlags(t *testing.T) {
	streams, _, _, _ := iostreams.Test()
	var got *ResumeOptions
	cmd := NewCmdAbort(cmdutil.New(streams), func(_ context.Context, o *ResumeOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--hard", "--yes", "--no-drain"})
	require.NoError(t, cmd.Execute())
	assert.True(t, got.Abort && got.Hard && got.Yes && got.NoDrain)
	cmd = NewCmdResume(cmdutil.New(streams), nil)
	assert.Nil(t, cmd.Flags().Lookup("hard"), "resume has no --hard")
}
