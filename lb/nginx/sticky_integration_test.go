//go:build integration

package nginx

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/testenv"
	"github.com/saitodrom/zdd/testenv/testenvtest"
)

// stickyEnv switches testenv to sticky mode for the test (and back after it).
func stickyEnv(t *testing.T) *testenv.Env {
	env := testenvtest.Require(t)
	ctx := context.Background()
	sticky, err := testenv.Up(ctx, testenv.Options{Dir: env.Dir, Mode: testenv.Sticky})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := testenv.Up(ctx, testenv.Options{Dir: env.Dir, Mode: env.Mode})
		require.NoError(t, err)
	})
	return sticky
}

// TestIntegrationSticky runs the sticky checks below in one switch of testenv to sticky mode.
func TestIntegrationSticky(t *testing.T) {
	env := stickyEnv(t)
	t.Run("every shape passes nginx -t", func(t *testing.T) { stickyEveryShapePassesNginxTest(t, env) })
	t.Run("fallback routes", func(t *testing.T) { stickyFallbackRoutes(t, env) })
}

// stickyEveryShapePassesNginxTest renders every combination of node states
// (in rotation, fallback, down) into lb1's real sticky upstream file and runs nginx -t on
// lb1's real main configuration with it: Nginx accepts every file zdd writes, and every node
// back in gives the file as it was.
func stickyEveryShapePassesNginxTest(t *testing.T, env *testenv.Env) {
	l := env.LBs[0]
	orig, err := os.ReadFile(l.UpstreamFile)
	require.NoError(t, err)
	main, err := os.ReadFile(l.MainConfig)
	require.NoError(t, err)
	dir := t.TempDir()
	upFile, mainFile := filepath.Join(dir, "upstreams.conf"), filepath.Join(dir, "nginx.conf")
	require.Contains(t, string(main), "include "+l.UpstreamFile+";")
	require.NoError(t, os.WriteFile(mainFile, []byte(strings.Replace(string(main), "include "+l.UpstreamFile+";", "include "+upFile+";", 1)), 0o644))
	nginxBin := strings.Fields(l.TestCommand)[0]

	f, err := Parse(orig)
	require.NoError(t, err)
	cur, err := f.States(nil)
	require.NoError(t, err)
	in := map[string]lb.State{}
	for a, st := range cur {
		in[a] = lb.State{Weight: st.Weight}
	}
	base, err := f.Render(in, nil)
	require.NoError(t, err)
	require.Equal(t, string(orig), string(base), "testenv's sticky file has every node in rotation")
	start := time.Now()
	for _, states := range allStates(lb.SortedNodes(cur), cur) {
		out, err := f.Render(states, nil)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(upFile, out, 0o644))
		res, err := exec.Command(nginxBin, "-t", "-c", mainFile, "-e", filepath.Join(dir, "error.log")).CombinedOutput()
		require.NoError(t, err, "nginx -t refused the file for %v:\n%s\n%s", states, res, out)
		g, err := Parse(out)
		require.NoError(t, err)
		back, err := g.Render(in, nil)
		require.NoError(t, err)
		require.Equal(t, string(orig), string(back), "every node back in after %v", states)
	}
	t.Logf("nginx -t accepted all %d shapes in %s", len(allStates(lb.SortedNodes(cur), cur)), time.Since(start).Round(time.Millisecond))
}

// stickyFallbackRoutes applies "n3 alone in rotation, n1 and n2 fallbacks" on
// both real load balancers: Nginx runs it (Verify), new users and the sessions of n1 go to n3,
// and every node back in restores the upstream files byte for byte.
func stickyFallbackRoutes(t *testing.T, env *testenv.Env) {
	_, _, b := setup(t)
	ctx := context.Background()
	orig := map[string][]byte{}
	for _, l := range env.LBs {
		orig[l.Name], _ = os.ReadFile(l.UpstreamFile)
	}
	alone := map[string]lb.State{"n1": {Weight: 1, Down: true, Backup: true}, "n2": {Weight: 1, Down: true, Backup: true}, "n3": {Weight: 1}}
	require.NoError(t, b.Apply(ctx, alone))
	require.NoError(t, b.Verify(ctx, alone))
	st, err := b.States(ctx)
	require.NoError(t, err)
	assert.Equal(t, alone, st)
	c := &http.Client{Timeout: 5 * time.Second}
	for _, l := range env.LBs {
		counts := countNodes(t, l.URL, 30)
		assert.Equal(t, map[string]int{"n3": 30}, counts, "new users on %s", l.Name)
		for _, owner := range []string{"n1", "n2", "n3"} {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.URL+probeApp+"/version.jsp", nil)
			require.NoError(t, err)
			req.AddCookie(&http.Cookie{Name: "JSESSIONID", Value: "0123456789ABCDEF." + owner})
			resp, err := c.Do(req)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			m := nodeRE.FindStringSubmatch(string(body))
			require.NotNil(t, m, "%s: %s", l.Name, body)
			assert.Equal(t, "n3", m[1], "a session of %s on %s goes to n3, the only node in rotation", owner, l.Name)
		}
	}
	all := map[string]lb.State{"n1": {Weight: 1}, "n2": {Weight: 1}, "n3": {Weight: 1}}
	require.NoError(t, b.Apply(ctx, all))
	require.NoError(t, b.Verify(ctx, all))
	for _, l := range env.LBs {
		now, _ := os.ReadFile(l.UpstreamFile)
		assert.Equal(t, string(orig[l.Name]), string(now), "%s: every node back in restores the file", l.Name)
	}
}
