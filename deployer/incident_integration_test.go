//go:build integration

package deployer_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
	"github.com/saitodrom/zdd/testenv/testenvtest"
)

// incident wires the engine with a store, a locker and a lease, on the fixture's state dir.
func (f *fixture) incident(spec *plan.Spec) (*deployer.Engine, *state.Locker) {
	e := f.engine(spec)
	e.Store = state.NewStore(f.cfg.State.Dir)
	return e, &state.Locker{Dir: f.cfg.State.Dir, TTL: 2 * time.Second}
}

var me = state.Lease{Holder: "test", Host: "localhost", Command: "go test"}

// releaseStored runs a release through an engine with the store (as `zdd deploy` does).
func (f *fixture) releaseStored(t *testing.T, spec *plan.Spec, opts testenv.WAROptions) error {
	e, _ := f.incident(spec)
	st, err := e.Observe(context.Background())
	require.NoError(t, err)
	plan, err := plan.BuildPlan(spec, st, opts.Version, f.war(t, opts))
	require.NoError(t, err)
	return e.Start(context.Background(), plan, me)
}

// versionWatch polls /app/version.jsp (never creates a session) on both load balancers and
// remembers when the last answer that was not want came.
type versionWatch struct {
	mu       sync.Mutex
	start    time.Time
	lastBad  time.Time
	failed   int
	requests int
	stop     context.CancelFunc
	done     chan struct{}
}

var versionRE = regexp.MustCompile(`version=(\S+)`)

func watchVersion(f *fixture, want string) *versionWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &versionWatch{start: time.Now(), stop: cancel, done: make(chan struct{})}
	client := &http.Client{Timeout: 5 * time.Second}
	var wg sync.WaitGroup
	for _, lb := range f.env.LBs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, lb.URL+"/app/version.jsp", nil)
				resp, err := client.Do(req)
				if ctx.Err() != nil {
					return
				}
				var got string
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if m := versionRE.FindSubmatch(b); m != nil && resp.StatusCode == 200 {
						got = string(m[1])
					}
				}
				w.mu.Lock()
				w.requests++
				if got == "" {
					w.failed++
				}
				if got != want {
					w.lastBad = time.Now()
				}
				w.mu.Unlock()
				select {
				case <-ctx.Done():
				case <-time.After(10 * time.Millisecond):
				}
			}
		}()
	}
	go func() { wg.Wait(); close(w.done) }()
	return w
}

// result stops the watch and returns the time from its start to the last answer that was not
// the wanted version.
func (w *versionWatch) result() (time.Duration, int, int) {
	w.stop()
	<-w.done
	return w.lastBad.Sub(w.start), w.failed, w.requests
}

func TestRollbackDefaultUnderLoad(t *testing.T) {
	f := newFixture(t, testenv.RoundRobin)
	s := spec(f)
	require.NoError(t, f.releaseStored(t, s, testenv.WAROptions{Version: "001"}))
	require.NoError(t, f.releaseStored(t, s, testenv.WAROptions{Version: "002"}))
	e, locker := f.incident(s)
	var took time.Duration
	var watchFailed, watched int
	r := f.underLoad(t, func() {
		p, err := e.PlanRollback(context.Background(), deployer.RollbackOptions{NoDrain: true, Store: e.Store, Locker: locker, Who: me})
		require.NoError(t, err)
		t.Logf("rollback plan:\n%s", p.Render())
		require.Equal(t, "003", p.Plan.To)
		w := watchVersion(f, "001") // the page prints the code's version: 003 is 001's WAR
		t0 := time.Now()
		require.NoError(t, e.Rollback(context.Background(), p))
		t.Logf("rollback command took %s", time.Since(t0).Round(time.Millisecond))
		time.Sleep(time.Second) // the watch keeps polling: every answer must now be 003
		took, watchFailed, watched = w.result()
	})
	t.Logf("DEFAULT ROLLBACK: every node in rotation gives new sessions the previous code after %s; load %d requests, %d failed, %d lost sessions; version.jsp %d polls, %d failed",
		took.Round(time.Millisecond), r.Requests, r.Failed, r.LostSessions, watched, watchFailed)
	assert.Equal(t, 0, r.Failed, "failed requests")
	assert.Equal(t, 0, r.LostSessions, "lost sessions")
	assert.Equal(t, 0, watchFailed)
	st, err := e.Observe(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"001", "002", "003"}, st.Versions())

	// The code of 003 is 001's; a second rollback never returns to 002's code.
	hist, err := e.Journal.History()
	require.NoError(t, err)
	require.Len(t, hist, 3)
	last := hist[len(hist)-1]
	assert.Equal(t, state.KindRollback, last.Kind)
	assert.Equal(t, hist[0].SHA256, last.SHA256, "003 is the WAR of 001")
	require.NotNil(t, last.RolledBack)
	assert.Equal(t, "002", last.RolledBack.Version)
	_, err = e.PlanRollback(context.Background(), deployer.RollbackOptions{Store: e.Store, Locker: locker, Who: me})
	require.ErrorIs(t, err, outcome.ErrNothingToDo)
	assert.Equal(t, 6, outcome.Code(err))
}

func TestRollbackHardUnderLoad(t *testing.T) {
	f := newFixture(t, testenv.RoundRobin)
	s := spec(f)
	require.NoError(t, f.releaseStored(t, s, testenv.WAROptions{Version: "001"}))
	require.NoError(t, f.releaseStored(t, s, testenv.WAROptions{Version: "002"}))
	e, locker := f.incident(s)
	var took time.Duration
	var lost, watchFailed int
	r := f.underLoad(t, func() {
		p, err := e.PlanRollback(context.Background(), deployer.RollbackOptions{Hard: true, Store: e.Store, Locker: locker, Who: me})
		require.NoError(t, err)
		t.Logf("rollback plan:\n%s", p.Render())
		require.Equal(t, "001", p.Previous)
		w := watchVersion(f, "001")
		require.NoError(t, e.Rollback(context.Background(), p))
		time.Sleep(time.Second)
		took, watchFailed, _ = w.result()
		rel, err := e.Journal.Current()
		require.NoError(t, err)
		lost = rel.LostSessions
	})
	t.Logf("HARD ROLLBACK: previous code everywhere after %s; zdd reported %d sessions lost; load: %d requests, %d failed, %d lost sessions seen by users",
		took.Round(time.Millisecond), lost, r.Requests, r.Failed, r.LostSessions)
	assert.Equal(t, 0, r.Failed, "failed requests")
	assert.Equal(t, 0, watchFailed)
	assert.Positive(t, r.LostSessions, "a hard rollback loses the sessions of the bad version")
	f.assertOnly(t, "001")
}

func TestRollbackDuringPausedRelease(t *testing.T) {
	testenvtest.Matrix(t)
	f := newFixture(t, testenv.RoundRobin)
	s := spec(f)
	require.NoError(t, f.releaseStored(t, s, testenv.WAROptions{Version: "001"}))
	paused := *s
	paused.PauseAfterCanary = true
	var err error
	r := f.underLoad(t, func() {
		err = f.releaseStored(t, &paused, testenv.WAROptions{Version: "002"})
		require.ErrorIs(t, err, outcome.ErrPaused)
		e, locker := f.incident(s)
		// --hard undoes the canary (the default redeploys the previous code as 003, keeping the
		// canary's sessions: see adopt_integration_test.go).
		p, perr := e.PlanRollback(context.Background(), deployer.RollbackOptions{Hard: true, Store: e.Store, Locker: locker, Who: me})
		require.NoError(t, perr)
		t.Logf("rollback plan:\n%s", p.Render())
		require.Equal(t, "undo", p.Mode)
		require.NoError(t, e.Rollback(context.Background(), p))
	})
	j := &state.Journal{Dir: f.cfg.State.Dir}
	rel, err := j.Current()
	require.NoError(t, err)
	// Undoing the canary undeploys 002 from it: the sessions users started on 002 while it was
	// paused end (zdd counts them); nobody else's.
	t.Logf("PAUSED UNDO: load %d requests, %d failed, %d sessions lost seen by users, %d counted by zdd",
		r.Requests, r.Failed, r.LostSessions, rel.LostSessions)
	assert.Equal(t, 0, r.Failed, "failed requests")
	if r.LostSessions > 0 {
		assert.Positive(t, rel.LostSessions, "zdd says how many sessions the undo ended")
	}
	f.assertOnly(t, "001")
	assert.Equal(t, state.StatusRolledBack, rel.Status)
	assert.Contains(t, rel.TakenOverBy, "zdd rollback")
}

// TestNodeKilledDuringRelease kills n2 (canary batch, out of rotation) while the canary gets
// 002; the release stops, the node comes back, and `zdd abort` (if needed) leaves a consistent fleet.
func TestNodeKilledDuringRelease(t *testing.T) {
	testenvtest.Matrix(t)
	f := newFixture(t, testenv.RoundRobin)
	s := spec(f)
	s.HealthTimeout = 10 * time.Second
	require.NoError(t, f.releaseStored(t, s, testenv.WAROptions{Version: "001"}))
	var relErr error
	r := f.underLoad(t, func() {
		ctx := context.Background()
		killed := make(chan struct{})
		go func() {
			defer close(killed)
			// kill n3 once the canary (n1,n2) has 002
			for i := 0; i < 200; i++ {
				st, err := f.engine(s).Observe(ctx)
				if err == nil && len(st.NodesWith([]string{"n1"}, "002")) > 0 {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			assert.NoError(t, f.env.Kill(ctx, "n2"))
		}()
		relErr = f.releaseStored(t, s, testenv.WAROptions{Version: "002"})
		<-killed
		t.Logf("release with n2 killed: %v", relErr)
		require.NoError(t, f.env.Start(ctx, "n2"))
	})
	t.Logf("NODE KILLED: load %s", r)
	assert.Equal(t, 0, r.Failed, "failed requests")
	require.Error(t, relErr, "a node down mid-release cannot pass its deploy and gate")
	// n2 restarted with the versions in its appBase; the fleet is consistent after an abort if needed.
	e, locker := f.incident(s)
	if err := e.Abort(context.Background(), locker, me); err != nil {
		require.ErrorIs(t, err, outcome.ErrNothingToDo)
	}
	st, err := e.Observe(context.Background())
	require.NoError(t, err)
	require.NoError(t, st.Uniform(s.NodeNames()), "every node runs the same versions")
}

// zdd runs the real binary on the fixture's cluster and state directory.
type zddBin struct {
	path string
	args []string
}

func buildZDD(t *testing.T, f *fixture, extra ...string) *zddBin {
	bin := filepath.Join(t.TempDir(), "zdd")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/saitodrom/zdd/cmd/zdd").CombinedOutput()
	require.NoError(t, err, "%s", out)
	args := []string{"--config", f.env.ConfigFile, "--set", "state.dir=" + f.cfg.State.Dir,
		"--set", "strategy.lease_ttl=2s", "--set", "migrations.dir=" + t.TempDir()}
	for _, sub := range []string{"expand", "contract"} {
		require.NoError(t, os.MkdirAll(filepath.Join(args[len(args)-1][len("migrations.dir="):], sub), 0o755))
	}
	return &zddBin{path: bin, args: append(args, extra...)}
}

func (z *zddBin) cmd(args ...string) (*exec.Cmd, *bytes.Buffer) {
	var out bytes.Buffer
	all := append(append([]string{}, args...), z.args...)
	if args[0] == "deploy" {
		all = append(all, "--no-drain")
	}
	c := exec.Command(z.path, all...)
	c.Stdout, c.Stderr = &out, &out
	return c, &out
}

func (z *zddBin) run(t *testing.T, args ...string) (int, string) {
	c, out := z.cmd(args...)
	err := c.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	t.Logf("zdd %s: exit %d\n%s", strings.Join(args, " "), code, out)
	return code, out.String()
}

// killAt starts `zdd deploy` and SIGKILLs it when the journal shows step kind running.
func (z *zddBin) killAt(t *testing.T, f *fixture, war, kind string) {
	c, out := z.cmd("deploy", war)
	require.NoError(t, c.Start())
	j := &state.Journal{Dir: f.cfg.State.Dir}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		rel, _ := j.Current()
		if rel != nil && rel.Status == state.StatusRunning && rel.Current < len(rel.Plan.Steps) &&
			rel.Plan.Steps[rel.Current].Kind() == kind && !rel.Steps[rel.Current].Started.IsZero() {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, c.Process.Signal(syscall.SIGKILL))
	_ = c.Wait()
	rel, err := j.Current()
	require.NoError(t, err)
	t.Logf("killed zdd deploy at step %d (%s); output:\n%s", rel.Current+1, rel.Plan.Steps[rel.Current], out)
	require.Equal(t, state.StatusRunning, rel.Status)
}

func (f *fixture) warFile(t *testing.T, v string) string {
	return f.war(t, testenv.WAROptions{Version: v}).Path
}

func testKilledThen(t *testing.T, kind, then string) {
	f := newFixture(t, testenv.RoundRobin)
	z := buildZDD(t, f)
	code, _ := z.run(t, "deploy", f.warFile(t, "001"))
	require.Equal(t, 0, code)
	r := f.underLoad(t, func() {
		z.killAt(t, f, f.warFile(t, "002"), kind)
		// The killed process's lease is still live, but its holder is gone: taken over at once.
		code, out := z.run(t, then)
		require.Equal(t, 0, code, "zdd %s", then)
		assert.Contains(t, out, "took over the release lease", "zdd %s says it took the dead holder's lease over", then)
		code, _ = z.run(t, then)
		assert.Equal(t, 6, code, "zdd %s twice: nothing left to do", then)
	})
	t.Logf("KILLED AT %s, %s: load %s", kind, then, r)
	assert.Equal(t, 0, r.Failed, "failed requests")
	assert.Equal(t, 0, r.LostSessions, "lost sessions")
	if then == "abort" {
		f.assertOnly(t, "001")
		return
	}
	st, err := f.engine(spec(f)).Observe(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"001", "002"}, st.Versions())
	require.NoError(t, st.Uniform(spec(f).NodeNames()))
}

func TestKilledAtDeployThenResume(t *testing.T) { testKilledThen(t, "deploy", "resume") }
func TestKilledAtGateThenAbort(t *testing.T)    { testKilledThen(t, "gate", "abort") }
func TestKilledAtDeployThenAbort(t *testing.T) {
	testenvtest.Matrix(t)
	testKilledThen(t, "deploy", "abort")
}
func TestKilledAtGateThenResume(t *testing.T) {
	testenvtest.Matrix(t)
	testKilledThen(t, "gate", "resume")
}

func TestTwoDeploysAtOnce(t *testing.T) {
	f := newFixture(t, testenv.RoundRobin)
	z := buildZDD(t, f)
	code, _ := z.run(t, "deploy", f.warFile(t, "001"))
	require.Equal(t, 0, code)
	first, out1 := z.cmd("deploy", f.warFile(t, "002"))
	require.NoError(t, first.Start())
	l := &state.Locker{Dir: f.cfg.State.Dir}
	for i := 0; i < 100; i++ {
		if lease, _ := l.Read(); lease != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	code, out := z.run(t, "deploy", f.warFile(t, "003"))
	assert.Equal(t, 5, code, "the second deploy is refused")
	assert.Regexp(t, `held by \S+@\S+ \(pid \d+\)`, out, "naming the holder")
	queued, out3 := z.cmd("deploy", f.warFile(t, "003"), "--lock-wait", "3m")
	require.NoError(t, queued.Start())
	require.NoError(t, first.Wait(), "%s", out1)
	require.NoError(t, queued.Wait(), "the queued deploy runs after the first: %s", out3)
	st, err := f.engine(spec(f)).Observe(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"001", "002", "003"}, st.Versions())

	// lock status / release on a lease left by a killed process
	c, _ := z.cmd("deploy", f.warFile(t, "004"))
	require.NoError(t, c.Start())
	j := &state.Journal{Dir: f.cfg.State.Dir}
	for i := 0; i < 1200; i++ { // until 004's release is journaled (it holds the lease by then)
		if rel, _ := j.Current(); rel != nil && rel.Plan.To == "004" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.NoError(t, c.Process.Signal(syscall.SIGKILL))
	_ = c.Wait()
	code, out = z.run(t, "lock", "status")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "locked by")
	code, _ = z.run(t, "lock", "release")
	assert.Equal(t, 5, code, "a live lease is not released without --force")
	time.Sleep(2500 * time.Millisecond) // lease_ttl 2s: the killed holder's lease expires
	code, out = z.run(t, "lock", "status")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "expired lease")
	code, _ = z.run(t, "abort")
	assert.Equal(t, 0, code, "the killed release is undone once its lease expired")
	code, out = z.run(t, "history")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "004")
}
