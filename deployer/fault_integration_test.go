//go:build integration

package deployer_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/testenv"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// serviceProbe requests the load balancer's page every 20 ms and records each failure, to
// measure how long after a fault the healthy nodes serve again.
type serviceProbe struct {
	mu       sync.Mutex
	failures []time.Time
	why      []string // what each failure was
	log      []string // outage: the first three failures after the fault and the last
	stop     chan struct{}
	done     chan struct{}
}

func probeService(url string) *serviceProbe {
	p := &serviceProbe{stop: make(chan struct{}), done: make(chan struct{})}
	c := &http.Client{Timeout: 2 * time.Second}
	go func() {
		defer close(p.done)
		for {
			select {
			case <-p.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			resp, err := c.Get(url)
			if err == nil {
				resp.Body.Close()
			}
			if err != nil || resp.StatusCode != http.StatusOK {
				why := fmt.Sprint(err)
				if err == nil {
					why = resp.Status
				}
				p.mu.Lock()
				p.failures = append(p.failures, time.Now())
				p.why = append(p.why, why)
				p.mu.Unlock()
			}
		}
	}()
	return p
}

// outage stops the probe and returns how long after since the last failure was (0: none).
func (p *serviceProbe) outage(since time.Time) (time.Duration, int) {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	var last time.Time
	n := 0
	for i, f := range p.failures {
		if !f.Before(since) {
			n++
			last = f
			if n <= 3 || i == len(p.failures)-1 {
				p.log = append(p.log, fmt.Sprintf("%s after the fault: %s", f.Sub(since).Round(time.Millisecond), p.why[i]))
			}
		}
	}
	if last.IsZero() {
		return 0, 0
	}
	return last.Sub(since), n
}

// faultRun is a release of 002 (after 001) with a fault injected by inject when the event
// chosen by at arrives.
type faultRun struct {
	err      error
	code     int
	injected time.Time
	service  time.Duration
	probeErr int
	lost     int
	failed   int
	zddLost  int
}

func (f *fixture) releaseWithFault(t *testing.T, s *plan.Spec, at func(deployer.Event) bool, inject func()) faultRun {
	first := *s
	first.Pause, first.PauseAfterCanary = 0, false // the pauses are the faulty release's
	require.NoError(t, f.release(t, &first, testenv.WAROptions{Version: "001"}), "first release")
	var fr faultRun
	r := f.underLoad(t, func() {
		ctx := context.Background()
		e := f.engine(s)
		sink := e.Sink
		var once sync.Once
		fired := make(chan struct{})
		e.Sink = deployer.SinkFunc(func(ev deployer.Event) {
			if at(ev) {
				once.Do(func() {
					fr.injected = time.Now()
					inject()
					close(fired)
				})
			}
			sink.Emit(ev)
		})
		probe := probeService(f.env.LBs[0].URL + "/app/")
		st, err := e.Observe(ctx)
		require.NoError(t, err)
		plan, err := plan.BuildPlan(s, st, "002", f.war(t, testenv.WAROptions{Version: "002"}))
		require.NoError(t, err)
		fr.err = e.Start(ctx, plan, state.Lease{Holder: "test", Host: "localhost", Command: t.Name()})
		select {
		case <-fired:
		default:
			t.Fatal("the fault was never injected")
		}
		fr.service, fr.probeErr = probe.outage(fr.injected)
		for _, l := range probe.log {
			t.Logf("probe failure %s", l)
		}
		rel, err := e.Journal.Current()
		require.NoError(t, err)
		fr.zddLost = rel.LostSessions
	})
	fr.code, fr.lost, fr.failed = outcome.Code(fr.err), r.LostSessions, r.Failed
	t.Logf("FAULT %s: failed requests %d, lost sessions %d (zdd counted %d), service on healthy nodes %s after the fault (%d probe failures), exit %d: %v",
		t.Name(), fr.failed, fr.lost, fr.zddLost, fr.service.Round(time.Millisecond), fr.probeErr, fr.code, fr.err)
	return fr
}

// nodeState reports each node's versions and each node's routing state.
func (f *fixture) assertEnd(t *testing.T, healthy []string, out string, want string) {
	ctx := context.Background()
	for _, n := range healthy {
		apps, err := f.cluster.Managers[n].List(ctx)
		require.NoError(t, err)
		var got []string
		for _, a := range apps {
			if a.Path == "/app" {
				got = append(got, a.Version)
				assert.Equal(t, tomcatmgr.StateRunning, a.State, "%s on %s", a.Name(), n)
			}
		}
		assert.Equal(t, []string{want}, got, "versions on %s", n)
	}
	for _, lbh := range f.env.LBs {
		b, err := os.ReadFile(lbh.UpstreamFile)
		require.NoError(t, err)
		t.Logf("%s upstreams:\n%s", lbh.Name, b)
	}
	states, err := f.cluster.Router.States(ctx)
	require.NoError(t, err)
	for _, n := range healthy {
		assert.False(t, states[n].Down, "%s must be in rotation", n)
	}
	assert.True(t, states[out].Down, "%s must be out of rotation", out)
}

// restart brings a killed node back and waits until it serves.
func (f *fixture) restart(t *testing.T, node string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	require.NoError(t, f.env.Start(ctx, node), "restart %s", node)
}

// testNodeInRotationKilled kills the only node in rotation (n3) as the canary's deploy starts,
// the outage of issue 12: the release must notice, route n1,n2 back in and roll back
// without n3.
func testNodeInRotationKilled(t *testing.T, mode testenv.Mode) {
	f := newFixture(t, mode)
	s := spec(f)
	killed := false
	t.Cleanup(func() {
		if killed {
			f.restart(t, "n3")
		}
	})
	fr := f.releaseWithFault(t, s, func(ev deployer.Event) bool {
		return ev.Type == deployer.EventProgress && ev.Kind == "deploy" && ev.Node == "n1"
	}, func() {
		killed = true
		require.NoError(t, f.env.Kill(context.Background(), "n3"))
	})
	require.ErrorIs(t, fr.err, outcome.ErrNeedsAttention)
	assert.Equal(t, 4, fr.code)
	assert.Contains(t, fr.err.Error(), "n3")
	var down *deployer.NodeDownError
	require.ErrorAs(t, fr.err, &down)
	assert.Equal(t, "n3", down.Node)
	assert.Less(t, fr.service, 2*time.Second, "healthy nodes serve within 2 s")
	if mode == testenv.RoundRobin {
		// n1 and n2 are backup servers: Nginx retries on them at once.
		assert.Equal(t, 0, fr.failed, "failed requests")
	}
	// Only a request in flight on n3 when it died can be affected (at most one per user):
	// Nginx retries it on a backup, and a session whose count n3 had already replicated
	// counts it twice, which the load reports as a lost session. Beyond those, only the
	// fallback window's new-version sessions, which zdd must have counted.
	assert.LessOrEqual(t, fr.lost, 20+fr.zddLost, "lost sessions")
	f.assertEnd(t, []string{"n1", "n2"}, "n3", "001")
}

func TestNodeInRotationKilledRoundRobin(t *testing.T) {
	testNodeInRotationKilled(t, testenv.RoundRobin)
}

// TestOldestMemberFrozenDuringDeploy freezes (SIGSTOP) the oldest cluster member as another
// node's deploy starts: that node's new context waits for the frozen member's session state;
// the deploy must be abandoned within seconds and the rollback must skip the frozen node.
func TestOldestMemberFrozenDuringDeploy(t *testing.T) {
	f := newFixture(t, testenv.RoundRobin)
	s := spec(f)
	oldest := f.oldestMember(t)
	t.Logf("oldest cluster member: %s", oldest)
	pid := f.pid(t, oldest)
	var frozen bool
	t.Cleanup(func() {
		if frozen {
			assert.NoError(t, syscall.Kill(pid, syscall.SIGCONT))
		}
	})
	fr := f.releaseWithFault(t, s, func(ev deployer.Event) bool {
		return ev.Type == deployer.EventProgress && ev.Kind == "deploy" && ev.Node != "" && ev.Node != oldest
	}, func() {
		frozen = true
		require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
	})
	stallDur := time.Duration(0)
	for _, ev := range f.events {
		if ev.Type == deployer.EventWarning && strings.Contains(ev.Message, "abandoned after") {
			stallDur = ev.Time.Sub(fr.injected)
		}
	}
	t.Logf("deploy abandoned %s after the freeze", stallDur.Round(time.Millisecond))
	require.ErrorIs(t, fr.err, outcome.ErrNeedsAttention)
	assert.Equal(t, 4, fr.code)
	assert.Contains(t, fr.err.Error(), oldest)
	var healthy []string
	for _, n := range s.NodeNames() {
		if n != oldest {
			healthy = append(healthy, n)
		}
	}
	require.NoError(t, syscall.Kill(pid, syscall.SIGCONT))
	frozen = false
	f.assertEnd(t, healthy, oldest, "001")
}

// oldestMember returns the oldest cluster member: the first member in the view of every
// other node (a node never lists itself).
func (f *fixture) oldestMember(t *testing.T) string {
	ctx := context.Background()
	first := func(node string) string {
		c, ok := f.cluster.Managers[node].(deployer.ClusterViewer)
		require.True(t, ok)
		ms, err := c.ClusterMembers(ctx)
		require.NoError(t, err)
		require.NotEmpty(t, ms)
		for _, n := range f.env.Nodes {
			if n.TribesPort == ms[0].Port {
				return n.Name
			}
		}
		t.Fatalf("no node has the tribes port of %s", ms[0].Addr())
		return ""
	}
	if v := first("n2"); v == "n1" {
		return "n1"
	}
	return first("n1")
}

func (f *fixture) pid(t *testing.T, node string) int {
	for _, s := range f.env.Status() {
		if s.Name == node && s.Running {
			return s.Pid
		}
	}
	t.Fatalf("%s is not running", node)
	return 0
}
