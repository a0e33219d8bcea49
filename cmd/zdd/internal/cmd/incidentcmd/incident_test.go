package incidentcmd

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"strings"
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
)

func (w *world) rollback(mod func(*RollbackOptions)) error {
	opts := &RollbackOptions{Deps: w.deps()}
	if mod != nil {
		mod(opts)
	}
	return RunRollback(context.Background(), opts)
}

// twoReleases is a cluster running 001 (sha A) and 002 (sha B) everywhere, both released by zdd.
func twoReleases(t *testing.T) (w *world, shaA, shaB string) {
	w = newWorld(t, "001", "002")
	shaA, shaB = w.storeWAR(t, "001"), w.storeWAR(t, "002")
	w.released(t, nil, "001", shaA, 2*time.Hour)
	w.released(t, []string{"001"}, "002", shaB, time.Hour)
	return w, shaA, shaB
}

func TestRollbackNothingDeployedExits6(t *testing.T) {
	w := newWorld(t)
	err := w.rollback(func(o *RollbackOptions) { o.Yes = true })
	require.Error(t, err)
	assert.Equal(t, 6, outcome.Code(err))
	assert.Contains(t, err.Error(), "nothing to roll back: app is not deployed")
	assert.Equal(t, 1, w.fc.Dials)
	assert.Empty(t, w.fc.Fake.Changes())
	assert.Empty(t, w.history(t))
}

func TestRollbackNoOtherGoodReleaseExits6(t *testing.T) {
	w := newWorld(t, "001")
	w.released(t, nil, "001", w.storeWAR(t, "001"), time.Hour)
	err := w.rollback(func(o *RollbackOptions) { o.Yes = true })
	require.Error(t, err)
	assert.Equal(t, 6, outcome.Code(err))
	assert.Contains(t, err.Error(), "nothing to roll back: no completed release other than the code of 001")
	assert.Empty(t, w.fc.Fake.Changes())
	assert.Empty(t, w.out.String(), "no result line when nothing ran")
	assert.Len(t, w.history(t), 1)
}

func TestRollbackHard(t *testing.T) {
	w, shaA, shaB := twoReleases(t)
	w.fc.Fake.SetSessions("n1", "002", 7)
	w.fc.Fake.SetSessions("n2", "002", 7) // replicated copies: the count is the same session set
	w.fc.Fake.SetSessions("n3", "001", 3)
	err := w.rollback(func(o *RollbackOptions) { o.Hard, o.Yes = true, true })
	require.NoError(t, err)

	for _, n := range nodes {
		assert.Equal(t, []string{"001"}, w.fc.Fake.Versions(n), "002 undeployed on %s", n)
	}
	log := w.fc.Fake.Changes()
	assert.ElementsMatch(t, []string{"stop n1 002", "stop n2 002", "stop n3 002", "undeploy n1 002", "undeploy n2 002", "undeploy n3 002"}, log)
	for i := 0; i < 3; i++ {
		assert.True(t, strings.HasPrefix(log[i], "stop "), "every node stops before any undeploy: %v", log)
	}
	assert.Contains(t, w.err.String(), "HARD rollback: stops 002 (sha256 "+shaB[:12])
	assert.Contains(t, w.err.String(), "the 7 open sessions of 002 are lost")
	assert.Contains(t, w.out.String(), "rollback: success 001,002 -> 001 in ")
	assert.Contains(t, w.out.String(), "(exit 0), 7 sessions ended")

	hist := w.history(t)
	require.Len(t, hist, 3)
	last := hist[2]
	assert.Equal(t, state.KindRollback, last.Kind)
	assert.Equal(t, state.StatusDone, last.Status)
	assert.Equal(t, 7, last.LostSessions)
	assert.Equal(t, "001", last.To)
	assert.Equal(t, shaA, last.SHA256)
	require.NotNil(t, last.RolledBack)
	assert.Equal(t, state.RolledBack{Version: "002", SHA256: shaB}, *last.RolledBack)
	assert.Equal(t, "tester", last.Holder)
	_, err = os.Stat(w.lockFile())
	assert.ErrorIs(t, err, os.ErrNotExist, "the lease is released")

	// The bad code is gone: a second rollback finds nothing.
	w.reset()
	err = w.rollback(func(o *RollbackOptions) { o.Hard, o.Yes = true, true })
	assert.Equal(t, 6, outcome.Code(err), "%v", err)
}

func TestRollbackWithoutTerminalNeverPromptsAndRuns(t *testing.T) {
	w, shaA, shaB := twoReleases(t)
	// No terminal: even without --yes it does not ask (stdin is empty: a prompt would read "no").
	require.NoError(t, w.rollback(nil))
	assert.NotContains(t, w.out.String(), "[y/N]")

	plan := w.err.String()
	iPlan := strings.Index(plan, "takes 002 (sha256 "+shaB[:12]+") back to the last good release 001 (sha256 "+shaA[:12])
	require.GreaterOrEqual(t, iPlan, 0, "the plan is printed: %s", plan)
	assert.Contains(t, plan, "deployed again as version 003; sessions on 002 keep it until they end")
	iRun := strings.Index(plan, "rollback app 002 -> 003 (the code of 001)")
	require.Greater(t, iRun, iPlan, "the plan comes before the run starts")
	assert.Regexp(t, `(?m)^\s+1\. `, plan[:iRun], "numbered steps in the plan")

	for _, n := range nodes {
		assert.Equal(t, []string{"003"}, w.fc.Fake.Versions(n), "on %s the good code runs as 003 and 001/002 are retired", n)
	}
	assert.Contains(t, w.fc.Fake.Changes(), "deploy n1 003")
	assert.Contains(t, w.out.String(), "rollback: success 001,002 -> 003 in ")
	hist := w.history(t)
	require.Len(t, hist, 3)
	assert.Equal(t, state.KindRollback, hist[2].Kind)
	assert.Equal(t, shaA, hist[2].SHA256, "003 is the code of 001")
	require.NotNil(t, hist[2].RolledBack)
	assert.Equal(t, shaB, hist[2].RolledBack.SHA256)
}

func TestRollbackOnTerminalAsksAndNoStops(t *testing.T) {
	w, _, _ := twoReleases(t)
	w.io.SetTTY(true, true, false)
	_, _ = w.in.WriteString("n\n")
	err := w.rollback(nil)
	require.Error(t, err)
	assert.Equal(t, 1, outcome.Code(err))
	assert.Contains(t, err.Error(), "roll back now?: not confirmed; nothing was changed")
	assert.Contains(t, w.out.String(), "roll back now? [y/N] ")
	assert.Contains(t, w.err.String(), "takes 002", "the plan is shown before the question")
	assert.Empty(t, w.fc.Fake.Changes())
	assert.Len(t, w.history(t), 2)
	_, err = os.Stat(w.lockFile())
	assert.ErrorIs(t, err, os.ErrNotExist, "no lease taken")
}

func TestRollbackOnTerminalWithYesDoesNotAsk(t *testing.T) {
	w, _, _ := twoReleases(t)
	w.io.SetTTY(true, true, false)
	require.NoError(t, w.rollback(func(o *RollbackOptions) { o.Yes, o.Hard = true, true }))
	assert.NotContains(t, w.out.String(), "[y/N]")
	assert.Equal(t, []string{"001"}, w.fc.Fake.Versions("n2"))
}

func TestRollbackJSONPlanIsAnEvent(t *testing.T) {
	w, _, _ := twoReleases(t)
	require.NoError(t, w.rollback(func(o *RollbackOptions) { o.Hard, o.Output = true, "json" }))
	assert.Empty(t, w.err.String())
	var events []deployer.Event
	sc := bufio.NewScanner(strings.NewReader(w.out.String()))
	for sc.Scan() {
		var e deployer.Event
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e), "line %q", sc.Text())
		events = append(events, e)
	}
	require.NotEmpty(t, events)
	assert.Equal(t, deployer.EventWarning, events[0].Type)
	assert.True(t, strings.HasPrefix(events[0].Message, "rollback plan: HARD rollback: stops 002"), events[0].Message)
	last := events[len(events)-1]
	require.Equal(t, deployer.EventSummary, last.Type)
	assert.Equal(t, "success", last.Summary.Outcome)
}

func TestRollbackFlags(t *testing.T) {
	streams, _, _, _ := iostreams.Test()
	var got *RollbackOptions
	cmd := NewCmdRollback(cmdutil.New(streams), func(_ context.Context, o *RollbackOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--hard", "-y", "--no-drain", "-o", "json"})
	require.NoError(t, cmd.Execute())
	assert.True(t, got.Hard)
	assert.True(t, got.Yes)
	assert.True(t, got.NoDrain)
	assert.Equal(t, "json", got.Output)
	assert.Contains(t, got.Who.Command, "rollback --hard=true --no-drain=true --output=json --yes=true")
	assert.NotNil(t, got.Dial, "production dials for real")

	cmd = NewCmdRollback(cmdutil.New(streams), func(context.Context, *RollbackOptions) error { t.Fatal("ran"); return nil })
	cmd.SetArgs([]string{"-o", "yaml"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `--output must be text or json, not "yaml"`)
}

func TestResumeAndAbortNothingExit6(t *testing.T) {
	for _, abort := range []bool{false, true} {
		w := newWorld(t, "001")
		opts := &ResumeOptions{Deps: w.deps(), Abort: abort}
		err := RunResume(context.Background(), opts)
		require.Error(t, err)
		assert.Equal(t, 6, outcome.Code(err), "abort=%v", abort)
		assert.Contains(t, err.Error(), "no release recorded")

		// After a completed release there is still nothing to do.
		w.released(t, nil, "001", "A", time.Minute)
		err = RunResume(context.Background(), &ResumeOptions{Deps: w.deps(), Abort: abort})
		require.Error(t, err)
		assert.Equal(t, 6, outcome.Code(err))
		assert.Contains(t, err.Error(), "is done")
		assert.Empty(t, w.fc.Fake.Changes())
		_, serr := os.Stat(w.lockFile())
		assert.ErrorIs(t, serr, os.ErrNotExist, "no lease taken")
	}
}

func TestResumeRefusesPaused(t *testing.T) {
	w := newWorld(t, "001")
	rel := &state.Release{ID: "002-x", Status: state.StatusPaused, Plan: plan.Plan{App: "app", From: []string{"001"}, To: "002"}}
	require.NoError(t, w.journal().Save(rel))
	err := RunResume(context.Background(), &ResumeOptions{Deps: w.deps()})
	assert.Equal(t, 6, outcome.Code(err))
	assert.Contains(t, outcome.Hint(err), "`zdd promote` continues a paused release")
}

// An abort's result line says what went away and what serves, not "001 -> 002".
func TestAbortResultLineSaysWhatServes(t *testing.T) {
	streams, _, out, _ := iostreams.Test()
	d := &Deps{IO: streams, Output: "text"}
	d.resultUndo(&summarySink{last: &deployer.Summary{Outcome: "success", From: []string{"001"}, To: "002", Duration: 3.21}})
	assert.Equal(t, "abort: success: 002 undone, 001 serves, in 3.2s (exit 0)\n", out.String())
	out.Reset()
	d.resultUndo(&summarySink{last: &deployer.Summary{Outcome: "needs_attention", From: []string{"001"}, To: "002", ExitCode: 4}})
	assert.Contains(t, out.String(), "abort: needs_attention 001 -> 002", "a failed abort keeps the plain line")
}
