//go:build integration

package tomcatmgr_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/testenv"
	"github.com/saitodrom/zdd/testenv/testenvtest"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// itPath is the context path these tests deploy the sample WAR under, apart from the /app
// that other packages' tests use.
const itPath = "/tmgrapp"

func clients(t *testing.T, env *testenv.Env) []*tomcatmgr.Client {
	t.Helper()
	var cs []*tomcatmgr.Client
	for _, n := range env.Nodes {
		c, err := tomcatmgr.New(tomcatmgr.Config{Node: n.Name, BaseURL: n.ManagerURL, User: env.Manager.User,
			Password: env.Manager.Password, RequestTimeout: 20 * time.Second, DeployTimeout: 3 * time.Minute})
		require.NoError(t, err)
		cs = append(cs, c)
	}
	return cs
}

func buildWAR(t *testing.T, dir, name string, opts testenv.WAROptions) string {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	require.NoError(t, err)
	require.NoError(t, testenv.BuildWAR(f, opts))
	require.NoError(t, f.Close())
	return p
}

// cleanup undeploys the given contexts on every node when the test ends.
func cleanup(t *testing.T, cs []*tomcatmgr.Client, cxs ...tomcatmgr.Context) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, c := range cs {
			for _, cx := range cxs {
				if err := c.Undeploy(ctx, cx); err != nil && !errors.Is(err, tomcatmgr.ErrNotFound) {
					t.Errorf("cleanup: %v", err)
				}
			}
		}
	})
}

func find(apps []tomcatmgr.App, cx tomcatmgr.Context) (tomcatmgr.App, bool) {
	for _, a := range apps {
		if a.Context == cx {
			return a, true
		}
	}
	return tomcatmgr.App{}, false
}

// poll calls f every 200 ms until it returns true or the deadline passes.
func poll(t *testing.T, d time.Duration, what string, f func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for !f() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out after %s waiting for %s", d, what)
		case <-tick.C:
		}
	}
}

var sessionRE = regexp.MustCompile(`version=(\S+) node=(\S+) session=(\S+) count=(\d+)`)

func TestIntegrationVersionsSessionsReplication(t *testing.T) {
	env := testenvtest.Require(t)
	cs := clients(t, env)
	ctx := context.Background()
	v1, v2 := tomcatmgr.Context{Path: itPath, Version: "001"}, tomcatmgr.Context{Path: itPath, Version: "002"}
	cleanup(t, cs, v1, v2)
	dir := t.TempDir()
	war1 := buildWAR(t, dir, "a.war", testenv.WAROptions{Version: "001"})
	war2 := buildWAR(t, dir, "b.war", testenv.WAROptions{Version: "002", PadMB: 3})

	for _, c := range cs {
		require.NoError(t, c.Deploy(ctx, v1, war1, nil))
	}
	for _, c := range cs {
		var last [2]int64
		require.NoError(t, c.Deploy(ctx, v2, war2, func(s, total int64) { last = [2]int64{s, total} }))
		assert.Equal(t, last[1], last[0], "progress reached the file size")
		assert.Greater(t, last[1], int64(3<<20))
	}
	err := cs[0].Deploy(ctx, v2, war2, nil)
	assert.ErrorIs(t, err, tomcatmgr.ErrAlreadyExists)

	// A session created on n1 directly lands on the newest version, 002.
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	var id string
	for i := 1; i <= 2; i++ {
		resp, err := hc.Get(env.Nodes[0].URL + itPath + "/")
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		m := sessionRE.FindStringSubmatch(string(b))
		require.NotNil(t, m, string(b))
		assert.Equal(t, "002", m[1])
		assert.Equal(t, "n1", m[2])
		assert.Equal(t, strconv.Itoa(i), m[4])
		id = m[3]
	}
	require.True(t, strings.HasSuffix(id, ".n1"), id)

	for _, c := range cs {
		poll(t, 10*time.Second, "both versions listed with the replicated session on "+c.Node(), func() bool {
			apps, err := c.List(ctx)
			require.NoError(t, err)
			a1, ok1 := find(apps, v1)
			a2, ok2 := find(apps, v2)
			return ok1 && ok2 && a1.State == tomcatmgr.StateRunning && a2.State == tomcatmgr.StateRunning &&
				a1.Sessions == 0 && a2.Sessions >= 1 && a2.DocBase == "tmgrapp##002"
		})
		m, err := c.SessionManager(ctx, v2)
		require.NoError(t, err)
		assert.True(t, m.Clustered, m.ClassName)
		assert.Equal(t, "org.apache.catalina.ha.session.DeltaManager", m.ClassName)
		assert.Equal(t, "STARTED", m.StateName)
		assert.GreaterOrEqual(t, m.ActiveSessions, 1)
		assert.Zero(t, m.CounterNoStateTransferred)

		has, err := c.HasSession(ctx, v2, id)
		require.NoError(t, err)
		assert.True(t, has, "session %s on %s", id, c.Node())
		has, err = c.HasSession(ctx, v1, id)
		require.NoError(t, err)
		assert.False(t, has, "the session belongs to 002 only")
		has, err = c.HasSession(ctx, v2, "0123456789ABCDEF0123456789ABCDEF.n1")
		require.NoError(t, err)
		assert.False(t, has)
	}

	st, err := cs[1].Sessions(ctx, v2)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, st.Active, 1)
	assert.Equal(t, 30, st.DefaultTimeoutMinutes)

	// Stop and start 001 on n1.
	require.NoError(t, cs[0].Stop(ctx, v1))
	apps, err := cs[0].List(ctx)
	require.NoError(t, err)
	a, ok := find(apps, v1)
	require.True(t, ok)
	assert.Equal(t, tomcatmgr.StateStopped, a.State)
	require.NoError(t, cs[0].Start(ctx, v1))
	apps, err = cs[0].List(ctx)
	require.NoError(t, err)
	a, _ = find(apps, v1)
	assert.Equal(t, tomcatmgr.StateRunning, a.State)

	// Expire everything of 002 on n1: DeltaManager expires it on the other nodes too.
	st, err = cs[0].Expire(ctx, v2, 0)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, st.Expired, 1)
	for _, c := range cs[1:] {
		poll(t, 10*time.Second, "expired session gone from "+c.Node(), func() bool {
			has, err := c.HasSession(ctx, v2, id)
			require.NoError(t, err)
			return !has
		})
	}

	for _, c := range cs {
		require.NoError(t, c.Undeploy(ctx, v1))
		require.NoError(t, c.Undeploy(ctx, v2))
		apps, err := c.List(ctx)
		require.NoError(t, err)
		_, ok1 := find(apps, v1)
		_, ok2 := find(apps, v2)
		assert.False(t, ok1 || ok2, "undeployed on %s", c.Node())
	}
	assert.ErrorIs(t, cs[0].Undeploy(ctx, v1), tomcatmgr.ErrNotFound)
	_, err = cs[0].SessionManager(ctx, v2)
	assert.ErrorIs(t, err, tomcatmgr.ErrNotFound)
}

func TestIntegrationClusterAndServerInfo(t *testing.T) {
	env := testenvtest.Require(t)
	ctx := context.Background()
	for i, c := range clients(t, env) {
		ms, err := c.ClusterMembers(ctx)
		require.NoError(t, err)
		var ports []int
		for _, m := range ms {
			assert.Equal(t, "127.0.0.1", m.Host)
			ports = append(ports, m.Port)
		}
		var want []int
		for j, n := range env.Nodes {
			if j != i {
				want = append(want, n.TribesPort)
			}
		}
		assert.ElementsMatch(t, want, ports, "members seen by %s", c.Node())

		si, err := c.ServerInfo(ctx)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(si.TomcatVersion, "Apache Tomcat/10.1."), si.TomcatVersion)

		cls, err := c.Get(ctx, "Catalina:type=Manager,host=localhost,context=/manager", "className")
		require.NoError(t, err)
		assert.False(t, tomcatmgr.IsClusteredManager(cls), "the manager webapp is not distributable: %s", cls)
	}
}

func TestIntegrationDeployFromServerPath(t *testing.T) {
	env := testenvtest.Require(t)
	c := clients(t, env)[0]
	ctx := context.Background()
	cx := tomcatmgr.Context{Path: itPath, Version: "003"}
	cleanup(t, []*tomcatmgr.Client{c}, cx)
	dir := filepath.Join(t.TempDir(), "shared:storage")
	require.NoError(t, os.Mkdir(dir, 0o755))
	war := buildWAR(t, dir, "tmgrapp##003.war", testenv.WAROptions{Version: "003"})
	require.NoError(t, c.DeployFromServerPath(ctx, cx, war))
	apps, err := c.List(ctx)
	require.NoError(t, err)
	a, ok := find(apps, cx)
	require.True(t, ok)
	assert.Equal(t, tomcatmgr.StateRunning, a.State)
	err = c.DeployFromServerPath(ctx, tomcatmgr.Context{Path: itPath, Version: "004"}, filepath.Join(dir, "missing.war"))
	assert.ErrorIs(t, err, tomcatmgr.ErrFailed)
}

func TestIntegrationWrongPasswordIsNotRetried(t *testing.T) {
	env := testenvtest.Require(t)
	n := env.Nodes[0]
	c, err := tomcatmgr.New(tomcatmgr.Config{Node: n.Name, BaseURL: n.ManagerURL, User: env.SpareManager.User,
		Password: "wrong-" + env.SpareManager.Password, Retries: 5})
	require.NoError(t, err)
	_, err = c.List(context.Background())
	assert.ErrorIs(t, err, tomcatmgr.ErrAuth)
	assert.NotContains(t, err.Error(), env.SpareManager.Password)
	// A rejected upload reports the 401, not the broken pipe of the unread body.
	war := buildWAR(t, t.TempDir(), "big.war", testenv.WAROptions{Version: "001", PadMB: 20})
	err = c.Deploy(context.Background(), tomcatmgr.Context{Path: itPath, Version: "001"}, war, nil)
	assert.ErrorIs(t, err, tomcatmgr.ErrAuth)
	// Two failed logins, not twelve: the spare user is still usable with the right password.
	ok, err := tomcatmgr.New(tomcatmgr.Config{Node: n.Name, BaseURL: n.ManagerURL, User: env.SpareManager.User,
		Password: env.SpareManager.Password})
	require.NoError(t, err)
	_, err = ok.ServerInfo(context.Background())
	require.NoError(t, err)
}
