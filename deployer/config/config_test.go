package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loadFull parses testdata/full.yaml and sets both passwords, as the environment would.
func loadFull(t *testing.T) *Config {
	t.Helper()
	data, err := os.ReadFile("testdata/full.yaml")
	require.NoError(t, err)
	cfg, err := ParseYAML(data, "full.yaml")
	require.NoError(t, err)
	cfg.Tomcat.Password = "tomcat-s3cret"
	cfg.Database.Password = "db-s3cret"
	return cfg
}

func TestParseYAMLFull(t *testing.T) {
	cfg := loadFull(t)
	assert.Equal(t, "app", cfg.App.Name)
	assert.Equal(t, 3, cfg.App.VersionWidth)
	assert.Equal(t, 120*time.Second, cfg.Tomcat.DeployTimeout)
	require.Len(t, cfg.Nodes, 3)
	assert.Equal(t, Node{Name: "n2", ManagerURL: "http://127.0.0.1:18082/manager", URL: "http://127.0.0.1:18082",
		Upstream: "127.0.0.1:18082", Weight: 2}, cfg.Nodes[1])
	assert.Equal(t, 1, cfg.Nodes[2].Weight, "an omitted weight is 1")
	require.Len(t, cfg.LB.Hosts, 2)
	assert.Equal(t, "127.0.0.11:12222", cfg.LB.Hosts[0].Address)
	assert.Equal(t, LocalAddress, cfg.LB.Hosts[1].Address)
	assert.Equal(t, map[string]int{"db1": 1, "DB2": 2}, cfg.Database.HAProxy.Servers, "server names keep their case")
	assert.True(t, cfg.Strategy.PauseAfterCanary)
	assert.Equal(t, 90*time.Second, cfg.Strategy.Pause)
	assert.Equal(t, 30*time.Minute, cfg.Strategy.DrainTimeout)
	assert.Empty(t, cfg.Validate())
}

func TestParseYAMLEmptyIsDefault(t *testing.T) {
	cfg, err := ParseYAML(nil, "empty.yaml")
	require.NoError(t, err)
	assert.Equal(t, Default(), *cfg)
}

func TestParseYAMLPartialKeepsDefaults(t *testing.T) {
	cfg, err := ParseYAML([]byte("tomcat:\n  user: deployer\n"), "z.yaml")
	require.NoError(t, err)
	assert.Equal(t, "deployer", cfg.Tomcat.User)
	assert.Equal(t, 10*time.Second, cfg.Tomcat.RequestTimeout)
	assert.Equal(t, "app", cfg.App.Name)
}

func TestParseYAMLUnknownKeys(t *testing.T) {
	data := "app:\n  nmae: app\ntomcat:\n  user: zdd\nnodes:\n  - name: n1\n    upstreem: 1.2.3.4:80\nbogus: 1\n"
	_, err := ParseYAML([]byte(data), "zdd.yaml")
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, `zdd.yaml:2:3: unknown key "app.nmae" (did you mean "app.name"?)`)
	assert.Contains(t, msg, `zdd.yaml:7:5: unknown key "nodes[0].upstreem" (did you mean "nodes[0].upstream"?)`)
	assert.Contains(t, msg, `zdd.yaml:8:1: unknown key "bogus"`)
	assert.NotContains(t, msg, `"bogus" (did you mean`)
}

func TestParseYAMLSyntaxErrorNamesLine(t *testing.T) {
	_, err := ParseYAML([]byte("app:\n  name: app\n  health_path: [\n"), "zdd.yaml")
	require.Error(t, err)
	var fe *FileError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "zdd.yaml", fe.File)
	assert.Positive(t, fe.Line)
	assert.Regexp(t, `^zdd\.yaml:\d+: `, err.Error())
}

func TestParseYAMLTypeErrorNamesLine(t *testing.T) {
	_, err := ParseYAML([]byte("app:\n  version_width: three\ntomcat:\n  request_timeout: soon\n"), "zdd.yaml")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "zdd.yaml:2:18: ")
	assert.Contains(t, err.Error(), "zdd.yaml:4:20: ")
}

func TestParseYAMLTopLevelNotMapping(t *testing.T) {
	_, err := ParseYAML([]byte("- a\n- b\n"), "zdd.yaml")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "zdd.yaml:1:1: the top level must be a mapping")
}

func TestKeysAndEnvVar(t *testing.T) {
	keys := Keys()
	assert.Equal(t, "app.name", keys[0])
	for _, k := range []string{"tomcat.password", "tomcat.password_file", "nodes", "lb.hosts",
		"database.haproxy.servers", "database.haproxy.address", "strategy.lease_ttl", "ssh.agent"} {
		assert.Contains(t, keys, k)
		assert.True(t, IsKey(k))
	}
	assert.NotContains(t, keys, "lb")
	assert.NotContains(t, keys, "nodes.name")
	assert.False(t, IsKey("app"))
	assert.Equal(t, "ZDD_TOMCAT_PASSWORD", EnvVar("tomcat.password"))
	assert.Equal(t, "ZDD_DATABASE_HAPROXY_SERVERS", EnvVar("database.haproxy.servers"))
	assert.Equal(t, "strategy.lock_wait", SuggestKey("strategy.lockwait"))
	assert.Equal(t, "", SuggestKey("completely.different"))
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 10 * time.Second: "10s", 30 * time.Minute: "30m", 90 * time.Minute: "1h30m",
		2 * time.Hour: "2h", 1500 * time.Millisecond: "1.5s", 61 * time.Second: "1m1s",
	} {
		assert.Equal(t, want, FormatDuration(d))
		back, err := time.ParseDuration(want)
		require.NoError(t, err)
		assert.Equal(t, d, back)
	}
}

func TestYAMLRoundTrip(t *testing.T) {
	cfg := loadFull(t)
	out, err := cfg.YAML()
	require.NoError(t, err)
	text := string(out)
	assert.NotContains(t, text, "s3cret")
	assert.Contains(t, text, "password: <redacted>")
	assert.Contains(t, text, "drain_timeout: 30m\n")
	assert.Contains(t, text, "servers: {DB2: 2, db1: 1}")

	back, err := ParseYAML(out, "show.yaml")
	require.NoError(t, err)
	want := *cfg
	want.Tomcat.Password, want.Database.Password = RedactedText, RedactedText
	assert.Equal(t, want, *back)
}

func TestSecretNeverPrinted(t *testing.T) {
	cfg := loadFull(t)
	j, err := json.Marshal(cfg)
	require.NoError(t, err)
	for _, s := range []string{
		fmt.Sprint(cfg), fmt.Sprintf("%v", *cfg), fmt.Sprintf("%+v", *cfg), fmt.Sprintf("%#v", *cfg),
		fmt.Sprintf("%s", cfg.Tomcat.Password), string(j), fmt.Sprintf("%+v", cfg.Redacted()),
	} {
		assert.NotContains(t, s, "s3cret")
	}
	assert.Equal(t, "tomcat-s3cret", cfg.Tomcat.Password.Reveal())
	assert.Equal(t, "", Secret("").Redacted())
	assert.Equal(t, RedactedText, cfg.Redacted().Tomcat.Password.Reveal())
}

func TestRedactedDoesNotAlias(t *testing.T) {
	cfg := loadFull(t)
	r := cfg.Redacted()
	r.Nodes[0].Name = "changed"
	r.Database.HAProxy.Servers["db1"] = 9
	assert.Equal(t, "n1", cfg.Nodes[0].Name)
	assert.Equal(t, 1, cfg.Database.HAProxy.Servers["db1"])
}

func TestRedactDSN(t *testing.T) {
	assert.Equal(t, "zdd@tcp(127.0.0.1:13300)/zdd", redactDSN("zdd@tcp(127.0.0.1:13300)/zdd"))
	got := redactDSN("zdd:hunter2@tcp(127.0.0.1:13300)/zdd")
	assert.NotContains(t, got, "hunter2")
	assert.Contains(t, got, RedactedText)
	assert.NotContains(t, redactDSN("zdd:hunter2@bogus(("), "hunter2")
	assert.Equal(t, "", redactDSN(""))
}

func TestReadSecretFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "tomcat.pw")
	require.NoError(t, os.WriteFile(good, []byte("from-file\nignored\n"), 0o600))
	empty := filepath.Join(dir, "empty.pw")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))

	cfg := Default()
	cfg.Tomcat.PasswordFile = good
	cfg.Database.DSN = "zdd@tcp(127.0.0.1:13300)/zdd"
	cfg.Database.PasswordFile = filepath.Join(dir, "missing.pw")
	problems := cfg.ReadSecretFiles()
	assert.Equal(t, "from-file", cfg.Tomcat.Password.Reveal())
	require.Len(t, problems, 1)
	assert.Equal(t, "database.password_file", problems[0].Key)
	assert.Contains(t, problems[0].Message, "missing.pw")
	assert.Contains(t, problems[0].Hint, "ZDD_DATABASE_PASSWORD")

	cfg = Default()
	cfg.Tomcat.Password = "already"
	cfg.Tomcat.PasswordFile = filepath.Join(dir, "missing.pw")
	assert.Empty(t, cfg.ReadSecretFiles(), "a set password wins and the file is not read")
	assert.Equal(t, "already", cfg.Tomcat.Password.Reveal())

	cfg = Default()
	cfg.Tomcat.PasswordFile = empty
	problems = cfg.ReadSecretFiles()
	require.Len(t, problems, 1)
	assert.Contains(t, problems[0].Message, "is empty")
}

func TestParseYAMLDurationWithoutUnit(t *testing.T) {
	_, err := ParseYAML([]byte("tomcat:\n  request_timeout: 10\nstrategy:\n  pause: 0\n"), "zdd.yaml")
	require.Error(t, err)
	assert.Equal(t, "zdd.yaml:2:20: tomcat.request_timeout: duration 10 has no unit (write e.g. 10s)", err.Error())
}

func TestClosestByEditDistance(t *testing.T) {
	assert.Equal(t, 3, levenshtein("kitten", "sitting"))
	assert.Equal(t, "tomcat", Closest("tomact", []string{"app", "tomcat", "nodes"}))
	assert.Equal(t, "", Closest("xyz", []string{"tomcat"}))
}

// TestParseYAMLErrorsNameTheLineAtFault: every YAML error names the line at fault (yaml.v3
// names the line where the enclosing block began), and the column when it is known.
func TestParseYAMLErrorsNameTheLineAtFault(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{"app:\n  name: x\n name2: y\n", "z.yaml:3: did not find expected key"},
		{"app:\n  name: x\n  - y\n", "z.yaml:3: did not find expected key"},
		{"app:\n  name: [a\n", "z.yaml:2: did not find expected ',' or ']'"},
		{"app:\n\tname: x\n", "z.yaml:2: found character that cannot start any token"},
		{"a: &x 1\nb: *y\n", "z.yaml:2:4: unknown anchor 'y' referenced"},
		{"app:\n  version_width: abc\n", "z.yaml:2:18: cannot unmarshal !!str `abc` into int"},
		{"app: [1,2]\n", "z.yaml:1:6: cannot unmarshal !!seq into config.App"},
		{"database:\n  haproxy:\n    servers: {a: x}\n", "z.yaml:3:18: cannot unmarshal !!str `x` into int"},
		{"app:\n  name: x\n---\napp:\n  name: y\n", "z.yaml:4: a second YAML document (after ---) is not allowed"},
		{"app:\n  name: x\napp:\n  name: y\n", `z.yaml:3: mapping key "app" already defined at line 1`},
	} {
		_, err := ParseYAML([]byte(c.doc), "z.yaml")
		require.Error(t, err, "%q", c.doc)
		assert.Contains(t, err.Error(), c.want, "%q", c.doc)
	}
}
