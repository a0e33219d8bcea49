package incidentcmd

import (
	"bufio"
	"context"
	"encoding/json"

	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
)

func lease(expires time.Duration) state.Lease {
	now := time.Now().UTC().Truncate(time.Second)
	return state.Lease{Holder: "alice", Host: "ci", PID: 42, Command: "zdd deploy app.war",
		Started: now.Add(-time.Minute), Expires: now.Add(expires), Token: "secret-token"}
}

func TestLockStatus(t *testing.T) {
	w := newWorld(t)
	run := func(output string) string {
		w.reset()
		d := w.deps()
		d.Output = output
		require.NoError(t, RunLockStatus(context.Background(), &LockOptions{Deps: d}))
		return w.out.String()
	}
	assert.Equal(t, "unlocked\n", run("text"))
	assert.JSONEq(t, `{"held":false,"live":false}`, run("json"))

	w.writeLease(t, lease(time.Hour))
	out := run("text")
	assert.True(t, strings.HasPrefix(out, `locked by alice@ci (pid 42) running "zdd deploy app.war" since `), out)
	var st LockStatus
	require.NoError(t, json.Unmarshal([]byte(run("json")), &st))
	assert.True(t, st.Held)
	assert.True(t, st.Live)
	require.NotNil(t, st.Lease)
	assert.Equal(t, "alice", st.Lease.Holder)
	assert.Empty(t, st.Lease.Token, "the token is not shown")
	assert.NotContains(t, run("json"), "secret-token")

	w.writeLease(t, lease(-time.Second))
	assert.True(t, strings.HasPrefix(run("text"), "expired lease (the next release takes it) of alice@ci (pid 42)"))
	require.NoError(t, json.Unmarshal([]byte(run("json")), &st))
	assert.True(t, st.Held)
	assert.False(t, st.Live)
	assert.Equal(t, 0, w.fc.Dials, "lock status never connects to the cluster")
}

func TestLockReleaseLiveNeedsForce(t *testing.T) {
	w := newWorld(t)
	w.writeLease(t, lease(time.Hour))
	err := RunLockRelease(context.Background(), &LockOptions{Deps: w.deps()})
	require.Error(t, err)
	assert.Equal(t, 5, outcome.Code(err))
	assert.Contains(t, err.Error(), "lock: held by alice@ci")
	assert.Contains(t, outcome.Hint(err), "zdd lock release --force")
	assert.FileExists(t, w.lockFile(), "a live lease stays")
	assert.Empty(t, w.out.String())
	assert.Empty(t, w.history(t))

	d := w.deps()
	d.Who = state.Lease{Holder: "bob", Host: "ops", PID: 7, Command: "zdd lock release --force=true"}
	require.NoError(t, RunLockRelease(context.Background(), &LockOptions{Deps: d, Force: true}))
	assert.NoFileExists(t, w.lockFile())
	assert.Contains(t, w.out.String(), "released the lease of alice@ci (pid 42)")
	hist := w.history(t)
	require.Len(t, hist, 1)
	assert.Equal(t, state.KindLockRelease, hist[0].Kind)
	assert.Equal(t, "bob", hist[0].Holder)
	assert.Equal(t, "ops", hist[0].Host)
	assert.Equal(t, "zdd lock release --force=true", hist[0].Command)
	assert.Contains(t, hist[0].Note, `released the lease of alice@ci (pid 42) running "zdd deploy app.war"`)

	// Nothing left: exit 6.
	err = RunLockRelease(context.Background(), &LockOptions{Deps: w.deps()})
	assert.Equal(t, 6, outcome.Code(err))
	assert.Contains(t, err.Error(), "no lease is held")
}

func TestLockReleaseExpiredWithoutForce(t *testing.T) {
	w := newWorld(t)
	w.writeLease(t, lease(-time.Second))
	require.NoError(t, RunLockRelease(context.Background(), &LockOptions{Deps: w.deps()}))
	assert.NoFileExists(t, w.lockFile())
	assert.Contains(t, w.out.String(), "released the lease of alice@ci")
	assert.Empty(t, w.history(t), "only a forced release is recorded")
}

func TestLockCommandRunsSubcommand(t *testing.T) {
	w := newWorld(t)
	var got []string
	cmd := NewCmdLock(cmdutil.New(w.io), func(_ context.Context, o *LockOptions, sub string) error {
		got = append(got, sub)
		assert.True(t, o.Force == (sub == "release"))
		return nil
	})
	cmd.SetArgs([]string{"status"})
	require.NoError(t, cmd.Execute())
	cmd.SetArgs([]string{"release", "--force"})
	require.NoError(t, cmd.Execute())
	assert.Equal(t, []string{"status", "release"}, got)
}

func (w *world) historyRun(t *testing.T, output string, limit int) string {
	w.reset()
	d := w.deps()
	d.Output = output
	require.NoError(t, RunHistory(context.Background(), &HistoryOptions{Deps: d, Limit: limit}))
	return w.out.String()
}

func TestHistoryText(t *testing.T) {
	w := newWorld(t)
	assert.Empty(t, w.historyRun(t, "text", 0))
	assert.Contains(t, w.err.String(), "no history in "+w.cfg.State.Dir)

	shaA := strings.Repeat("a", 64)
	w.released(t, nil, "001", shaA, time.Hour)
	w.released(t, []string{"001"}, "002", strings.Repeat("b", 64), 30*time.Minute)
	rb := &state.Release{ID: "003-r", Kind: state.KindRollback, Command: "zdd rollback --hard", Holder: "bob", Host: "ops",
		Started: time.Now().Add(-time.Minute).UTC(), Status: state.StatusDone, LostSessions: 4,
		RolledBack: &state.RolledBack{Version: "002", SHA256: strings.Repeat("b", 64)},
		Plan:       plan.Plan{App: "app", From: []string{"001", "002"}, To: "001", SHA256: shaA}}
	require.NoError(t, w.journal().AppendHistory(rb))
	require.NoError(t, w.journal().RecordLockRelease(state.Lease{Holder: "carol", Host: "lap", Command: "zdd lock release --force"}, nil))

	out := w.historyRun(t, "text", 0)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	require.Len(t, lines, 5, out)
	assert.Regexp(t, `^STARTED\s+KIND\s+VERSION\s+SHA256\s+OUTCOME\s+DURATION\s+WHO\s+COMMAND$`, lines[0])
	assert.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+release\s+001\s+aaaaaaaaaaaa\s+done\s+\S+\s+alice@ci\s+zdd deploy app.war$`, lines[1])
	assert.Regexp(t, `\s+release\s+001 -> 002\s+bbbbbbbbbbbb\s+done\s`, lines[2])
	assert.Regexp(t, `\s+rollback\s+001,002 -> 001\s+aaaaaaaaaaaa\s+done \(took away 002 bbbbbbbbbbbb\), 4 sessions ended\s+\S+\s+bob@ops\s+zdd rollback --hard$`, lines[3])
	assert.Regexp(t, `\s+lock_release\s+-\s+done: no lease was held\s+\S+\s+carol@lap\s+zdd lock release --force$`, lines[4])

	out = w.historyRun(t, "text", 2)
	lines = strings.Split(strings.TrimRight(out, "\n"), "\n")
	require.Len(t, lines, 3, "--limit 2 keeps the header and the newest two")
	assert.Contains(t, lines[1], "rollback")
	assert.Contains(t, lines[2], "lock_release")
	assert.Equal(t, 0, w.fc.Dials, "history never connects to the cluster")
}

func TestHistoryJSON(t *testing.T) {
	w := newWorld(t)
	assert.Empty(t, w.historyRun(t, "json", 0), "no history: no lines")
	w.released(t, nil, "001", "A", 90*time.Second)
	w.released(t, []string{"001"}, "002", "B", time.Minute)
	var got []HistoryJSON
	sc := bufio.NewScanner(strings.NewReader(w.historyRun(t, "json", 0)))
	for sc.Scan() {
		var h HistoryJSON
		require.NoError(t, json.Unmarshal(sc.Bytes(), &h), "line %q", sc.Text())
		var raw map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &raw))
		assert.Contains(t, raw, "duration_s")
		assert.Contains(t, raw, "sha256", "the entry's fields are inlined")
		got = append(got, h)
	}
	require.Len(t, got, 2)
	assert.Equal(t, "001", got[0].To)
	assert.Equal(t, "002", got[1].To)
	assert.Equal(t, []string{"001"}, got[1].From)
	assert.Equal(t, "B", got[1].SHA256)
	assert.Equal(t, state.KindRelease, got[1].Kind)
	assert.InDelta(t, 90, got[0].DurationS, 5, "started 90 s before it was recorded")
	assert.InDelta(t, got[0].Duration().Seconds(), got[0].DurationS, 0.001)

	var one []string
	sc = bufio.NewScanner(strings.NewReader(w.historyRun(t, "json", 1)))
	for sc.Scan() {
		one = append(one, sc.Text())
	}
	require.Len(t, one, 1)
	assert.Contains(t, one[0], `"to":"002"`)

}
