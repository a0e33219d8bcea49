package configload

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/outcome"
)

// writeConfig writes body to a zdd.yaml in a temporary directory and returns its path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "zdd.yaml")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return path
}

// TestPrecedence pins flags over environment over file over defaults, for each kind of value.
func TestPrecedence(t *testing.T) {
	type layers struct {
		file, env, flag, set string // "" means the layer does not set the key
	}
	keys := []struct {
		key       string
		fileLine  func(v string) string
		def       string
		get       func(c *config.Config) string
		flagValue func(fs *pflag.FlagSet) *pflag.Flag
	}{
		{
			key: "strategy.lock_wait", def: "0s",
			fileLine: func(v string) string { return "strategy:\n  lock_wait: " + v + "\n" },
			get:      func(c *config.Config) string { return config.FormatDuration(c.Strategy.LockWait) },
			flagValue: func(fs *pflag.FlagSet) *pflag.Flag {
				fs.Duration("lock-wait", 0, "")
				return fs.Lookup("lock-wait")
			},
		},
		{
			key: "app.version_width", def: "3",
			fileLine: func(v string) string { return "app:\n  version_width: " + v + "\n" },
			get:      func(c *config.Config) string { return itoa(c.App.VersionWidth) },
			flagValue: func(fs *pflag.FlagSet) *pflag.Flag {
				fs.Int("version-width", 0, "")
				return fs.Lookup("version-width")
			},
		},
		{
			key: "tomcat.password", def: "",
			fileLine: func(v string) string { return "tomcat:\n  password: " + v + "\n" },
			get:      func(c *config.Config) string { return c.Tomcat.Password.Reveal() },
			flagValue: func(fs *pflag.FlagSet) *pflag.Flag {
				fs.String("tomcat-password", "", "")
				return fs.Lookup("tomcat-password")
			},
		},
		{
			key: "ssh.agent", def: "false",
			fileLine: func(v string) string { return "ssh:\n  agent: " + v + "\n" },
			get:      func(c *config.Config) string { return boolText(c.SSH.Agent) },
			flagValue: func(fs *pflag.FlagSet) *pflag.Flag {
				fs.Bool("ssh-agent", false, "")
				return fs.Lookup("ssh-agent")
			},
		},
	}
	values := map[string][4]string{ // file, env, flag, set values per key
		"strategy.lock_wait": {"10s", "20s", "30s", "40s"},
		"app.version_width":  {"4", "5", "6", "7"},
		"tomcat.password":    {"from-file", "from-env", "from-flag", "from-set"},
		"ssh.agent":          {"true", "false", "true", "false"},
	}
	cases := []struct {
		name string
		use  layers // which layers are present: "x" marks presence
		want int    // index into values, or -1 for the default
	}{
		{"defaults only", layers{}, -1},
		{"file over default", layers{file: "x"}, 0},
		{"env over default", layers{env: "x"}, 1},
		{"env over file", layers{file: "x", env: "x"}, 1},
		{"flag over file", layers{file: "x", flag: "x"}, 2},
		{"flag over env over file", layers{file: "x", env: "x", flag: "x"}, 2},
		{"set over flag", layers{file: "x", env: "x", flag: "x", set: "x"}, 3},
		{"set over env", layers{env: "x", set: "x"}, 3},
	}
	for _, k := range keys {
		for _, c := range cases {
			t.Run(k.key+"/"+c.name, func(t *testing.T) {
				vals := values[k.key]
				body := ""
				if c.use.file != "" {
					body = k.fileLine(vals[0])
				}
				opts := Options{Path: writeConfig(t, body), Flags: map[string]*pflag.Flag{}}
				if c.use.env != "" {
					t.Setenv(config.EnvVar(k.key), vals[1])
				}
				fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
				flag := k.flagValue(fs)
				opts.Flags[k.key] = flag
				if c.use.flag != "" {
					require.NoError(t, fs.Parse([]string{"--" + flag.Name + "=" + vals[2]}))
				}
				if c.use.set != "" {
					opts.Set = []string{k.key + "=" + vals[3]}
				}
				cfg, err := Load(opts)
				require.NoError(t, err)
				want := k.def
				if c.want >= 0 {
					want = vals[c.want]
				}
				assert.Equal(t, want, k.get(cfg))
			})
		}
	}
}

func itoa(n int) string { return string(rune('0' + n)) }

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestUnchangedFlagDoesNotOverride(t *testing.T) {
	t.Setenv("ZDD_STRATEGY_LOCK_WAIT", "20s")
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.Duration("lock-wait", time.Hour, "")
	require.NoError(t, fs.Parse(nil))
	cfg, err := Load(Options{Path: writeConfig(t, ""), Flags: map[string]*pflag.Flag{"strategy.lock_wait": fs.Lookup("lock-wait")}})
	require.NoError(t, err)
	assert.Equal(t, 20*time.Second, cfg.Strategy.LockWait)
}

func TestFileValuesAndDefaults(t *testing.T) {
	path := writeConfig(t, `
nodes:
  - name: n1
    manager_url: http://127.0.0.1:18081/manager
    url: http://127.0.0.1:18081
    upstream: 127.0.0.1:18081
database:
  dsn: "zdd@tcp(127.0.0.1:13300)/zdd"
  haproxy:
    address: unix:///tmp/admin.sock
    servers: {DB1: 1, db2: 2}
`)
	cfg, err := Load(Options{Path: path})
	require.NoError(t, err)
	require.Len(t, cfg.Nodes, 1)
	assert.Equal(t, 1, cfg.Nodes[0].Weight, "per-item default")
	assert.Equal(t, "http://127.0.0.1:18081/manager", cfg.Nodes[0].ManagerURL)
	assert.Equal(t, map[string]int{"DB1": 1, "db2": 2}, cfg.Database.HAProxy.Servers, "server names keep their case")
	assert.Equal(t, "mysql", cfg.Database.HAProxy.Backend)
	assert.Equal(t, 120*time.Second, cfg.Tomcat.DeployTimeout)
	assert.Equal(t, 30*time.Minute, cfg.Strategy.DrainTimeout)
}

func TestListsAndMapsFromEnvironment(t *testing.T) {
	t.Setenv("ZDD_NODES", `[{name: n9, manager_url: "http://h:1/manager", url: "http://h:1", upstream: "h:1", weight: 3}]`)
	t.Setenv("ZDD_DATABASE_HAPROXY_SERVERS", `{Primary: 1, replica: 2}`)
	cfg, err := Load(Options{Path: writeConfig(t, "nodes:\n  - name: n1\n")})
	require.NoError(t, err)
	require.Len(t, cfg.Nodes, 1)
	assert.Equal(t, config.Node{Name: "n9", ManagerURL: "http://h:1/manager", URL: "http://h:1", Upstream: "h:1", Weight: 3}, cfg.Nodes[0])
	assert.Equal(t, map[string]int{"Primary": 1, "replica": 2}, cfg.Database.HAProxy.Servers)
}

func TestBadEnvironmentValues(t *testing.T) {
	tests := []struct{ env, value, want string }{
		{"ZDD_STRATEGY_LOCK_WAIT", "10", "missing unit"},
		{"ZDD_APP_VERSION_WIDTH", "three", "version_width"},
		{"ZDD_NODES", "[{nmae: n1}]", "nmae"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			t.Setenv(tt.env, tt.value)
			_, err := Load(Options{Path: writeConfig(t, "")})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Equal(t, 1, outcome.Code(err))
		})
	}
}

func TestMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(Options{Path: path})
	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
	assert.Contains(t, outcome.Hint(err), "zdd testenv up")
	assert.Equal(t, 1, outcome.Code(err))
}

func TestResolvePath(t *testing.T) {
	t.Setenv(PathEnv, "")
	assert.Equal(t, DefaultPath, (&Options{}).ResolvePath())
	t.Setenv(PathEnv, "/etc/zdd/prod.yaml")
	assert.Equal(t, "/etc/zdd/prod.yaml", (&Options{}).ResolvePath())
	assert.Equal(t, "mine.yaml", (&Options{Path: "mine.yaml"}).ResolvePath(), "--config over ZDD_CONFIG")

	path := writeConfig(t, "app:\n  name: fromenvpath\n")
	t.Setenv(PathEnv, path)
	cfg, err := Load(Options{})
	require.NoError(t, err)
	assert.Equal(t, "fromenvpath", cfg.App.Name)
}

func TestFileErrorsNameLineAndKey(t *testing.T) {
	_, err := Load(Options{Path: writeConfig(t, "app:\n  name: app\nstrategy:\n  canary_sise: 2\n")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `zdd.yaml:4:3: unknown key "strategy.canary_sise" (did you mean "strategy.canary_size"?)`)
	assert.Equal(t, 1, outcome.Code(err))

	_, err = Load(Options{Path: writeConfig(t, "app:\n  name: [app\n")})
	require.Error(t, err)
	assert.Regexp(t, `zdd\.yaml:\d+: `, err.Error())
}

func TestSetErrors(t *testing.T) {
	path := writeConfig(t, "")
	_, err := Load(Options{Path: path, Set: []string{"strategy.canary_sise=3"}})
	require.Error(t, err)
	assert.Equal(t, 2, outcome.Code(err))
	assert.Contains(t, err.Error(), `unknown key "strategy.canary_sise"`)
	assert.Equal(t, "did you mean --set strategy.canary_size=3?", outcome.Hint(err))

	_, err = Load(Options{Path: path, Set: []string{"strategy.canary_size"}})
	require.Error(t, err)
	assert.Equal(t, 2, outcome.Code(err))
	assert.Contains(t, outcome.Hint(err), "key=value")
}

func TestEverySettableKeyHasAnEnvironmentVariable(t *testing.T) {
	// A scalar of every key set through its variable must reach the struct: guards against a
	// key that viper cannot see (no default, no binding).
	for _, key := range []string{"tomcat.ca_file", "lb.hosts", "migrations.dir", "state.dir", "database.password_file"} {
		require.True(t, config.IsKey(key))
	}
	t.Setenv("ZDD_TOMCAT_CA_FILE", "/ca.pem")
	t.Setenv("ZDD_STATE_DIR", "/shared/zdd")
	t.Setenv("ZDD_DATABASE_PASSWORD_FILE", "/run/secrets/db")
	t.Setenv("ZDD_LB_HOSTS", `[{name: lb1, address: local, upstream_file: /u.conf, test_command: t, reload_command: r}]`)
	cfg, err := Load(Options{Path: writeConfig(t, "")})
	require.NoError(t, err)
	assert.Equal(t, "/ca.pem", cfg.Tomcat.CAFile)
	assert.Equal(t, "/shared/zdd", cfg.State.Dir)
	assert.Equal(t, "/run/secrets/db", cfg.Database.PasswordFile)
	require.Len(t, cfg.LB.Hosts, 1)
	assert.Equal(t, "local", cfg.LB.Hosts[0].Address)
}
