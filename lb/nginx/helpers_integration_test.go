//go:build integration

package nginx

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/lb/remote"
	"github.com/saitodrom/zdd/testenv"
	"github.com/saitodrom/zdd/testenv/testenvtest"
)

// probeApp is a context of its own, so these tests do not disturb /app.
const probeApp = "/lbprobe"

// setup returns the cluster, SSH runners to both load balancers and a
// Balancer over them; it deploys the probe app and restores the upstream
// files (and reloads) when the test ends.
func setup(t *testing.T) (*testenv.Env, []Host, *Balancer) {
	t.Helper()
	env := testenvtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	deployProbe(t, ctx, env)
	var hosts []Host
	originals := map[string][]byte{}
	for _, l := range env.LBs {
		r, err := remote.DialSSH(ctx, remote.SSHOptions{Name: l.Name, Addr: l.SSHAddr, User: env.SSH.User,
			KeyFile: env.SSH.IdentityFile, KnownHostsFile: env.SSH.KnownHosts})
		require.NoError(t, err)
		t.Cleanup(func() { r.Close() })
		orig, err := os.ReadFile(l.UpstreamFile)
		require.NoError(t, err)
		originals[l.Name] = orig
		hosts = append(hosts, Host{Name: l.Name, Runner: r, UpstreamFile: l.UpstreamFile, TestCommand: l.TestCommand,
			ReloadCommand: l.ReloadCommand, PidFile: l.PidFile, ErrorLog: l.ErrorLog})
	}
	b := newEnvBalancer(t, env, hosts)
	all, err := b.States(ctx)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := b.Apply(ctx, all); err != nil {
			t.Errorf("restore weights: %v", err)
		}
		for _, l := range env.LBs {
			now, _ := os.ReadFile(l.UpstreamFile)
			if !bytes.Equal(now, originals[l.Name]) {
				t.Errorf("%s: upstream file not restored:\n%s", l.Name, now)
			}
		}
	})
	return env, hosts, b
}

func newEnvBalancer(t *testing.T, env *testenv.Env, hosts []Host) *Balancer {
	nodes := map[string]string{}
	for _, n := range env.Nodes {
		nodes[n.Name] = n.Upstream
	}
	b, err := New(Options{Hosts: hosts, Nodes: nodes, ReloadTimeout: 10 * time.Second})
	require.NoError(t, err)
	return b
}

// deployProbe deploys the sample WAR as /lbprobe on each node, one node at a
// time (plain Manager text API), unless it already answers.
func deployProbe(t *testing.T, ctx context.Context, env *testenv.Env) {
	t.Helper()
	var war bytes.Buffer
	require.NoError(t, testenv.BuildWAR(&war, testenv.WAROptions{Version: "lb"}))
	for _, n := range env.Nodes {
		if code, _ := get(ctx, http.DefaultClient, n.URL+probeApp+"/version.jsp"); code == 200 {
			continue
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPut,
			n.ManagerURL+"/text/deploy?path="+probeApp+"&update=true", bytes.NewReader(war.Bytes()))
		require.NoError(t, err)
		req.SetBasicAuth(env.Manager.User, env.Manager.Password)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.True(t, strings.HasPrefix(string(body), "OK"), "deploy on %s: %s", n.Name, body)
	}
}

func get(ctx context.Context, c *http.Client, url string) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err.Error()
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var nodeRE = regexp.MustCompile(`node=(\w+)`)

// countNodes sends n session-less requests through the load balancer at url
// and counts which node answered; any failure fails the test.
func countNodes(t *testing.T, url string, n int) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := &http.Client{Timeout: 5 * time.Second}
	counts := map[string]int{}
	for range n {
		code, body := get(ctx, c, url+probeApp+"/version.jsp")
		m := nodeRE.FindStringSubmatch(body)
		require.True(t, code == 200 && m != nil, "GET %s: %d %s", url, code, body)
		counts[m[1]]++
	}
	return counts
}

// sessionClient is one user with a cookie jar.
func sessionClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

func describe(m map[string]int) string {
	return fmt.Sprintf("n1=%d n2=%d n3=%d", m["n1"], m["n2"], m["n3"])
}
