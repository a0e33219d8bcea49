//go:build integration

package nginx

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/lb/remote"
)

// workerPIDs lists the worker processes of h's master: they change with every reload.
func workerPIDs(t *testing.T, h Host) string {
	t.Helper()
	out, err := h.Runner.Run(context.Background(), `ps -o pid= --ppid "$(cat -- `+remote.Quote(h.PidFile)+`)" | sort -n | tr -s ' \n' ' '`, nil)
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

// waitWorkersOlder polls until the newest worker of every host is at least 2 s old, so that a
// file written now is unambiguously newer than the running configuration (1 s resolution).
func waitWorkersOlder(t *testing.T, hosts []Host) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, h := range hosts {
		for {
			out, err := h.Runner.Run(context.Background(), `ps -o etimes= --ppid "$(cat -- `+remote.Quote(h.PidFile)+`)" | sort -n | head -n 1`, nil)
			require.NoError(t, err)
			age, err := strconv.Atoi(strings.TrimSpace(string(out)))
			require.NoError(t, err, "%q", out)
			if age >= 2 {
				break
			}
			require.True(t, time.Now().Before(deadline), "workers of %s stay younger than 2 s", h.Name)
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// The state of issue 12 item 4: a revert rewrote lb1's file after its last reload, with the
// content Nginx already runs. Verify says so, Apply of the same states tests and reloads that
// host only, and a second Apply is a no-op.
func TestIntegrationApplyConvergesWhenTheFileWasRewrittenAfterTheReload(t *testing.T) {
	_, hosts, b := setup(t)
	ctx := context.Background()
	cur, err := b.States(ctx)
	require.NoError(t, err)
	require.NoError(t, b.Apply(ctx, cur)) // reloads a host whose file was not loaded yet
	require.NoError(t, b.Verify(ctx, cur))
	waitWorkersOlder(t, hosts)
	src, err := remote.ReadFile(ctx, hosts[0].Runner, hosts[0].UpstreamFile)
	require.NoError(t, err)
	require.NoError(t, remote.WriteFile(ctx, hosts[0].Runner, hosts[0].UpstreamFile, src))

	err = b.Verify(ctx, cur)
	require.ErrorIs(t, err, lb.ErrNotLive)
	assert.ErrorContains(t, err, "not reloaded")
	t.Logf("before: %v", err)

	w1, w2 := workerPIDs(t, hosts[0]), workerPIDs(t, hosts[1])
	start := time.Now()
	require.NoError(t, b.Apply(ctx, cur))
	require.NoError(t, b.Verify(ctx, cur))
	t.Logf("converged in %v", time.Since(start).Round(time.Millisecond))
	assert.NotEqual(t, w1, workerPIDs(t, hosts[0]), "lb1 was reloaded")
	assert.Equal(t, w2, workerPIDs(t, hosts[1]), "lb2 already ran the target: not reloaded")

	// Run twice: the second changes nothing.
	w1, w2 = workerPIDs(t, hosts[0]), workerPIDs(t, hosts[1])
	require.NoError(t, b.Apply(ctx, cur))
	require.NoError(t, b.Verify(ctx, cur))
	assert.Equal(t, w1, workerPIDs(t, hosts[0]), "second run: lb1 not reloaded")
	assert.Equal(t, w2, workerPIDs(t, hosts[1]), "second run: lb2 not reloaded")
}

// A change that failed its test on lb2 is reverted on both hosts without a reload: the hosts
// run what they ran, and read so at once (the revert kept the file's old mtime), so undoing
// the change (Apply of the old states) is a no-op that verifies.
func TestIntegrationRevertOfAnUnloadedChangeVerifiesAtOnce(t *testing.T) {
	env, hosts, b := setup(t)
	ctx := context.Background()
	cur, err := b.States(ctx)
	require.NoError(t, err)
	require.NoError(t, b.Apply(ctx, cur))
	waitWorkersOlder(t, hosts)
	before := map[string][]byte{}
	for _, l := range env.LBs {
		before[l.Name], _ = os.ReadFile(l.UpstreamFile)
	}
	broken := append([]Host(nil), hosts...)
	broken[1].TestCommand += ` && echo 'nginx: [emerg] injected failure' >&2 && exit 1`
	err = newEnvBalancer(t, env, broken).Apply(ctx, map[string]lb.State{"n2": {Down: true}})
	var rb *lb.RolledBackError
	require.ErrorAs(t, err, &rb, "%v", err)
	assert.ErrorContains(t, err, "install on lb2: test the new configuration: `"+broken[1].TestCommand+"` exited 1: nginx: ")
	assert.ErrorContains(t, err, "nginx: [emerg] injected failure")
	assert.NotContains(t, err.Error(), "mktemp", "the error quotes the command, not the script")
	t.Logf("failed change: %v", err)
	for _, l := range env.LBs {
		now, _ := os.ReadFile(l.UpstreamFile)
		assert.Equal(t, string(before[l.Name]), string(now), "%s has its old file", l.Name)
	}

	w1, w2 := workerPIDs(t, hosts[0]), workerPIDs(t, hosts[1])
	require.NoError(t, b.Verify(ctx, cur), "the reverted hosts run the old states")
	require.NoError(t, b.Apply(ctx, cur))
	require.NoError(t, b.Verify(ctx, cur))
	assert.Equal(t, w1, workerPIDs(t, hosts[0]), "lb1 not reloaded")
	assert.Equal(t, w2, workerPIDs(t, hosts[1]), "lb2 not reloaded")
}

// With zdd's connection to lb1 cut (its sshd child killed), the next States, Apply and Verify
// re-dial and succeed.
func TestIntegrationBalancerSurvivesACutSSHConnection(t *testing.T) {
	env, hosts, b := setup(t)
	ctx := context.Background()
	// Each call gets a deadline of its own, as a step would: the re-dial must fit in it.
	op := func() context.Context {
		c, cancel := context.WithTimeout(ctx, time.Minute)
		t.Cleanup(cancel)
		return c
	}
	cut := func() {
		out, err := hosts[0].Runner.Run(ctx, "echo $PPID", nil)
		require.NoError(t, err)
		pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
		require.NoError(t, err)
		p, err := os.FindProcess(pid)
		require.NoError(t, err)
		require.NoError(t, p.Kill())
	}
	cut()
	cur, err := b.States(op())
	require.NoError(t, err, "States after the cut")
	cut()
	want := map[string]lb.State{"n3": {Down: true}}
	start := time.Now()
	require.NoError(t, b.Apply(op(), want), "Apply after the cut")
	t.Logf("Apply after the cut: %v", time.Since(start).Round(time.Millisecond))
	cut()
	require.NoError(t, b.Verify(op(), want), "Verify after the cut")
	c := countNodes(t, env.LBs[0].URL, 60)
	assert.Zero(t, c["n3"], "n3 is out on lb1: %s", describe(c))
	cut()
	require.NoError(t, b.Apply(op(), cur), "the undo after the cut")
	require.NoError(t, b.Verify(op(), cur))
}
