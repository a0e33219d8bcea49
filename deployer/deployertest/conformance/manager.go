// Package conformance holds the cases that every implementation of one of zdd's seams must
// pass, in the manner of golang-migrate's database/testing: one exported function per seam
// (Manager, Balancer, Prober, Writer) runs every case as a subtest against whatever the caller
// hands it. Unit tests run them against deployertest's fakes; integration tests (build tag
// integration) run the same functions against the real adapters on testenv (tomcatmgr.Client
// on a Tomcat node, lb/nginx over SSH, deployer.HTTPProber, HAProxy's active server). When the
// two disagree, the fake is changed to do what the real adapter does.
package conformance

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// ManagerTarget is one node's Manager and what the Manager cases need around it.
type ManagerTarget struct {
	// Manager is the node's Manager.
	Manager deployer.Manager
	// Unreachable is a Manager of a node that does not exist or does not answer.
	Unreachable deployer.Manager
	// Path is a context path that only the suite uses on the node: it deploys versions 901...
	// of it and undeploys them before it returns.
	Path string
	// WAR is the absolute path of a WAR of the sample application (testenv.BuildWAR) on this
	// machine, which is also the node's disk (for DeployFromServerPath); its directory must
	// not hold a file named missing.war.
	WAR string
	// HangNextDeploy, if not nil, makes the next Deploy outlast a short deadline (a fake needs
	// it; a real node's deploy takes longer than 20 ms on its own).
	HangNextDeploy func()
	// Settle bounds how long the node may take to show the outcome of a deploy that timed
	// out. Zero means 10 s.
	Settle time.Duration
}

// Manager runs the Manager cases against the target newTarget returns (called once per case).
func Manager(t *testing.T, newTarget func(t *testing.T) ManagerTarget) {
	cases := []struct {
		name string
		run  func(*testing.T, target)
	}{
		{"DeployThenListShowsItRunning", deployRuns},
		{"DuplicateDeployRefused", duplicateRefused},
		{"UnknownContextRefused", unknownContextRefused},
		{"UnreachableNodeRefused", unreachableRefused},
		{"InvalidInputRefusedBeforeAnythingChanges", invalidRefused},
		{"SessionAbsentFromNodeReportedAbsent", sessionAbsent},
		{"ExpiredDeadlineIsATimeoutWithUnknownOutcome", expiredDeadline},
		{"DeadlinePassingDuringDeployIsATimeout", deadlineDuringDeploy},
		{"StopKeepsTheContextStopped", stopKeeps},
		{"DeployFromServerPath", deployFromServerPath},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg := target{ManagerTarget: newTarget(t), base: 901 + 10*i}
			clean(t, tg, tg.cx(0), tg.cx(1)) // left by an earlier run whose deploy outlived its case
			c.run(t, tg)
		})
	}
}

// target is a case's target with the versions the case may use: base, base+1...
type target struct {
	ManagerTarget
	base int
}

// cx returns the case's i-th context (version base+i, three digits): no two cases share one,
// so a context a failed case left behind does not break the next.
func (tg target) cx(i int) tomcatmgr.Context {
	return tomcatmgr.Context{Path: tg.Path, Version: itoa3(tg.base + i)}
}

func itoa3(n int) string {
	return string([]byte{byte('0' + n/100%10), byte('0' + n/10%10), byte('0' + n%10)})
}

func bg(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// cleanup undeploys the contexts when the case ends, whatever their state.
func cleanup(t *testing.T, tg target, cxs ...tomcatmgr.Context) {
	t.Cleanup(func() { clean(t, tg, cxs...) })
}

// clean undeploys the contexts the node has.
func clean(t *testing.T, tg target, cxs ...tomcatmgr.Context) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range cxs {
		if err := tg.Manager.Undeploy(ctx, c); err != nil && !errors.Is(err, tomcatmgr.ErrNotFound) {
			t.Errorf("clean up: undeploy %s: %v", c.Name(), err)
		}
	}
}

// app returns cx as List shows it.
func app(t *testing.T, tg target, c tomcatmgr.Context) (tomcatmgr.App, bool) {
	t.Helper()
	apps, err := tg.Manager.List(bg(t))
	require.NoError(t, err)
	i := slices.IndexFunc(apps, func(a tomcatmgr.App) bool { return a.Context == c })
	if i < 0 {
		return tomcatmgr.App{}, false
	}
	return apps[i], true
}

func deployRuns(t *testing.T, tg target) {
	c := tg.cx(0)
	cleanup(t, tg, c)
	var sent, total int64
	require.NoError(t, tg.Manager.Deploy(bg(t), c, tg.WAR, func(s, n int64) { sent, total = s, n }))
	a, ok := app(t, tg, c)
	require.True(t, ok, "List shows %s after Deploy", c.Name())
	assert.Equal(t, tomcatmgr.StateRunning, a.State)
	assert.Positive(t, total, "progress reports the WAR's size")
	assert.Equal(t, total, sent, "the last progress call reports the whole WAR sent")
	sm, err := tg.Manager.SessionManager(bg(t), c)
	require.NoError(t, err)
	assert.True(t, sm.Clustered, "the sample WAR is distributable: %s", sm.ClassName)
}

func duplicateRefused(t *testing.T, tg target) {
	c := tg.cx(0)
	cleanup(t, tg, c)
	require.NoError(t, tg.Manager.Deploy(bg(t), c, tg.WAR, nil))
	err := tg.Manager.Deploy(bg(t), c, tg.WAR, nil)
	require.ErrorIs(t, err, tomcatmgr.ErrAlreadyExists, "a second deploy of %s", c.Name())
	err = tg.Manager.DeployFromServerPath(bg(t), c, tg.WAR)
	require.ErrorIs(t, err, tomcatmgr.ErrAlreadyExists, "a deploy from a server path of a deployed %s", c.Name())
	a, ok := app(t, tg, c)
	require.True(t, ok)
	assert.Equal(t, tomcatmgr.StateRunning, a.State, "the refused deploys left it running")
	require.NoError(t, tg.Manager.Stop(bg(t), c))
	err = tg.Manager.Deploy(bg(t), c, tg.WAR, nil)
	require.ErrorIs(t, err, tomcatmgr.ErrAlreadyExists, "a stopped context is still deployed")
}

func unknownContextRefused(t *testing.T, tg target) {
	c := tg.cx(0) // never deployed
	ctx := bg(t)
	for name, err := range map[string]error{
		"Stop":     tg.Manager.Stop(ctx, c),
		"Undeploy": tg.Manager.Undeploy(ctx, c),
	} {
		assert.ErrorIs(t, err, tomcatmgr.ErrNotFound, "%s of a context the node does not have", name)
	}
	_, err := tg.Manager.SessionManager(ctx, c)
	assert.ErrorIs(t, err, tomcatmgr.ErrNotFound, "SessionManager")
	_, err = tg.Manager.HasSession(ctx, c, "ABCDEF0123456789.n1")
	assert.ErrorIs(t, err, tomcatmgr.ErrNotFound, "HasSession")
	_, err = tg.Manager.SessionIDs(ctx, c)
	assert.ErrorIs(t, err, tomcatmgr.ErrNotFound, "SessionIDs")
	_, _, err = tg.Manager.LastAccessed(ctx, c, "ABCDEF0123456789.n1")
	assert.ErrorIs(t, err, tomcatmgr.ErrNotFound, "LastAccessed")
	_, ok := app(t, tg, c)
	assert.False(t, ok, "nothing was deployed")
}

func unreachableRefused(t *testing.T, tg target) {
	require.NotNil(t, tg.Unreachable, "the target needs an unreachable node")
	_, err := tg.Unreachable.List(bg(t))
	assert.ErrorIs(t, err, tomcatmgr.ErrUnreachable)
	err = tg.Unreachable.Deploy(bg(t), tg.cx(0), tg.WAR, nil)
	assert.ErrorIs(t, err, tomcatmgr.ErrUnreachable)
}

func invalidRefused(t *testing.T, tg target) {
	ctx := bg(t)
	bad := tomcatmgr.Context{Path: tg.Path, Version: "9/1"}
	assert.ErrorIs(t, tg.Manager.Deploy(ctx, bad, tg.WAR, nil), tomcatmgr.ErrInvalid, "a version with a slash")
	c := tg.cx(0)
	cleanup(t, tg, c)
	missing := filepath.Join(filepath.Dir(tg.WAR), "missing.war")
	assert.ErrorIs(t, tg.Manager.Deploy(ctx, c, missing, nil), tomcatmgr.ErrInvalid, "a WAR that does not exist here")
	assert.ErrorIs(t, tg.Manager.DeployFromServerPath(ctx, c, "relative/app.war"), tomcatmgr.ErrInvalid, "a relative server path")
	assert.ErrorIs(t, tg.Manager.DeployFromServerPath(ctx, c, "/srv/../etc/app.war"), tomcatmgr.ErrInvalid, "a server path with ..")
	assert.ErrorIs(t, tg.Manager.DeployFromServerPath(ctx, c, "/srv/app.zip"), tomcatmgr.ErrInvalid, "a server path not ending in .war")
	_, err := tg.Manager.HasSession(ctx, c, "bad id")
	assert.ErrorIs(t, err, tomcatmgr.ErrInvalid, "a session id with a space")
	_, ok := app(t, tg, c)
	assert.False(t, ok, "nothing was deployed")
}

func sessionAbsent(t *testing.T, tg target) {
	c := tg.cx(0)
	cleanup(t, tg, c)
	require.NoError(t, tg.Manager.Deploy(bg(t), c, tg.WAR, nil))
	const id = "0123456789ABCDEF0123456789ABCDEF.n9"
	ok, err := tg.Manager.HasSession(bg(t), c, id)
	require.NoError(t, err)
	assert.False(t, ok, "a session the node never had is absent")
	_, found, err := tg.Manager.LastAccessed(bg(t), c, id)
	require.NoError(t, err)
	assert.False(t, found)
	ids, err := tg.Manager.SessionIDs(bg(t), c)
	require.NoError(t, err)
	assert.NotContains(t, ids, id)
	assert.NoError(t, tg.Manager.ExpireSession(bg(t), c, id), "expiring an absent session is no error")
}

// expired returns a context whose deadline has passed.
func expired() context.Context {
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	cancel() // the deadline came first: ctx.Err() stays context.DeadlineExceeded
	return ctx
}

// isTimeout checks the classification of a call that ran out of time.
func isTimeout(t *testing.T, err error, what string) {
	t.Helper()
	require.Error(t, err, what)
	assert.ErrorIs(t, err, tomcatmgr.ErrTimeout, what)
	assert.ErrorIs(t, err, context.DeadlineExceeded, what)
}

func expiredDeadline(t *testing.T, tg target) {
	c := tg.cx(0)
	cleanup(t, tg, c)
	_, err := tg.Manager.List(expired())
	isTimeout(t, err, "List")
	err = tg.Manager.Deploy(expired(), c, tg.WAR, nil)
	isTimeout(t, err, "Deploy")
	assert.Contains(t, err.Error(), "outcome is unknown", "a deploy that timed out says its outcome is unknown")
	err = tg.Manager.Undeploy(expired(), c)
	isTimeout(t, err, "Undeploy")
	assert.Contains(t, err.Error(), "outcome is unknown")
	_, err = tg.Manager.HasSession(expired(), c, "0123456789ABCDEF.n1")
	isTimeout(t, err, "HasSession")
}

func deadlineDuringDeploy(t *testing.T, tg target) {
	c := tg.cx(0)
	cleanup(t, tg, c)
	if tg.HangNextDeploy != nil {
		tg.HangNextDeploy()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := tg.Manager.Deploy(ctx, c, tg.WAR, nil)
	isTimeout(t, err, "Deploy")
	assert.Contains(t, err.Error(), "outcome is unknown")
	// The outcome is unknown: List tells, once the node has finished (or never started).
	settle := tg.Settle
	if settle == 0 {
		settle = 10 * time.Second
	}
	end := time.Now().Add(settle)
	for time.Now().Before(end) {
		if a, ok := app(t, tg, c); ok && a.State == tomcatmgr.StateRunning {
			t.Logf("%s was deployed after its caller gave up", c.Name())
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("%s was not deployed", c.Name())
}

func stopKeeps(t *testing.T, tg target) {
	c := tg.cx(0)
	cleanup(t, tg, c)
	require.NoError(t, tg.Manager.Deploy(bg(t), c, tg.WAR, nil))
	require.NoError(t, tg.Manager.Stop(bg(t), c))
	a, ok := app(t, tg, c)
	require.True(t, ok, "a stopped context stays deployed")
	assert.Equal(t, tomcatmgr.StateStopped, a.State)
	// Tomcat keeps a stopped context's session manager, empty and STOPPED.
	ids, err := tg.Manager.SessionIDs(bg(t), c)
	require.NoError(t, err)
	assert.Empty(t, ids, "a stopped context has no sessions")
	sm, err := tg.Manager.SessionManager(bg(t), c)
	require.NoError(t, err)
	assert.Equal(t, "STOPPED", sm.StateName)
	assert.Zero(t, sm.ActiveSessions)
	assert.False(t, sm.StateTransferred)
	has, err := tg.Manager.HasSession(bg(t), c, "0123456789ABCDEF.n1")
	require.NoError(t, err)
	assert.False(t, has)
	require.NoError(t, tg.Manager.Undeploy(bg(t), c))
	_, ok = app(t, tg, c)
	assert.False(t, ok, "Undeploy removes a stopped context")
	assert.ErrorIs(t, tg.Manager.Undeploy(bg(t), c), tomcatmgr.ErrNotFound, "a second Undeploy")
}

func deployFromServerPath(t *testing.T, tg target) {
	c, other := tg.cx(0), tg.cx(1)
	cleanup(t, tg, c, other)
	require.NoError(t, tg.Manager.DeployFromServerPath(bg(t), c, tg.WAR))
	a, ok := app(t, tg, c)
	require.True(t, ok)
	assert.Equal(t, tomcatmgr.StateRunning, a.State)
	err := tg.Manager.DeployFromServerPath(bg(t), other, filepath.Join(filepath.Dir(tg.WAR), "missing.war"))
	assert.ErrorIs(t, err, tomcatmgr.ErrFailed, "a WAR the node cannot read")
	_, ok = app(t, tg, other)
	assert.False(t, ok, "nothing was deployed from a missing WAR")
}
