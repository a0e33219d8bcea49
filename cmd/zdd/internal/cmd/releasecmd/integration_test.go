//go:build integration

package releasecmd_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmd/releasecmd"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/cmd/zdd/internal/zddcmd"
	"github.com/saitodrom/zdd/connect"
	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/testenv"
	"github.com/saitodrom/zdd/testenv/testenvtest"
)

// cli runs zdd commands in-process against testenv, with a state directory of its own.
type cli struct {
	env     *testenv.Env
	base    []string
	cluster *connect.Cluster
	secrets []string
}

func newCLI(t *testing.T) *cli {
	env := testenvtest.Require(t)
	for _, k := range config.Keys() {
		t.Setenv(config.EnvVar(k), "") // an empty variable counts as unset
	}
	mig := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(mig, "expand"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(mig, "contract"), 0o755))
	c := &cli{env: env, secrets: []string{env.Manager.Password, env.SpareManager.Password, env.DB.Password},
		base: []string{"--config", env.ConfigFile, "--set", "state.dir=" + t.TempDir(), "--set", "migrations.dir=" + mig,
			"--set", "strategy.drain_timeout=5s"}}
	b, err := os.ReadFile(env.ConfigFile)
	require.NoError(t, err)
	cfg, err := config.ParseYAML(b, env.ConfigFile)
	require.NoError(t, err)
	require.Empty(t, cfg.ReadSecretFiles())
	c.cluster, err = connect.Dial(context.Background(), cfg, connect.Options{})
	require.NoError(t, err)
	c.clean(t)
	t.Cleanup(func() { c.clean(t); c.cluster.Close() })
	return c
}

// clean undeploys every version of the application and puts every node in rotation.
func (c *cli) clean(t *testing.T) {
	ctx := context.Background()
	for name, m := range c.cluster.Managers {
		apps, err := m.List(ctx)
		require.NoError(t, err)
		for _, a := range apps {
			if a.Path == "/"+c.env.App {
				require.NoError(t, m.Undeploy(ctx, a.Context), "undeploy %s on %s", a.Name(), name)
			}
		}
	}
	all := map[string]lb.State{}
	for _, n := range c.env.Nodes {
		all[n.Name] = lb.State{Weight: 1}
	}
	require.NoError(t, c.cluster.Router.Apply(ctx, all))
}

// run runs zdd with args after the base flags and returns the exit code, stdout and stderr.
// No password may appear in either.
func (c *cli) run(t *testing.T, args ...string) (int, string, string) {
	streams, _, out, errOut := iostreams.Test()
	code := zddcmd.Main(context.Background(), append(append([]string{}, args...), c.base...), streams)
	t.Logf("zdd %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	for _, s := range c.secrets {
		require.NotEmpty(t, s)
		require.NotContains(t, out.String()+errOut.String(), s, "a password was printed")
	}
	return code, out.String(), errOut.String()
}

func (c *cli) war(t *testing.T, version string) string {
	path := filepath.Join(t.TempDir(), "app-"+version+".war")
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, testenv.BuildWAR(f, testenv.WAROptions{Version: version}))
	require.NoError(t, f.Close())
	return path
}

// status runs `zdd status --output json`.
func (c *cli) status(t *testing.T) releasecmd.Status {
	code, out, _ := c.run(t, "status", "--output", "json")
	require.Equal(t, 0, code)
	var st releasecmd.Status
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	return st
}

// versions returns each node's versions from the status, checking every node is in rotation.
func (c *cli) versions(t *testing.T) map[string][]string {
	st := c.status(t)
	out := map[string][]string{}
	for _, n := range st.Nodes {
		require.Empty(t, n.Error)
		out[n.Name] = []string{}
		for _, v := range n.Versions {
			assert.Equal(t, "running", v.State)
			out[n.Name] = append(out[n.Name], v.Version)
		}
	}
	require.Len(t, st.LoadBalancers.Nodes, len(c.env.Nodes))
	for _, n := range st.LoadBalancers.Nodes {
		assert.False(t, n.Down, "%s must be in rotation", n.Name)
	}
	return out
}

// direct reads each node's versions with the Manager clients of the test (not zdd's
// configuration, which a test may have broken), checking every node is in rotation.
func (c *cli) direct(t *testing.T) map[string][]string {
	ctx := context.Background()
	out := map[string][]string{}
	for name, m := range c.cluster.Managers {
		apps, err := m.List(ctx)
		require.NoError(t, err)
		out[name] = []string{}
		for _, a := range apps {
			if a.Path == "/"+c.env.App {
				out[name] = append(out[name], a.Version)
			}
		}
	}
	states, err := c.cluster.Router.States(ctx)
	require.NoError(t, err)
	for _, n := range c.env.Nodes {
		assert.False(t, states[n.Name].Down, "%s must be in rotation", n.Name)
	}
	return out
}

func every(env *testenv.Env, vs ...string) map[string][]string {
	out := map[string][]string{}
	for _, n := range env.Nodes {
		out[n.Name] = append([]string{}, vs...)
	}
	return out
}

func TestPlanDeployDrainStatus(t *testing.T) {
	c := newCLI(t)
	war1, war2 := c.war(t, "001"), c.war(t, "002")

	code, out, _ := c.run(t, "plan", war1)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "release app: nothing (first release) -> 001")
	// The canary batch is n1,n2, deployed oldest cluster member first (the order the nodes' own
	// views give, which earlier tests' restarts change).
	assert.Regexp(t, `deploy      001 to (n1,n2|n2,n1), one node at a time`, out)
	assert.Contains(t, out, "if it fails:")
	assert.Equal(t, every(c.env), c.versions(t), "plan changes nothing")

	code, out, errOut := c.run(t, "deploy", war1)
	require.Equal(t, 0, code)
	assert.True(t, strings.HasPrefix(out, "success: app nothing -> 001 in "), out)
	assert.NotContains(t, errOut, "\x1b", "no ANSI codes without a terminal")
	assert.Regexp(t, `(?m)^\S+Z \[\d+ deploy\] n1: upload \d+/\d+ bytes$`, errOut)

	code, out, _ = c.run(t, "deploy", war2, "--no-drain", "--output", "json")
	require.Equal(t, 0, code)
	var last deployer.Event
	sc := bufio.NewScanner(strings.NewReader(out))
	n := 0
	for sc.Scan() {
		require.NoError(t, json.Unmarshal(sc.Bytes(), &last), "line %q", sc.Text())
		assert.Equal(t, deployer.EventSchema, last.Schema)
		n++
	}
	assert.Greater(t, n, 10)
	require.Equal(t, deployer.EventSummary, last.Type)
	assert.Equal(t, releasecmdSummary{"success", 0, []string{"001"}, "002"},
		releasecmdSummary{last.Summary.Outcome, last.Summary.ExitCode, last.Summary.From, last.Summary.To})
	assert.Equal(t, every(c.env, "001", "002"), c.versions(t), "status shows both versions on every node")
	st := c.status(t)
	require.NotNil(t, st.Release)
	assert.Equal(t, "done", st.Release.Status)
	assert.Equal(t, "002", st.Release.To)
	require.NotNil(t, st.Database)
	assert.Contains(t, st.Database.Writer, "db1")

	code, out, _ = c.run(t, "drain")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "success: app 001 -> 002")
	assert.Equal(t, every(c.env, "002"), c.versions(t))
	code, _, errOut = c.run(t, "drain")
	assert.Equal(t, 6, code)
	assert.Contains(t, errOut, "only 002 is deployed")
}

type releasecmdSummary struct {
	Outcome  string
	ExitCode int
	From     []string
	To       string
}

func TestPausePromoteCLI(t *testing.T) {
	c := newCLI(t)
	code, _, errOut := c.run(t, "promote")
	assert.Equal(t, 6, code)
	assert.Contains(t, errOut, "no release is paused")

	require.Equal(t, 0, first(c.run(t, "deploy", c.war(t, "001"))))
	code, _, errOut = c.run(t, "deploy", c.war(t, "002"), "--set", "strategy.pause_after_canary=true")
	require.Equal(t, 7, code)
	assert.Contains(t, errOut, "zdd: hint: check the new version, then run `zdd promote`")
	st := c.status(t)
	require.NotNil(t, st.Release)
	assert.Equal(t, "paused", st.Release.Status)

	code, out, _ := c.run(t, "promote")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "success: app 001 -> 002")
	assert.Equal(t, every(c.env, "002"), c.versions(t), "promote finished the release and drained 001")
	assert.Equal(t, 6, first(c.run(t, "promote")))
}

func first(code int, _, _ string) int { return code }

// TestBadInputRefused checks that each bad input is refused with exit 1 before anything
// changes, with a message that names the cause and a hint with the next step.
func TestBadInputRefused(t *testing.T) {
	c := newCLI(t)
	require.Equal(t, 0, first(c.run(t, "deploy", c.war(t, "002"), "--version", "002")))
	want := every(c.env, "002")
	refused := func(t *testing.T, cause string, args ...string) {
		t.Helper()
		code, out, errOut := c.run(t, args...)
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, cause)
		assert.Contains(t, errOut, "zdd: hint: ")
		assert.Contains(t, out, "preflight_failed: ")
		assert.Equal(t, want, c.direct(t), "nothing changed")
	}

	t.Run("corrupt WAR", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "app.war")
		require.NoError(t, os.WriteFile(bad, []byte("this is not a zip"), 0o644))
		refused(t, "not a zip archive", "deploy", bad)
	})
	t.Run("version that sorts lower", func(t *testing.T) {
		refused(t, "version 001 does not sort above the deployed 002", "deploy", c.war(t, "001"), "--version", "001")
	})
	t.Run("wrong credentials", func(t *testing.T) {
		// The spare user: five failures would lock the main one for 300 s.
		t.Setenv("ZDD_TOMCAT_PASSWORD", "not-the-password")
		refused(t, "HTTP 401", "deploy", c.war(t, "003"), "--set", "tomcat.user="+c.env.SpareManager.User)
	})
	t.Run("load balancer config test fails", func(t *testing.T) {
		lb2 := c.env.LBs[1]
		orig, err := os.ReadFile(lb2.MainConfig)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, os.WriteFile(lb2.MainConfig, orig, 0o644)) })
		require.NoError(t, os.WriteFile(lb2.MainConfig, append(append([]byte{}, orig...), "zdd_bogus_directive on;\n"...), 0o644))
		refused(t, "the configuration of lb2 fails its test", "deploy", c.war(t, "003"))
	})
	t.Run("node down", func(t *testing.T) {
		ctx := context.Background()
		require.NoError(t, c.env.Stop(ctx, "n3"))
		t.Cleanup(func() { require.NoError(t, c.env.Start(ctx, "n3")) })
		code, out, errOut := c.run(t, "deploy", c.war(t, "003"))
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "on n3")
		assert.Contains(t, errOut, "zdd: hint: nothing was changed; start the node")
		assert.Contains(t, out, "preflight_failed: ")
		states, err := c.cluster.Router.States(ctx)
		require.NoError(t, err)
		for _, n := range c.env.Nodes {
			assert.False(t, states[n.Name].Down, "%s stays in rotation", n.Name)
		}
		for _, name := range []string{"n1", "n2"} {
			apps, err := c.cluster.Managers[name].List(ctx)
			require.NoError(t, err)
			var vs []string
			for _, a := range apps {
				if a.Path == "/app" {
					vs = append(vs, a.Version)
				}
			}
			assert.Equal(t, []string{"002"}, vs, "nothing deployed on %s", name)
		}
	})
}
