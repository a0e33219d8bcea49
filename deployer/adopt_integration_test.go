//go:build integration

package deployer_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/schema"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/testenv"
	"github.com/saitodrom/zdd/testenv/testenvtest"
	"github.com/saitodrom/zdd/watch"
)

// The tests of this file run the real zdd binary on testenv with the database and a migrations
// directory configured, under users whose sessions never end during the test (every drain
// would reach its deadline), and count failed requests and lost sessions.

var (
	zddOnce sync.Once
	zddPath string
	zddErr  error
)

// zddWithDB builds zdd once per run and returns it on the fixture's cluster and state
// directory, with a migrations directory of this test whose table is dropped at the end.
func zddWithDB(t *testing.T, f *fixture, extra ...string) (*zddBin, string, string) {
	zddOnce.Do(func() {
		dir, err := os.MkdirTemp("", "zdd-bin-")
		if err != nil {
			zddErr = err
			return
		}
		zddPath = filepath.Join(dir, "zdd")
		out, err := exec.Command("go", "build", "-o", zddPath, "github.com/saitodrom/zdd/cmd/zdd").CombinedOutput()
		if err != nil {
			zddErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	require.NoError(t, zddErr)
	mig := t.TempDir()
	for _, sub := range []string{"expand", "contract"} {
		require.NoError(t, os.MkdirAll(filepath.Join(mig, sub), 0o755))
	}
	tag := fmt.Sprintf("rb%d", time.Now().UnixNano()%1_000_000_000)
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = f.env.DB.User, f.env.DB.Password, "tcp", f.env.DB.Servers[0].Addr, f.env.DB.Name
	db, err := sql.Open("mysql", cfg.FormatDSN())
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := db.Exec("DROP TABLE IF EXISTS `" + tag + "`")
		assert.NoError(t, err)
		_, _ = db.Exec("DELETE FROM `"+schema.DefaultJournalTable+"` WHERE name LIKE ?", "%\\_"+tag+"\\_%")
		db.Close()
	})
	args := append([]string{"--config", f.env.ConfigFile, "--set", "state.dir=" + f.cfg.State.Dir,
		"--set", "strategy.lease_ttl=2s", "--set", "strategy.drain_timeout=4s", "--set", "migrations.dir=" + mig}, extra...)
	return &zddBin{path: zddPath, args: args}, mig, tag
}

// keptLoad runs users whose sessions never end (they never drop their cookie) through both load
// balancers until stop is called.
func keptLoad(f *fixture, users int) (stop func() *watch.Report) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *watch.Report, 1)
	go func() {
		done <- watch.Run(ctx, watch.Options{URLs: []string{f.env.LBs[0].URL + "/app/", f.env.LBs[1].URL + "/app/"},
			Users: users, NewSessionEvery: 1 << 30, Interval: 20 * time.Millisecond})
	}()
	time.Sleep(1500 * time.Millisecond) // every user has its session
	return func() *watch.Report {
		time.Sleep(2 * time.Second)
		cancel()
		return <-done
	}
}

func logLoad(t *testing.T, name string, r *watch.Report) {
	t.Logf("%s: load %s; requests in existing sessions by version %v", name, r, r.ExistingSessionVersions)
	for _, s := range r.Timeline {
		t.Logf("  second %d: %d requests, %d failed, %d lost, new %v, existing %v", s.At, s.Requests, s.Failed, s.Lost, s.New, s.Existing)
	}
	for _, fl := range r.Failures {
		t.Logf("  %s user %d lost=%v: %s", fl.At.Round(time.Millisecond), fl.User, fl.Lost, fl.What)
	}
}

func (f *fixture) versionsEverywhere(t *testing.T) map[string][]string {
	out := map[string][]string{}
	st, err := f.engine(spec(f)).Observe(context.Background())
	require.NoError(t, err)
	for _, n := range spec(f).NodeNames() {
		for _, a := range st.Apps[n] {
			out[n] = append(out[n], a.Version)
		}
	}
	return out
}

// adoptedCluster is 001 deployed through the Manager directly (before zdd), then 002 by zdd.
func adoptedCluster(t *testing.T) (*fixture, *zddBin) {
	f := newFixture(t, testenv.RoundRobin)
	z, _, _ := zddWithDB(t, f)
	testenvtest.DeploySample(t, f.env, testenv.WAROptions{Version: "001"})
	code, out := z.run(t, "deploy", f.warFile(t, "002"))
	require.Equal(t, 0, code)
	assert.Contains(t, out, "001 runs on every node but zdd has no WAR of it", "preflight warns")
	return f, z
}

func TestAdoptedRollbackRefusesThenHard(t *testing.T) {
	f, z := adoptedCluster(t)
	stop := keptLoad(f, 20)
	code, out := z.run(t, "rollback", "--yes")
	assert.Equal(t, 1, code, "no WAR of 001: refused, never exit 6")
	assert.Contains(t, out, "n1: 001,002; n2: 001,002; n3: 001,002")
	assert.Regexp(t, `its \d+ open sessions would be lost`, out)
	assert.Contains(t, out, "zdd rollback --war app-001.war")
	hardCode, hardOut := z.run(t, "rollback", "--hard", "--yes")
	r := stop()
	logLoad(t, "ADOPTED HARD", r)
	assert.Equal(t, 0, hardCode)
	assert.Regexp(t, `\d+ sessions ended`, hardOut)
	for n, vs := range f.versionsEverywhere(t) {
		assert.Equal(t, []string{"001"}, vs, "002 stopped and undeployed on %s", n)
	}
	hist, err := (&state.Journal{Dir: f.cfg.State.Dir}).History()
	require.NoError(t, err)
	last := hist[len(hist)-1]
	t.Logf("ADOPTED: rollback exit %d; rollback --hard exit %d, zdd counted %d lost sessions; load: %d requests, %d failed, %d lost sessions",
		code, hardCode, last.LostSessions, r.Requests, r.Failed, r.LostSessions)
	assert.Equal(t, 0, r.Failed, "failed requests")
	assert.Positive(t, r.LostSessions, "--hard loses the sessions of 002")
	assert.GreaterOrEqual(t, last.LostSessions, r.LostSessions, "zdd counts every session it ended")
}

func TestAdoptedRollbackWithWAR(t *testing.T) {
	testenvtest.Matrix(t)
	f, z := adoptedCluster(t)
	notWAR := filepath.Join(t.TempDir(), "app-001.war")
	require.NoError(t, os.WriteFile(notWAR, []byte("not a zip"), 0o644))
	stop := keptLoad(f, 20)
	badCode, out := z.run(t, "rollback", "--yes", "--war", notWAR)
	assert.Equal(t, 1, badCode, "not a WAR")
	assert.Contains(t, out, "not a zip")
	sameCode, out := z.run(t, "rollback", "--yes", "--war", f.warFile(t, "002"))
	assert.Equal(t, 1, sameCode, "the bad code")
	assert.Contains(t, out, "has the checksum of 002")
	code, _ := z.run(t, "rollback", "--yes", "--no-drain", "--war", f.warFile(t, "001"))
	r := stop()
	logLoad(t, "ADOPTED --war", r)
	t.Logf("ADOPTED --war: not a WAR exit %d, bad checksum exit %d, rollback --war exit %d; load: %d requests, %d failed, %d lost sessions",
		badCode, sameCode, code, r.Requests, r.Failed, r.LostSessions)
	assert.Equal(t, 0, code)
	assert.Equal(t, 0, r.Failed, "failed requests")
	assert.Equal(t, 0, r.LostSessions, "lost sessions")
	for n, vs := range f.versionsEverywhere(t) {
		assert.ElementsMatch(t, []string{"001", "002", "003"}, vs, "on %s", n)
	}
}

func TestRollbackAfterContractMigrationRefuses(t *testing.T) {
	testenvtest.Matrix(t)
	f := newFixture(t, testenv.RoundRobin)
	z, mig, tag := zddWithDB(t, f, "--set", "strategy.expire_at_drain_deadline=true")
	require.NoError(t, os.WriteFile(filepath.Join(mig, "expand", "0001_"+tag+"_create.sql"),
		[]byte("CREATE TABLE `"+tag+"` (id INT PRIMARY KEY, old_col INT);\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(mig, "contract", "0002_"+tag+"_drop.sql"),
		[]byte("ALTER TABLE `"+tag+"` DROP COLUMN old_col;\n"), 0o644))
	code, _ := z.run(t, "deploy", f.warFile(t, "001"))
	require.Equal(t, 0, code)
	code, _ = z.run(t, "deploy", f.warFile(t, "002"))
	require.Equal(t, 0, code)
	code, _ = z.run(t, "drain")
	require.Equal(t, 0, code, "drain retires 001 and runs the contract migration")
	hist, err := (&state.Journal{Dir: f.cfg.State.Dir}).History()
	require.NoError(t, err)
	require.True(t, hist[len(hist)-1].Contract, "the contract migration ran")
	stop := keptLoad(f, 20)
	code, out := z.run(t, "rollback", "--yes")
	hardCode, hardOut := z.run(t, "rollback", "--yes", "--hard")
	r := stop()
	logLoad(t, "CONTRACT", r)
	t.Logf("CONTRACT: rollback exit %d, rollback --hard exit %d; load: %d requests, %d failed, %d lost sessions", code, hardCode, r.Requests, r.Failed, r.LostSessions)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "refusing to roll back past a contract migration")
	assert.NotContains(t, out, "panic")
	assert.Equal(t, 1, hardCode)
	assert.NotContains(t, hardOut, "panic")
	assert.Equal(t, 0, r.Failed)
	assert.Equal(t, 0, r.LostSessions)
}

// TestCtrlCAfterCanaryThenRollback interrupts a release while its canary serves 002 (during a
// timed pause, with users whose sessions are 002's), then rolls the paused release back.
func TestCtrlCAfterCanaryThenRollback(t *testing.T) {
	testenvtest.Matrix(t)
	f := newFixture(t, testenv.RoundRobin)
	z, _, _ := zddWithDB(t, f, "--set", "strategy.pause=15s")
	code, _ := z.run(t, "deploy", f.warFile(t, "001"))
	require.Equal(t, 0, code)
	stopOld := keptLoad(f, 10) // sessions on 001
	c, out := z.cmd("deploy", f.warFile(t, "002"))
	require.NoError(t, c.Start())
	j := &state.Journal{Dir: f.cfg.State.Dir}
	deadline := time.Now().Add(5 * time.Minute)
	inPause := false
	for !inPause && time.Now().Before(deadline) {
		rel, _ := j.Current()
		inPause = rel != nil && rel.Status == state.StatusRunning && rel.Current < len(rel.Plan.Steps) &&
			rel.Plan.Steps[rel.Current].Pause != nil
		time.Sleep(20 * time.Millisecond)
	}
	if !inPause {
		_ = c.Process.Kill()
		_ = c.Wait()
		t.Fatalf("the release never reached its pause after the canary:\n%s", out)
	}
	stopCanary := keptLoad(f, 10) // new sessions: on 002, served by the canary n1,n2
	require.NoError(t, c.Process.Signal(syscall.SIGINT))
	err := c.Wait()
	intCode := 0
	if ee, ok := err.(*exec.ExitError); ok {
		intCode = ee.ExitCode()
	}
	t.Logf("zdd deploy interrupted: exit %d\n%s", intCode, out)
	assert.Equal(t, 130, intCode)
	assert.Contains(t, out.String(), "zdd promote")
	rel, err := j.Current()
	require.NoError(t, err)
	assert.Equal(t, state.StatusPaused, rel.Status, "stopped where a paused release stops")
	code, _ = z.run(t, "rollback", "--yes", "--no-drain")
	rOld, rCanary := stopOld(), stopCanary()
	logLoad(t, "CTRL-C old users", rOld)
	logLoad(t, "CTRL-C canary users", rCanary)
	t.Logf("CTRL-C AFTER CANARY: deploy exit %d, rollback of the paused release exit %d; load 001 users: %d requests, %d failed, %d lost; canary users: %d requests, %d failed, %d lost",
		intCode, code, rOld.Requests, rOld.Failed, rOld.LostSessions, rCanary.Requests, rCanary.Failed, rCanary.LostSessions)
	assert.Equal(t, 0, code)
	assert.Equal(t, 0, rOld.Failed+rCanary.Failed, "failed requests")
	assert.Equal(t, 0, rOld.LostSessions+rCanary.LostSessions, "lost sessions")
	assert.Positive(t, rCanary.NewSessionVersions["002"], "the canary users' sessions are 002's")
	for n, vs := range f.versionsEverywhere(t) {
		assert.ElementsMatch(t, []string{"001", "002", "003"}, vs, "on %s", n)
	}
}

func TestAbortPausedRelease(t *testing.T) {
	f := newFixture(t, testenv.RoundRobin)
	z, _, _ := zddWithDB(t, f)
	code, _ := z.run(t, "deploy", f.warFile(t, "001"))
	require.Equal(t, 0, code)
	stopOld := keptLoad(f, 10)
	code, _ = z.run(t, "deploy", f.warFile(t, "002"), "--set", "strategy.pause_after_canary=true")
	require.Equal(t, 7, code, "paused")
	stopCanary := keptLoad(f, 10)
	// --no-drain: a drain whose deadline passes during a poll under load fails (issue 13 item 1,
	// the wait helper); the drain of kept sessions is that item's test.
	code, out := z.run(t, "abort", "--yes", "--no-drain")
	rOld, rCanary := stopOld(), stopCanary()
	logLoad(t, "ABORT old users", rOld)
	logLoad(t, "ABORT canary users", rCanary)
	t.Logf("ABORT PAUSED: abort exit %d; load 001 users: %d requests, %d failed, %d lost; canary users: %d requests, %d failed, %d lost",
		code, rOld.Requests, rOld.Failed, rOld.LostSessions, rCanary.Requests, rCanary.Failed, rCanary.LostSessions)
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "abort: success")
	assert.Equal(t, 0, rOld.Failed+rCanary.Failed, "failed requests")
	assert.Equal(t, 0, rOld.LostSessions+rCanary.LostSessions, "lost sessions")
	assert.Positive(t, rCanary.NewSessionVersions["002"], "the canary users' sessions are 002's")
	for n, vs := range f.versionsEverywhere(t) {
		assert.ElementsMatch(t, []string{"001", "002", "003"}, vs, "on %s", n)
	}
}
