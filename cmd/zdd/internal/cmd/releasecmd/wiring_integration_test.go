//go:build integration

package releasecmd_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/cmd/zdd/internal/zddcmd"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/watch"
)

// withTestenvMigrations drops newCLI's empty migrations directory: the commands use the
// database and the migrations of testenv's zdd.yaml (an expand migration, a contract phase).
func (c *cli) withTestenvMigrations() {
	var base []string
	for i := 0; i < len(c.base); i++ {
		if c.base[i] == "--set" && i+1 < len(c.base) && strings.HasPrefix(c.base[i+1], "migrations.dir=") {
			i++
			continue
		}
		base = append(base, c.base[i])
	}
	c.base = base
}

// stateDir is the state directory the commands use.
func (c *cli) stateDir() string {
	for _, a := range c.base {
		if d, ok := strings.CutPrefix(a, "state.dir="); ok {
			return d
		}
	}
	return ""
}

// keepSessions runs users that keep their sessions for the whole test: each keeps its cookie
// and requests a page every second through a load balancer. stop ends them and returns the
// report.
func (c *cli) keepSessions(t *testing.T, users int) (stop func() *watch.Report) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *watch.Report, 1)
	go func() {
		done <- watch.Run(ctx, watch.Options{URLs: []string{c.env.LBs[0].URL + "/app/", c.env.LBs[1].URL + "/app/"},
			Users: users, NewSessionEvery: 1 << 30, Interval: time.Second})
	}()
	time.Sleep(1500 * time.Millisecond) // every user has its session
	return func() *watch.Report {
		cancel()
		r := <-done
		t.Logf("load: %s", r)
		for _, f := range r.Failures {
			t.Logf("  %s user %d: %s", f.At.Round(time.Millisecond), f.User, f.What)
		}
		return r
	}
}

var keptRE = regexp.MustCompile(`drain deadline 5s reached: kept (\d+) \((\d+) sessions?\)`)

// TestDrainDeadlineKeepsSessions: users keep their 001 sessions for the whole test, so a
// release's drain (strategy.drain_timeout 5s) reaches its deadline: exit 0, a warning names
// 001 with its session count, 001 stays on every node; then a soft rollback's drain reaches
// its deadline the same way. No request fails, no session is lost.
func TestDrainDeadlineKeepsSessions(t *testing.T) {
	c := newCLI(t)
	c.withTestenvMigrations()
	require.Equal(t, 0, first(c.run(t, "deploy", c.war(t, "001"))))
	stop := c.keepSessions(t, 6)

	t0 := time.Now()
	code, out, errOut := c.run(t, "deploy", c.war(t, "002"))
	t.Logf("deploy 002 with a drain that reaches its deadline: exit %d in %s", code, time.Since(t0).Round(time.Millisecond))
	require.Equal(t, 0, code)
	assert.Contains(t, out, "success: app 001 -> 002")
	m := keptRE.FindStringSubmatch(errOut)
	require.NotNil(t, m, "a warning names the version kept and its sessions")
	assert.Equal(t, "001", m[1])
	assert.NotEqual(t, "0", m[2])
	assert.Contains(t, errOut, "/app##001 kept: ")
	assert.Contains(t, errOut, "waiting for the old sessions to end", "the 5 s drain reports while it waits")
	assert.Equal(t, every(c.env, "001", "002"), c.direct(t), "001 keeps its sessions")

	t0 = time.Now()
	code, out, errOut = c.run(t, "rollback", "--yes")
	t.Logf("soft rollback with a drain that reaches its deadline: exit %d in %s", code, time.Since(t0).Round(time.Millisecond))
	require.Equal(t, 0, code)
	assert.Contains(t, out, "rollback: success")
	assert.Regexp(t, `drain deadline 5s reached: kept 001 \(\d+ sessions?\)`, errOut)
	assert.Equal(t, every(c.env, "001", "003"), c.direct(t),
		"the rollback redeployed 001's code as 003, kept 001 with its sessions and undeployed 002, which had none")

	r := stop()
	assert.Equal(t, 0, r.Failed, "failed requests")
	assert.Equal(t, 0, r.LostSessions, "lost sessions")
}

// TestResumeWithDatabaseBeforeContract: a release with the database and migrations of
// testenv is interrupted in its drain, before its contract step; `zdd resume` finishes it
// (drain to its deadline, undeploy keeping 001, contract) with exit 0.
func TestResumeWithDatabaseBeforeContract(t *testing.T) {
	c := newCLI(t)
	c.withTestenvMigrations()
	require.Equal(t, 0, first(c.run(t, "deploy", c.war(t, "001"))))
	stop := c.keepSessions(t, 4)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	j := &state.Journal{Dir: c.stateDir()}
	go func() { // interrupt the release once its drain runs
		for ctx.Err() == nil {
			if rel, _ := j.Current(); rel != nil && rel.Plan.To == "002" && rel.Current < len(rel.Plan.Steps) &&
				rel.Plan.Steps[rel.Current].Drain != nil && !rel.Steps[rel.Current].Started.IsZero() {
				cancel()
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	streams, _, out, errOut := iostreams.Test()
	code := zddcmd.Main(ctx, append([]string{"deploy", c.war(t, "002")}, c.base...), streams)
	t.Logf("zdd deploy 002, interrupted in its drain: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	require.Equal(t, 130, code)
	rel, err := j.Current()
	require.NoError(t, err)
	require.Equal(t, state.StatusInterrupted, rel.Status)
	last := rel.Plan.Steps[len(rel.Plan.Steps)-1]
	require.NotNil(t, last.Migrate, "the plan ends with its contract migrations")
	require.Equal(t, "contract", last.Migrate.Phase)
	require.Less(t, rel.Current, len(rel.Plan.Steps)-1, "interrupted before the contract step")

	t0 := time.Now()
	code, stdout, stderr := c.run(t, "resume")
	t.Logf("resume: exit %d in %s", code, time.Since(t0).Round(time.Millisecond))
	require.Equal(t, 0, code, "resume with a database configured runs the contract step")
	assert.Contains(t, stdout, "resume: success")
	assert.NotContains(t, stderr, "no migrator is configured")
	assert.Regexp(t, `\[\d+ migrate\]`, stderr, "the contract step ran")
	rel, err = j.Current()
	require.NoError(t, err)
	assert.Equal(t, state.StatusDone, rel.Status)
	assert.Equal(t, 6, first(c.run(t, "resume")), "resume twice: nothing to do")

	r := stop()
	assert.Equal(t, 0, r.Failed, "failed requests")
	assert.Equal(t, 0, r.LostSessions, "lost sessions")
}
