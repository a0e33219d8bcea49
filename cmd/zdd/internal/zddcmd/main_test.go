package zddcmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/outcome"
)

// validConfig is a complete configuration in testenv's shape, without passwords.
const validConfig = `app:
  name: app
tomcat:
  user: zdd
nodes:
  - name: n1
    manager_url: http://127.0.0.1:18081/manager
    url: http://127.0.0.1:18081
    upstream: 127.0.0.1:18081
  - name: n2
    manager_url: http://127.0.0.1:18082/manager
    url: http://127.0.0.1:18082
    upstream: 127.0.0.1:18082
lb:
  hosts:
    - name: lb1
      address: 127.0.0.11:12222
      url: http://127.0.0.1:18091
      upstream_file: /tmp/lb1/upstreams.conf
      test_command: nginx -t
      reload_command: nginx -s reload
database:
  dsn: "zdd@tcp(127.0.0.1:13300)/zdd"
  haproxy:
    address: unix:///tmp/haproxy/admin.sock
    backend: mysql
    servers: {db1: 1, db2: 2}
migrations:
  dir: ~/migrations
`

// validHost is the address of validConfig's load balancer, listed in testHome's known_hosts.
const validHost = "127.0.0.11:12222"

type result struct {
	code        int
	out, errOut string
}

// zdd runs Main's logic with args and the given configuration file contents ("" for none).
func zdd(t *testing.T, configBody string, args ...string) result {
	t.Helper()
	return zddWith(t, configBody, nil, args...)
}

func zddWith(t *testing.T, configBody string, adjust func(*cmdutil.Factory, *cobra.Command), args ...string) result {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "zdd.yaml")
	if configBody != "" {
		require.NoError(t, os.WriteFile(path, []byte(configBody), 0o600))
	}
	t.Setenv("ZDD_CONFIG", path)
	testHome(t, validHost)
	streams, _, out, errOut := iostreams.Test()
	code := run(context.Background(), args, streams, adjust)
	return result{code, out.String(), errOut.String()}
}

func TestNoArgumentsPrintsHelp(t *testing.T) {
	r := zdd(t, "")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.out, "Available Commands:")
	assert.Contains(t, r.out, "exit-codes")
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args     []string
		errLine  string
		hint     string
		usageFor string
	}{
		{[]string{"verison"}, `zdd: error: unknown command "verison" for "zdd"`, "zdd: hint: did you mean `zdd version`?", "zdd <command>"},
		{[]string{"config", "shwo"}, `zdd: error: unknown command "shwo" for "zdd config"`, "zdd: hint: did you mean `zdd config show`?", "zdd config [flags]"},
		{[]string{"config", "show", "--confg", "x.yaml"}, "zdd: error: unknown flag: --confg", "zdd: hint: did you mean --config?", "zdd config show [flags]"},
		{[]string{"version", "--bogus"}, "zdd: error: unknown flag: --bogus", "zdd: hint: run `zdd version --help` for the flags", "zdd version [flags]"},
		{[]string{"version", "now"}, `zdd: error: zdd version takes no arguments, got "now"`, "", "zdd version [flags]"},
		{[]string{"help", "exit-code"}, `zdd: error: unknown help topic "exit-code"`, "zdd: hint: did you mean `zdd help exit-codes`?", "zdd help"},
		{[]string{"--config"}, "zdd: error: flag needs an argument: --config", "", "zdd <command>"},
		{[]string{"completion", "tcsh"}, "zdd: error:", "", "zdd completion"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := zdd(t, "", tt.args...)
			assert.Equal(t, 2, r.code, r.errOut)
			assert.Empty(t, r.out, "usage goes to stderr")
			lines := strings.Split(r.errOut, "\n")
			assert.True(t, strings.HasPrefix(lines[0], tt.errLine), r.errOut)
			if tt.hint != "" {
				assert.Equal(t, tt.hint, lines[1])
			}
			assert.Contains(t, r.errOut, "Usage:\n  "+tt.usageFor)
		})
	}
}

func TestHelpTouchesNothing(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"config", "show", "--help"}, {"config", "validate", "-h"}, {"help", "config"}} {
		r := zddWith(t, "", func(f *cmdutil.Factory, _ *cobra.Command) {
			f.LoadConfig = func() (*config.Config, error) { t.Fatal("help loaded the configuration"); return nil, nil }
		}, args...)
		assert.Equal(t, 0, r.code, r.errOut)
		assert.Contains(t, r.out, "Usage:")
		assert.Empty(t, r.errOut)
	}
}

func TestHelpExitCodes(t *testing.T) {
	r := zdd(t, "", "help", "exit-codes")
	assert.Equal(t, 0, r.code)
	for _, info := range outcome.Table() {
		assert.Regexp(t, fmt.Sprintf(`(?m)^%d +%s +`, info.Code, info.Name), r.out)
		assert.Contains(t, r.out, "pipeline: "+info.Pipeline)
	}
}

func TestVersion(t *testing.T) {
	r := zdd(t, "", "version")
	assert.Equal(t, 0, r.code)
	assert.Equal(t, "zdd version dev (commit none, built unknown)\n", r.out)
	r = zdd(t, "", "--version")
	assert.Equal(t, "zdd version dev (commit none, built unknown)\n", r.out)
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		r := zdd(t, "", "completion", shell)
		assert.Equal(t, 0, r.code, r.errOut)
		assert.Contains(t, r.out, "zdd")
	}
	r := zdd(t, "", "__complete", "config", "")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.out, "show")
	assert.Contains(t, r.out, "validate")
}

func TestConfigShowRedactsAndResolves(t *testing.T) {
	t.Setenv("ZDD_TOMCAT_PASSWORD", "tomcat-s3cret")
	t.Setenv("ZDD_STRATEGY_LOCK_WAIT", "45s")
	r := zdd(t, validConfig, "config", "show", "--set", "strategy.canary_size=1", "--set", "app.name=shop")
	require.Equal(t, 0, r.code, r.errOut)
	assert.NotContains(t, r.out, "s3cret")
	assert.Contains(t, r.out, "  password: <redacted>\n")
	assert.Contains(t, r.out, "  lock_wait: 45s\n")
	assert.Contains(t, r.out, "  canary_size: 1\n")
	assert.Contains(t, r.out, "  name: shop\n")
	assert.Contains(t, r.out, "servers: {db1: 1, db2: 2}")
	assert.Empty(t, r.errOut)

	back, err := config.ParseYAML([]byte(r.out), "shown.yaml")
	require.NoError(t, err, "config show prints a valid configuration file")
	assert.Equal(t, "shop", back.App.Name)
}

func TestConfigValidate(t *testing.T) {
	t.Run("ok", func(t *testing.T) {
		t.Setenv("ZDD_TOMCAT_PASSWORD", "x")
		t.Setenv("ZDD_DATABASE_PASSWORD", "y")
		r := zdd(t, validConfig, "config", "validate")
		assert.Equal(t, 0, r.code, r.out+r.errOut)
		assert.Contains(t, r.out, ": ok (2 nodes, 1 load balancers)")
	})
	t.Run("every problem", func(t *testing.T) {
		body := strings.Replace(validConfig, "name: n2", "name: n1", 1) + "strategy:\n  lease_ttl: 0s\n"
		r := zdd(t, body, "config", "validate")
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.out, "tomcat.password: no Tomcat Manager password\n  hint: set ZDD_TOMCAT_PASSWORD, or tomcat.password_file\n")
		assert.Contains(t, r.out, "database.password: no database password\n  hint: set ZDD_DATABASE_PASSWORD")
		assert.Contains(t, r.out, `nodes[1].name: "n1" is already used by nodes[0]`)
		assert.Contains(t, r.out, "strategy.lease_ttl: must be above zero")
		assert.Regexp(t, `^zdd: error: config: .*zdd\.yaml has 4 problem\(s\)\n$`, r.errOut)
	})
	t.Run("unreadable password file reported once", func(t *testing.T) {
		t.Setenv("ZDD_DATABASE_PASSWORD", "y")
		t.Setenv("ZDD_TOMCAT_PASSWORD_FILE", "/nonexistent/tomcat.pw")
		r := zdd(t, validConfig, "config", "validate")
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.out, "tomcat.password_file: cannot read /nonexistent/tomcat.pw")
		assert.NotContains(t, r.out, "tomcat.password: ")
	})
}

func TestBadConfigurationFiles(t *testing.T) {
	t.Run("missing", func(t *testing.T) {
		r := zdd(t, "", "config", "show")
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.errOut, "zdd: error: config: no configuration file at ")
		assert.Contains(t, r.errOut, "zdd.yaml\nzdd: hint: `zdd testenv up` writes one")
		assert.NotContains(t, r.errOut, "Usage:")
	})
	t.Run("yaml error names the line", func(t *testing.T) {
		r := zdd(t, "app:\n  name: app\n   bad: indent\n", "config", "validate")
		assert.Equal(t, 1, r.code)
		assert.Regexp(t, `zdd: error: .*zdd\.yaml:3: `, r.errOut)
	})
	t.Run("unknown keys name every key", func(t *testing.T) {
		r := zdd(t, "app:\n  nmae: x\nstrategy:\n  canary: 2\n", "config", "show")
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.errOut, `zdd.yaml:2:3: unknown key "app.nmae" (did you mean "app.name"?)`)
		assert.Contains(t, r.errOut, `zdd.yaml:4:3: unknown key "strategy.canary"`)
		assert.Empty(t, r.out)
	})
	t.Run("--config over ZDD_CONFIG", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "other.yaml")
		r := zdd(t, validConfig, "config", "show", "--config", other)
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.errOut, "no configuration file at "+other)
	})
	t.Run("--set unknown key", func(t *testing.T) {
		r := zdd(t, validConfig, "config", "show", "--set", "strategy.canary_sise=3")
		assert.Equal(t, 2, r.code)
		assert.Contains(t, r.errOut, "zdd: hint: did you mean --set strategy.canary_size=3?")
	})
}

// TestExitCodeMapping pins every class to its code through Main, with a command that returns it.
func TestExitCodeMapping(t *testing.T) {
	tests := []struct {
		err  func(ctx context.Context) error
		code int
	}{
		{func(context.Context) error { return nil }, 0},
		{func(context.Context) error { return errors.New("plain") }, 1},
		{func(context.Context) error { return outcome.Classify(outcome.ErrPreflight, errors.New("x")) }, 1},
		{func(context.Context) error { return outcome.Classify(outcome.ErrUsage, errors.New("x")) }, 2},
		{func(context.Context) error { return outcome.Classify(outcome.ErrRolledBack, errors.New("x")) }, 3},
		{func(context.Context) error { return outcome.Classify(outcome.ErrNeedsAttention, errors.New("x")) }, 4},
		{func(context.Context) error { return fmt.Errorf("lock: %w", outcome.ErrLocked) }, 5},
		{func(context.Context) error { return outcome.Classify(outcome.ErrNothingToDo, errors.New("x")) }, 6},
		{func(context.Context) error { return outcome.Classify(outcome.ErrPaused, errors.New("x")) }, 7},
		{func(context.Context) error { return outcome.Classify(outcome.ErrInterrupted, errors.New("x")) }, 130},
		{func(ctx context.Context) error { <-ctx.Done(); return fmt.Errorf("engine: wait: %w", ctx.Err()) }, 130},
	}
	for _, tt := range tests {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // as SIGINT does through signal.NotifyContext
		streams, _, _, errOut := iostreams.Test()
		code := run(ctx, []string{"probe"}, streams, func(_ *cmdutil.Factory, root *cobra.Command) {
			root.AddCommand(&cobra.Command{Use: "probe", RunE: func(c *cobra.Command, _ []string) error {
				return tt.err(c.Context())
			}})
		})
		assert.Equal(t, tt.code, code, errOut.String())
		if tt.code != 0 {
			assert.True(t, strings.HasPrefix(errOut.String(), "zdd: error: "), errOut.String())
		}
	}
}

func TestPrintError(t *testing.T) {
	var b strings.Builder
	PrintError(&b, outcome.WithHint(errors.New("config: 2 problems\n  a: b\n  c: d"), "run zdd config validate"))
	assert.Equal(t, "zdd: error: config: 2 problems\nzdd: error:   a: b\nzdd: error:   c: d\nzdd: hint: run zdd config validate\n", b.String())
}
