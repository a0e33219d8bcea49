//go:build integration

package nginx

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/lb"
)

func TestIntegrationWeightsOverSSHOnBothLBs(t *testing.T) {
	env, _, b := setup(t)
	ctx := context.Background()
	want := map[string]lb.State{"n1": {Weight: 3}, "n2": {Weight: 1}, "n3": {Down: true}}
	require.NoError(t, b.Apply(ctx, want))
	require.NoError(t, b.Verify(ctx, want))
	st, err := b.States(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]lb.State{"n1": {Weight: 3}, "n2": {Weight: 1}, "n3": {Weight: 1, Down: true}}, st)
	for _, l := range env.LBs {
		c := countNodes(t, l.URL, 400)
		t.Logf("%s after n1=3 n2=1 n3=down, 400 requests: %s", l.Name, describe(c))
		assert.Zero(t, c["n3"], "n3 is down on %s", l.Name)
		assert.InDelta(t, 300, c["n1"], 40, "n1 has weight 3 of 4 on %s", l.Name)
		assert.InDelta(t, 100, c["n2"], 40, "n2 has weight 1 of 4 on %s", l.Name)
	}
	// Back in one change: every node gets traffic again.
	require.NoError(t, b.Apply(ctx, map[string]lb.State{"n1": {Weight: 1}, "n3": {Weight: 1}}))
	for _, l := range env.LBs {
		c := countNodes(t, l.URL, 300)
		t.Logf("%s after all weight 1, 300 requests: %s", l.Name, describe(c))
		for _, n := range []string{"n1", "n2", "n3"} {
			assert.InDelta(t, 100, c[n], 35, "%s on %s", n, l.Name)
		}
	}
}

func TestIntegrationFailedTestKeepsOldFileAndTraffic(t *testing.T) {
	env, hosts, _ := setup(t)
	ctx := context.Background()
	before := map[string][]byte{}
	for _, l := range env.LBs {
		before[l.Name], _ = os.ReadFile(l.UpstreamFile)
	}
	// Inject: lb1's test command runs the real test, then fails as nginx -t would.
	hosts[0].TestCommand += ` && echo 'nginx: [emerg] injected failure' >&2 && exit 1`
	b := newEnvBalancer(t, env, hosts)
	err := b.Apply(ctx, map[string]lb.State{"n2": {Down: true}})
	var rb *lb.RolledBackError
	require.ErrorAs(t, err, &rb)
	assert.Equal(t, "lb1", rb.Host)
	assert.ErrorContains(t, err, "injected failure")
	for _, l := range env.LBs {
		now, _ := os.ReadFile(l.UpstreamFile)
		assert.Equal(t, string(before[l.Name]), string(now), "%s keeps its old file", l.Name)
		c := countNodes(t, l.URL, 90)
		t.Logf("%s after the refused change: %s", l.Name, describe(c))
		assert.Positive(t, c["n2"], "n2 still in rotation on %s", l.Name)
	}
}

func TestIntegrationFailureOnSecondHostPutsFirstBack(t *testing.T) {
	env, hosts, _ := setup(t)
	ctx := context.Background()
	before, _ := os.ReadFile(env.LBs[0].UpstreamFile)
	// lb2's first reload fails; the one in the rollback works.
	mark := filepath.Join(t.TempDir(), "failed-once")
	hosts[1].ReloadCommand = "if [ -e " + mark + " ]; then " + hosts[1].ReloadCommand + "; else touch " + mark +
		"; echo 'injected reload failure' >&2; exit 1; fi"
	nodes := map[string]string{}
	for _, n := range env.Nodes {
		nodes[n.Name] = n.Upstream
	}
	b, err := New(Options{Hosts: hosts, Nodes: nodes, ReloadTimeout: 2 * time.Second})
	require.NoError(t, err)
	err = b.Apply(ctx, map[string]lb.State{"n1": {Down: true}})
	var rb *lb.RolledBackError
	require.ErrorAs(t, err, &rb, "%v", err)
	var rf *lb.RollbackFailedError
	require.False(t, errors.As(err, &rf), "the rollback must succeed: %v", err)
	assert.Equal(t, "lb2", rb.Host)
	assert.Equal(t, "reload", rb.Step)
	assert.ErrorContains(t, err, "injected reload failure")
	t.Logf("error: %v", err)
	now, _ := os.ReadFile(env.LBs[0].UpstreamFile)
	assert.Equal(t, string(before), string(now), "lb1's file is back")
	c := countNodes(t, env.LBs[0].URL, 90)
	t.Logf("lb1 after rollback: %s", describe(c))
	assert.Positive(t, c["n1"], "lb1 was reloaded with the old file: n1 in rotation again")
}

func TestIntegrationNoFailedRequestsUnderLoad(t *testing.T) {
	env, _, b := setup(t)
	const clients, changes = 20, 20
	ctx, cancel := context.WithCancel(context.Background())
	var ok, failed, resets atomic.Int64
	var firstErr atomic.Value
	countRE := regexp.MustCompile(`count=(\d+)`)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := sessionClient()
			url := env.LBs[i%len(env.LBs)].URL + probeApp + "/"
			last := 0
			for ctx.Err() == nil {
				code, body := get(ctx, c, url)
				if ctx.Err() != nil {
					return
				}
				m := countRE.FindStringSubmatch(body)
				if code != 200 || m == nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, strconv.Itoa(code)+" "+body)
					continue
				}
				ok.Add(1)
				n, _ := strconv.Atoi(m[1])
				if n != last+1 {
					resets.Add(1)
				}
				last = n
			}
		}()
	}
	start := time.Now()
	for i := range changes {
		w := func(k int) int { return (i+k)%4 + 1 }
		st := map[string]lb.State{"n1": {Weight: w(0)}, "n2": {Weight: w(1)}, "n3": {Weight: w(2)}}
		require.NoError(t, b.Apply(context.Background(), st))
		require.NoError(t, b.Verify(context.Background(), st), "another test process may have rewritten the upstream file (testenv.Up does)")
	}
	elapsed := time.Since(start)
	cancel()
	wg.Wait()
	t.Logf("%d clients, %d weight changes on 2 LBs in %v: %d requests ok, %d failed, %d session resets (count did not follow)",
		clients, changes, elapsed.Round(time.Millisecond), ok.Load(), failed.Load(), resets.Load())
	assert.Zero(t, failed.Load(), "first failure: %v", firstErr.Load())
	assert.Greater(t, ok.Load(), int64(1000))
}
