package releasecmd

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/deployertest"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/tomcatmgr"
)

func (w *world) deploy(t *testing.T, version string, mod func(*DeployOptions)) error {
	content := version
	if content == "" {
		content = "next"
	}
	opts := &DeployOptions{Deps: w.deps(), ReleaseFlags: ReleaseFlags{WAR: war(t, content), Version: version, Output: OutputText}}
	if mod != nil {
		mod(opts)
	}
	return RunDeploy(context.Background(), opts)
}

func TestDeployTwoReleasesText(t *testing.T) {
	w := newWorld(t)
	require.NoError(t, w.deploy(t, "001", nil))
	assert.Equal(t, "success: app nothing -> 001 in", strings.Join(strings.Fields(w.out.String())[:6], " "))
	assert.NotContains(t, w.err.String(), "\x1b", "no ANSI codes without a terminal")
	assert.Regexp(t, `(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[3 deploy\] n1: upload \d+/\d+ bytes$`, w.err.String())

	w.reset()
	require.NoError(t, w.deploy(t, "", nil), "the version defaults to the next one")
	assert.Contains(t, w.out.String(), "success: app 001 -> 002")
	for _, n := range []string{"n1", "n2", "n3"} {
		assert.Equal(t, []string{"002"}, w.versions(n), "the drain retired 001 on %s", n)
	}
	_, err := os.Stat(filepath.Join(w.cfg.State.Dir, "lock.json"))
	assert.ErrorIs(t, err, os.ErrNotExist, "the lock is released")
}

func TestDeployJSONEvents(t *testing.T) {
	w := newWorld(t)
	require.NoError(t, w.deploy(t, "001", func(o *DeployOptions) { o.Output = OutputJSON }))
	assert.Empty(t, w.err.String())
	events := decodeEvents(t, w.out.String())
	require.NotEmpty(t, events)
	assert.Equal(t, deployer.EventReleaseStarted, events[0].Type)
	last := events[len(events)-1]
	require.Equal(t, deployer.EventSummary, last.Type)
	assert.Equal(t, "success", last.Summary.Outcome)
	assert.Equal(t, 0, last.Summary.ExitCode)
	assert.Equal(t, "001", last.Summary.To)
	for _, e := range events {
		assert.Equal(t, deployer.EventSchema, e.Schema)
		assert.False(t, e.Time.IsZero())
	}
}

func decodeEvents(t *testing.T, s string) []deployer.Event {
	var out []deployer.Event
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		var e deployer.Event
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e), "line %q", sc.Text())
		out = append(out, e)
	}
	return out
}

func TestDeployRefusesCorruptWARBeforeConnecting(t *testing.T) {
	w := newWorld(t)
	bad := filepath.Join(t.TempDir(), "app.war")
	require.NoError(t, os.WriteFile(bad, []byte("not a zip"), 0o644))
	err := w.deploy(t, "001", func(o *DeployOptions) { o.WAR = bad; o.Output = OutputJSON })
	require.Error(t, err)
	assert.Equal(t, 1, outcome.Code(err))
	assert.Contains(t, err.Error(), "not a zip archive")
	assert.Contains(t, outcome.Hint(err), "pass the WAR your build produced")
	assert.Equal(t, 0, w.fc.Dials, "refused before connecting")
	events := decodeEvents(t, w.out.String())
	require.Len(t, events, 1, "a failure before the engine still ends the stream with a summary")
	assert.Equal(t, "preflight_failed", events[0].Summary.Outcome)
	assert.Equal(t, 1, events[0].Summary.ExitCode)
}

func TestDeployRefusesLowerVersion(t *testing.T) {
	w := newWorld(t)
	require.NoError(t, w.deploy(t, "002", func(o *DeployOptions) { o.NoDrain = true }))
	before := w.changes()
	err := w.deploy(t, "001", nil)
	require.Error(t, err)
	assert.Equal(t, 1, outcome.Code(err))
	assert.Contains(t, err.Error(), "version 001 does not sort above the deployed 002")
	assert.NotEmpty(t, outcome.Hint(err))
	assert.Equal(t, before, w.changes(), "nothing changed")
}

func TestDeployRefusesFailedLBCheck(t *testing.T) {
	w := newWorld(t)
	w.fc.LBErr = errBoom
	err := w.deploy(t, "001", nil)
	require.ErrorIs(t, err, errBoom)
	assert.Equal(t, 1, outcome.Code(err))
	assert.Contains(t, outcome.Hint(err), "nothing was changed")
	assert.Equal(t, 0, w.changes())
	assert.Contains(t, w.out.String(), "preflight_failed: app nothing -> 001")
}

func TestDeployRefusesUnauthorised(t *testing.T) {
	w := newWorld(t)
	w.fc.Fake.Fail(deployertest.List, "n1", &tomcatmgr.Error{Op: "list", Node: "n1", Status: 401, Kind: tomcatmgr.ErrAuth})
	err := w.deploy(t, "001", nil)
	require.Error(t, err)
	assert.Equal(t, 1, outcome.Code(err))
	assert.Contains(t, outcome.Hint(err), "tomcat.user")
	assert.Equal(t, 0, w.changes())
}

func TestDeployLocked(t *testing.T) {
	w := newWorld(t)
	other, err := (&state.Locker{Dir: w.cfg.State.Dir}).Acquire(context.Background(),
		state.Lease{Holder: "alice", Host: "ci", PID: 7, Command: "zdd deploy x.war"}, 0)
	require.NoError(t, err)
	defer other.Release()
	err = w.deploy(t, "001", nil)
	assert.Equal(t, 5, outcome.Code(err), "%v", err)
	assert.Contains(t, err.Error(), "alice@ci")
	assert.Equal(t, 0, w.changes())
}

func TestDeployTimeoutIsInterrupted(t *testing.T) {
	w := newWorld(t)
	err := w.deploy(t, "001", func(o *DeployOptions) { o.Timeout = time.Nanosecond })
	assert.Equal(t, 130, outcome.Code(err), "%v", err)
	assert.Contains(t, err.Error(), "--timeout 1ns expired")
	assert.Contains(t, w.out.String(), "interrupted: ")
}

func TestPauseThenPromote(t *testing.T) {
	w := newWorld(t)
	require.NoError(t, w.deploy(t, "001", nil))
	w.fc.Spec.PauseAfterCanary = true
	err := w.deploy(t, "002", nil)
	assert.Equal(t, 7, outcome.Code(err), "%v", err)
	assert.Contains(t, outcome.Hint(err), "zdd promote")
	assert.Equal(t, []string{"001"}, w.versions("n3"), "the rest waits for promote")

	w.reset()
	require.NoError(t, RunPromote(context.Background(), &PromoteOptions{Deps: w.deps(), Output: OutputText}))
	assert.Contains(t, w.out.String(), "success: app 001 -> 002")
	for _, n := range []string{"n1", "n2", "n3"} {
		assert.Equal(t, []string{"002"}, w.versions(n))
	}

	dials := w.fc.Dials
	err = RunPromote(context.Background(), &PromoteOptions{Deps: w.deps(), Output: OutputText})
	assert.Equal(t, 6, outcome.Code(err))
	assert.Contains(t, err.Error(), "no release is paused")
	assert.Contains(t, err.Error(), "is done")
	assert.Equal(t, dials, w.fc.Dials, "nothing to promote is found without connecting")
}

func TestPromoteWithoutJournal(t *testing.T) {
	w := newWorld(t)
	err := RunPromote(context.Background(), &PromoteOptions{Deps: w.deps(), Output: OutputText})
	assert.Equal(t, 6, outcome.Code(err))
	assert.NotEmpty(t, outcome.Hint(err))
}

func TestDrain(t *testing.T) {
	w := newWorld(t)
	require.NoError(t, w.deploy(t, "001", nil))
	require.NoError(t, w.deploy(t, "002", func(o *DeployOptions) { o.NoDrain = true }))
	assert.Equal(t, []string{"001", "002"}, w.versions("n2"))

	w.reset()
	require.NoError(t, RunDrain(context.Background(), &DrainOptions{Deps: w.deps(), Output: OutputText}))
	assert.Contains(t, w.out.String(), "success: app 001 -> 002")
	for _, n := range []string{"n1", "n2", "n3"} {
		assert.Equal(t, []string{"002"}, w.versions(n))
	}
	err := RunDrain(context.Background(), &DrainOptions{Deps: w.deps(), Output: OutputText})
	assert.Equal(t, 6, outcome.Code(err))
	assert.Contains(t, err.Error(), "only 002 is deployed")
}

func TestDrainRefusesPausedRelease(t *testing.T) {
	w := newWorld(t)
	require.NoError(t, w.deploy(t, "001", nil))
	w.fc.Spec.PauseAfterCanary = true
	require.ErrorIs(t, w.deploy(t, "002", nil), outcome.ErrPaused)
	before := w.changes()
	err := RunDrain(context.Background(), &DrainOptions{Deps: w.deploy2deps(), Output: OutputText})
	assert.Equal(t, 1, outcome.Code(err))
	assert.Contains(t, outcome.Hint(err), "zdd promote")
	assert.Equal(t, before, w.changes())
}

func (w *world) deploy2deps() Deps { return w.deps() }

func TestStatus(t *testing.T) {
	w := newWorld(t)
	require.NoError(t, w.deploy(t, "001", nil))
	require.NoError(t, w.deploy(t, "002", func(o *DeployOptions) { o.NoDrain = true }))
	w.reset()
	require.NoError(t, RunStatus(context.Background(), &StatusOptions{Deps: w.deps(), Output: OutputText}))
	assert.Contains(t, w.out.String(), "node n1     001 running (0 sessions), 002 running (0 sessions)\n")
	assert.Contains(t, w.out.String(), "node n3     weight 1, in rotation\n")
	assert.Regexp(t, `release 002-\S+: 001 -> 002, done`, w.out.String())
	assert.Contains(t, w.out.String(), "lock: free\n")

	w.reset()
	w.fc.Fake.Fail(deployertest.List, "n3", errBoom)
	err := RunStatus(context.Background(), &StatusOptions{Deps: w.deps(), Output: OutputJSON})
	assert.Equal(t, 1, outcome.Code(err))
	var st Status
	require.NoError(t, json.Unmarshal([]byte(w.out.String()), &st))
	assert.Equal(t, deployer.EventSchema, st.Schema)
	require.Len(t, st.Nodes, 3)
	assert.Equal(t, []VersionStatus{{"001", "running", 0}, {"002", "running", 0}}, st.Nodes[0].Versions)
	assert.Equal(t, "boom", st.Nodes[2].Error)
	assert.Equal(t, "done", st.Release.Status)
	assert.Equal(t, []string{"boom"}, st.Errors)
}

func TestPlanPrintsStepsAndChangesNothing(t *testing.T) {
	w := newWorld(t)
	require.NoError(t, w.deploy(t, "001", nil))
	w.reset()
	before := w.changes()
	opts := &PlanOptions{Deps: w.deps(), ReleaseFlags: ReleaseFlags{WAR: war(t, "002"), Output: OutputText, NoDrain: true}}
	require.NoError(t, RunPlan(context.Background(), opts))
	assert.Contains(t, w.out.String(), "release app: 001 -> 002")
	assert.Contains(t, w.out.String(), "3. deploy      002 to n1,n2, one node at a time\n")
	assert.NotContains(t, w.out.String(), "drain", "--no-drain leaves the drain out")
	assert.Equal(t, before, w.changes())

	w.reset()
	opts.Output, opts.IO, opts.NoDrain = OutputJSON, w.io, false
	require.NoError(t, RunPlan(context.Background(), opts))
	var pj PlanJSON
	require.NoError(t, json.Unmarshal([]byte(w.out.String()), &pj))
	assert.Equal(t, "002", pj.Plan.To)
	assert.Equal(t, "drain", pj.Plan.Steps[len(pj.Plan.Steps)-2].Kind())
	assert.Equal(t, before, w.changes())
}
