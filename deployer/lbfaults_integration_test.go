//go:build integration

package deployer_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/connect"
	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/lb/remote"
	"github.com/saitodrom/zdd/testenv"
)

// Issue 12 items 4 and 5 on the engine: a routing change that fails its test on lb2 is
// reverted and the release rolls back cleanly (exit 3, every node in rotation, verified), with
// nothing left for `zdd abort`; then a release during which zdd's SSH connections to both
// load balancers are cut (their sshd children killed) at the deploy step re-dials and
// finishes. Both under session-keeping load.
func TestLoadBalancerFaultsDuringARelease(t *testing.T) {
	f := newFixture(t, testenv.RoundRobin)
	ctx := context.Background()
	require.NoError(t, f.release(t, spec(f), testenv.WAROptions{Version: "001"}))

	// lb2's test command fails on its 2nd run: the 1st is the preflight, the 2nd the install of
	// the release's first routing change.
	cfg := *f.cfg
	cfg.LB.Hosts = append(cfg.LB.Hosts[:0:0], f.cfg.LB.Hosts...)
	count := filepath.Join(t.TempDir(), "tests")
	cfg.LB.Hosts[1].TestCommand = `n=$(cat ` + count + ` 2>/dev/null || echo 0); n=$((n+1)); echo $n > ` + count +
		`; if [ $n -eq 2 ]; then echo 'nginx: [emerg] injected failure' >&2; exit 1; fi; ` + f.cfg.LB.Hosts[1].TestCommand
	injected, err := connect.Dial(ctx, &cfg, connect.Options{})
	require.NoError(t, err)
	defer injected.Close()

	var relErr error
	r := f.underLoad(t, func() {
		e := f.engine(spec(f))
		e.Router, e.Preflight = injected.Router, injected.Router.Check
		st, err := e.Observe(ctx)
		require.NoError(t, err)
		plan, err := plan.BuildPlan(spec(f), st, "002", f.war(t, testenv.WAROptions{Version: "002"}))
		require.NoError(t, err)
		relErr = e.Start(ctx, plan, me)
	})
	t.Logf("release with lb2's test failing: exit %d: %v", outcome.Code(relErr), relErr)
	assert.Equal(t, 3, outcome.Code(relErr), "rolled back")
	assert.ErrorContains(t, relErr, "nginx: [emerg] injected failure")
	assert.Equal(t, 0, r.Failed, "failed requests")
	assert.Equal(t, 0, r.LostSessions, "lost sessions")
	f.assertOnly(t, "001")
	all := map[string]lb.State{}
	for _, n := range f.env.Nodes {
		all[n.Name] = lb.State{Weight: 1}
	}
	require.NoError(t, f.cluster.Router.Verify(ctx, all), "every node in rotation, as nginx runs it")
	e, locker := f.incident(spec(f))
	err = e.Abort(ctx, locker, me)
	assert.Equal(t, 6, outcome.Code(err), "nothing left to abort: %v", err)

	// Cut both SSH connections when the deploy starts: the routing changes after it re-dial.
	var once sync.Once
	cuts := 0
	r = f.underLoad(t, func() {
		e := f.engine(spec(f))
		sink := e.Sink
		e.Sink = deployer.SinkFunc(func(ev deployer.Event) {
			if ev.Type == deployer.EventStepStarted && ev.Kind == "deploy" {
				once.Do(func() {
					for _, rn := range f.cluster.Runners {
						cutSSH(t, rn)
						cuts++
					}
				})
			}
			sink.Emit(ev)
		})
		st, err := e.Observe(ctx)
		require.NoError(t, err)
		plan, err := plan.BuildPlan(spec(f), st, "002", f.war(t, testenv.WAROptions{Version: "002"}))
		require.NoError(t, err)
		relErr = e.Start(ctx, plan, me)
	})
	require.Equal(t, 2, cuts, "both connections were cut")
	require.NoError(t, relErr, "the release re-dialled and finished")
	assert.Equal(t, 0, r.Failed, "failed requests")
	assert.Equal(t, 0, r.LostSessions, "lost sessions")
	require.NoError(t, f.cluster.Router.Verify(ctx, all))
}

// cutSSH kills the sshd process serving rn's connection (the parent of the remote shell).
func cutSSH(t *testing.T, rn remote.Runner) {
	out, err := rn.Run(context.Background(), "echo $PPID", nil)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	require.NoError(t, err)
	p, err := os.FindProcess(pid)
	require.NoError(t, err)
	require.NoError(t, p.Kill())
	t.Logf("cut the SSH connection to %s (killed sshd child %d)", rn.Host(), pid)
}
