//go:build integration

package testenv_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/wait"
	"github.com/saitodrom/zdd/testenv"
	"github.com/saitodrom/zdd/testenv/testenvtest"
)

func deployAll(t *testing.T, env *testenv.Env, version string) {
	testenvtest.DeploySample(t, env, testenv.WAROptions{Version: version})
}

var pageRE = regexp.MustCompile(`^version=(\S+) node=(n\d) session=(\S+) count=(\d+)\n$`)

// get fetches url with client and parses the sample page.
func get(t *testing.T, c *http.Client, url string) (version, node, session, count string) {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s: %s", url, b)
	m := pageRE.FindStringSubmatch(string(b))
	require.NotNil(t, m, "GET %s: unexpected page %q", url, b)
	return m[1], m[2], m[3], m[4]
}

func TestSessionReplicatesToEveryNode(t *testing.T) {
	env := testenvtest.Require(t)
	deployAll(t, env, "001")

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	version, _, session, count := get(t, c, env.LBs[0].URL+"/app/")
	assert.Equal(t, "001", version)
	assert.Equal(t, "1", count)

	// The session's cookie is set for 127.0.0.1, so the same jar sends it to every node directly.
	for i, n := range env.Nodes {
		_, node, s, count := get(t, c, n.URL+"/app/")
		assert.Equal(t, n.Name, node)
		assert.Equal(t, session, s, "the session id must not change")
		assert.Equal(t, fmt.Sprint(i+2), count, "node %s must see the counter replicated from the others", n.Name)
	}
}

func TestBothLoadBalancersReachEveryNode(t *testing.T) {
	env := testenvtest.Require(t)
	deployAll(t, env, "001")
	for _, lb := range env.LBs {
		seen := map[string]int{}
		c := &http.Client{Timeout: 10 * time.Second} // no jar: every request is a new session
		for range 30 {
			_, node, _, _ := get(t, c, lb.URL+"/app/")
			seen[node]++
		}
		for _, n := range env.Nodes {
			assert.Positive(t, seen[n.Name], "%s never sent a request to %s: %v", lb.Name, n.Name, seen)
		}
	}
}

func TestStickyModeKeepsASessionOnItsNode(t *testing.T) {
	env := testenvtest.Require(t)
	ctx := context.Background()
	sticky, err := testenv.Up(ctx, testenv.Options{Dir: env.Dir, Mode: testenv.Sticky})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := testenv.Up(ctx, testenv.Options{Dir: env.Dir, Mode: env.Mode})
		require.NoError(t, err)
	})
	deployAll(t, sticky, "001")
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	_, first, _, _ := get(t, c, sticky.LBs[1].URL+"/app/")
	for i := range 20 {
		_, node, _, count := get(t, c, sticky.LBs[i%2].URL+"/app/")
		assert.Equal(t, first, node, "a session must stay on the node of its jvmRoute")
		assert.Equal(t, fmt.Sprint(i+2), count)
	}
}

func TestHAProxyRoutesToPrimaryThenReplica(t *testing.T) {
	env := testenvtest.Require(t)
	ctx := context.Background()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = env.DB.User, env.DB.Password, "tcp", env.DB.HAProxyAddr, env.DB.Name
	cfg.Timeout = 2 * time.Second
	writer := func() (id, readOnly int, err error) {
		db, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			return 0, 0, err
		}
		defer db.Close()
		err = db.QueryRowContext(ctx, "SELECT @@server_id, @@read_only").Scan(&id, &readOnly)
		return id, readOnly, err
	}
	id, ro, err := writer()
	require.NoError(t, err)
	assert.Equal(t, [2]int{1, 0}, [2]int{id, ro}, "HAProxy must route to the writable primary")

	require.NoError(t, env.Stop(ctx, "db1"))
	t.Cleanup(func() { require.NoError(t, env.Start(ctx, "db1")) })
	err = wait.Until(ctx, 200*time.Millisecond, 20*time.Second, "HAProxy to fail over", func(context.Context) (bool, error) {
		id, ro, err = writer()
		return err == nil && id == 2, wait.Reason(err)
	})
	require.NoError(t, err)
	assert.Equal(t, 1, ro, "the replica behind HAProxy must be read-only")
}
