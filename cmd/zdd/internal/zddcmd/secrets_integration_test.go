//go:build integration

package zddcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/connect"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/statedir"
	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/testenv"
	"github.com/saitodrom/zdd/testenv/testenvtest"
)

// secretsRun records every byte zdd printed during the test.
type secretsRun struct {
	env     *testenv.Env
	base    []string
	mu      sync.Mutex
	printed bytes.Buffer
}

// zdd runs one command in-process and keeps its stdout and stderr.
func (r *secretsRun) zdd(t *testing.T, args ...string) (int, string) {
	streams, _, out, errOut := iostreams.Test()
	start := time.Now()
	code := Main(context.Background(), append(append([]string{}, args...), r.base...), streams)
	r.mu.Lock()
	r.printed.Write(out.Bytes())
	r.printed.Write(errOut.Bytes())
	r.mu.Unlock()
	t.Logf("zdd %s: exit %d in %.1fs", strings.Join(args[:min(len(args), 2)], " "), code, time.Since(start).Seconds())
	return code, out.String() + errOut.String()
}

// TestNoSecretInOutputOrState (issue 14, item 5): a release, a failed release (rolled back),
// a rollback and a forced lease takeover, run with testenv's known passwords and a --watch URL
// carrying user:password@ (a password with '@', ':' and '/'); then every byte zdd printed
// (text and JSON events) and every file under state.dir is searched for each secret: 0 hits.
// The state directory and its files have the private modes (0700, 0600).
func TestNoSecretInOutputOrState(t *testing.T) {
	env := testenvtest.Require(t)
	for _, k := range config.Keys() {
		t.Setenv(config.EnvVar(k), "")
	}
	const watchUser, watchPass = "watchuser7", "Wp@ss:w0rd/9x"
	watch := strings.Replace(env.LBs[0].URL, "://", "://"+url.UserPassword(watchUser, watchPass).String()+"@", 1) + "/" + env.App + "/"
	require.Contains(t, watch, "%40")
	secrets := []string{env.Manager.Password, env.SpareManager.Password, env.DB.Password, watchUser, watchPass,
		url.QueryEscape(watchPass), url.PathEscape(watchPass), "Wp@ss", "w0rd/9x"}
	for _, s := range secrets {
		require.NotEmpty(t, s)
	}

	state := filepath.Join(t.TempDir(), "state") // created by zdd
	mig := t.TempDir()
	for _, p := range []string{"expand", "contract"} {
		require.NoError(t, os.MkdirAll(filepath.Join(mig, p), 0o755))
	}
	r := &secretsRun{env: env, base: []string{"--config", env.ConfigFile, "--set", "state.dir=" + state,
		"--set", "migrations.dir=" + mig, "--set", "strategy.drain_timeout=5s", "--set", "strategy.lease_ttl=3s",
		// The machine is shared: a slow Manager answer must not fail a step of this test.
		"--set", "tomcat.request_timeout=30s"}}
	cleanCluster(t, env)
	t.Cleanup(func() { cleanCluster(t, env) })
	war := func(v string, failHealth bool) string {
		p := filepath.Join(t.TempDir(), "app-"+v+".war")
		f, err := os.Create(p)
		require.NoError(t, err)
		require.NoError(t, testenv.BuildWAR(f, testenv.WAROptions{Version: v, FailHealth: failHealth}))
		require.NoError(t, f.Close())
		return p
	}

	// A first release (nothing to watch yet: /app/ answers 404), with a password on the command
	// line, in JSON events; then a failed one (health 500) with the watch, rolled back.
	code, out := r.zdd(t, "deploy", war("001", false), "--output", "json", "--set", "tomcat.password="+env.Manager.Password)
	require.Equal(t, 0, code, out)
	code, out = r.zdd(t, "deploy", war("002", true), "--watch", watch)
	require.Equal(t, 3, code, out)
	// A good release, then a rollback to the previous one.
	code, out = r.zdd(t, "deploy", war("002", false), "--watch", watch, "--output", "json")
	require.Equal(t, 0, code, out)
	code, out = r.zdd(t, "rollback", "--yes", "--output", "json")
	require.Equal(t, 0, code, out)

	// A release that watches its canary for a while; its lease is taken over meanwhile.
	done := make(chan int, 1)
	go func() {
		code, _ := r.zdd(t, "deploy", war("003", false), "--watch", watch, "--set", "strategy.pause=40s")
		done <- code
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, out := r.zdd(t, "lock", "status", "--output", "json")
		var st struct {
			Held, Live bool
			Lease      struct{ Command string }
		}
		if json.Unmarshal([]byte(out), &st) == nil && st.Live && strings.Contains(st.Lease.Command, "003") {
			assert.Contains(t, st.Lease.Command, "--watch="+env.LBs[0].URL+"/"+env.App+"/", "the URL is kept, without its credentials")
			break
		}
		require.True(t, time.Now().Before(deadline), "the 003 release never held the lease")
		time.Sleep(300 * time.Millisecond)
	}
	code, out = r.zdd(t, "lock", "release", "--force")
	require.Equal(t, 0, code, out)
	select {
	case code = <-done:
		assert.NotEqual(t, 0, code, "the release that lost its lease stops")
	case <-time.After(60 * time.Second):
		t.Fatal("the release that lost its lease did not stop")
	}
	code, out = r.zdd(t, "history", "--output", "json")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "lock_release")

	// Search everything printed and every file of the state directory.
	printed := r.printed.String()
	require.Contains(t, printed, `"type":"summary"`, "the JSON events are among what was searched")
	files := 0
	require.NoError(t, filepath.WalkDir(state, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		info, err := d.Info()
		require.NoError(t, err)
		if d.IsDir() {
			assert.Equal(t, statedir.PrivateDirMode, info.Mode().Perm(), "directory %s", p)
			return nil
		}
		assert.Equal(t, statedir.PrivateFileMode, info.Mode().Perm(), "file %s", p)
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		files++
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) { // not assert.NotContains: it would print the secret
				t.Errorf("a secret (%d chars) is in %s", len(s), p)
			}
		}
		return nil
	}))
	assert.GreaterOrEqual(t, files, 3, "release.json, history.jsonl and the stored WARs were searched")
	hits := 0
	for _, s := range secrets {
		hits += strings.Count(printed, s)
	}
	assert.Zero(t, hits, "secrets in zdd's output")
	t.Logf("searched %d bytes of output and %d state files for %d secrets: %d hits", len(printed), files, len(secrets), hits)
}

// cleanCluster undeploys every version of the application and puts every node in rotation.
func cleanCluster(t *testing.T, env *testenv.Env) {
	ctx := context.Background()
	b, err := os.ReadFile(env.ConfigFile)
	require.NoError(t, err)
	cfg, err := config.ParseYAML(b, env.ConfigFile)
	require.NoError(t, err)
	require.Empty(t, cfg.ReadSecretFiles())
	c, err := connect.Dial(ctx, cfg, connect.Options{})
	require.NoError(t, err)
	defer c.Close()
	for name, m := range c.Managers {
		apps, err := m.List(ctx)
		require.NoError(t, err)
		for _, a := range apps {
			if a.Path == "/"+env.App {
				require.NoError(t, m.Undeploy(ctx, a.Context), "undeploy %s on %s", a.Name(), name)
			}
		}
	}
	all := map[string]lb.State{}
	for _, n := range env.Nodes {
		all[n.Name] = lb.State{Weight: 1}
	}
	require.NoError(t, c.Router.Apply(ctx, all))
}
