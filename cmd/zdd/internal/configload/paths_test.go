package configload

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/outcome"
)

// TestHomeExpandedOnceForEveryPathKey: "~/" becomes $HOME in every path key, whether the
// value comes from the defaults, the file, the environment, a flag or --set.
func TestHomeExpandedOnceForEveryPathKey(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, k := range config.Keys() {
		t.Setenv(config.EnvVar(k), "")
	}
	path := writeConfig(t, "tomcat:\n  password_file: ~/secrets/tomcat\n  ca_file: ~/ca.pem\n"+
		"database:\n  password_file: ~/secrets/db\nmigrations:\n  dir: ~/\n")
	t.Setenv("ZDD_STATE_DIR", "~/state")
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.String("known-hosts", "", "")
	require.NoError(t, fs.Parse([]string{"--known-hosts", "~/kh"}))
	cfg, err := Load(Options{Path: path, Flags: map[string]*pflag.Flag{"ssh.known_hosts": fs.Lookup("known-hosts")},
		Set: []string{"ssh.identity_file=~/keys/id"}})
	require.NoError(t, err)
	got := map[string]string{}
	for _, p := range cfg.Paths() {
		got[p.Key] = *p.Value
	}
	assert.Equal(t, map[string]string{
		"tomcat.password_file":   filepath.Join(home, "secrets/tomcat"),
		"tomcat.ca_file":         filepath.Join(home, "ca.pem"),
		"ssh.identity_file":      filepath.Join(home, "keys/id"),
		"ssh.known_hosts":        filepath.Join(home, "kh"),
		"database.password_file": filepath.Join(home, "secrets/db"),
		"migrations.dir":         home,
		"state.dir":              filepath.Join(home, "state"),
	}, got)

	cfg, err = Load(Options{Path: writeConfig(t, "")})
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(home, ".ssh/id_ed25519"), cfg.SSH.IdentityFile, "the default is expanded too")
	assert.Equal(t, filepath.Join(home, ".ssh/known_hosts"), cfg.SSH.KnownHosts)
}

func TestOtherUsersHomeIsLeftForValidate(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	cfg, err := Load(Options{Path: writeConfig(t, "ssh:\n  known_hosts: ~bob/.ssh/known_hosts\n")})
	require.NoError(t, err)
	assert.Equal(t, "~bob/.ssh/known_hosts", cfg.SSH.KnownHosts, "not expanded")
	var found bool
	for _, p := range cfg.Validate() {
		if p.Key == "ssh.known_hosts" {
			found = true
			assert.Contains(t, p.Message, `names another user's home directory (~bob/)`)
			assert.Contains(t, p.Hint, "absolute path")
		}
	}
	assert.True(t, found, "Validate refuses ~bob/")
}

func TestExpandHomeWithoutHome(t *testing.T) {
	cfg := config.Default()
	err := ExpandHome(&cfg, func() (string, error) { return "", errors.New("$HOME is not defined") })
	require.Error(t, err)
	assert.Equal(t, 1, outcome.Code(err))
	assert.Contains(t, err.Error(), "ssh.identity_file: cannot expand ~/")
	assert.Equal(t, "set HOME, or write the absolute path", outcome.Hint(err))

	cfg.SSH.IdentityFile, cfg.SSH.KnownHosts = "/k", "/kh"
	require.NoError(t, ExpandHome(&cfg, func() (string, error) { return "", errors.New("unused") }),
		"no ~/ left: the home directory is not needed")
}
