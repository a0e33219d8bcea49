package cmdutil

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/outcome"
)

func TestFlagErrorFuncSuggests(t *testing.T) {
	cmd := &cobra.Command{Use: "deploy"}
	cmd.Flags().Duration("lock-wait", 0, "")
	cmd.Flags().Bool("yes", false, "")
	err := FlagErrorFunc(cmd, errors.New("unknown flag: --lock-wiat"))
	assert.Equal(t, 2, outcome.Code(err))
	assert.True(t, IsFlagError(err))
	assert.Equal(t, "did you mean --lock-wait?", outcome.Hint(err))

	err = FlagErrorFunc(cmd, errors.New("unknown flag: --completely-else"))
	assert.Equal(t, "run `deploy --help` for the flags", outcome.Hint(err))

	err = FlagErrorFunc(cmd, errors.New(`invalid argument "x" for "--lock-wait" flag`))
	assert.Equal(t, 2, outcome.Code(err))
	assert.Empty(t, outcome.Hint(err))
}

func TestNoArgs(t *testing.T) {
	leaf := &cobra.Command{Use: "show", Run: func(*cobra.Command, []string) {}}
	assert.NoError(t, NoArgs(leaf, nil))
	err := NoArgs(leaf, []string{"x"})
	assert.Equal(t, 2, outcome.Code(err))

	group := &cobra.Command{Use: "config"}
	group.AddCommand(leaf, &cobra.Command{Use: "validate", Run: func(*cobra.Command, []string) {}})
	err = NoArgs(group, []string{"shwo"})
	assert.Equal(t, 2, outcome.Code(err))
	assert.Equal(t, "did you mean `config show`?", outcome.Hint(err))
	err = NoArgs(group, []string{"zzzzzz"})
	assert.Equal(t, "run `config --help` for the commands", outcome.Hint(err))
}

func TestClosest(t *testing.T) {
	assert.Equal(t, "config", Closest("confg", []string{"set", "config", "help"}))
	assert.Equal(t, "", Closest("xyz", []string{"config"}))
}

func TestFactoryIsLazyAndMemoized(t *testing.T) {
	streams, _, _, _ := iostreams.Test()
	f := New(streams)
	calls := 0
	f.LoadConfig = func() (*config.Config, error) {
		calls++
		cfg := config.Default()
		return &cfg, nil
	}
	assert.Equal(t, 0, calls, "New loads nothing")
	_, err1 := f.Config()
	_, err2 := f.Config()
	assert.Equal(t, 1, calls)
	require.Error(t, err1)
	assert.Same(t, err1, err2)
	assert.Equal(t, 1, outcome.Code(err1))
	var pe *ProblemsError
	require.ErrorAs(t, err1, &pe)
	assert.Contains(t, err1.Error(), "\n  tomcat.password: no Tomcat Manager password (hint: set ZDD_TOMCAT_PASSWORD")
	assert.Contains(t, outcome.Hint(err1), "zdd config validate")
}

func TestFactoryConfigUsesFlagsAndPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "zdd.yaml")
	require.NoError(t, os.WriteFile(path, []byte("app:\n  name: shop\n"), 0o600))
	streams, _, _, _ := iostreams.Test()
	f := New(streams)
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.Duration("lock-wait", 0, "")
	f.BindFlag("strategy.lock_wait", fs.Lookup("lock-wait"))
	require.NoError(t, fs.Parse([]string{"--lock-wait=3m"}))
	f.ConfigOptions.Path = path
	cfg, err := f.LoadConfig()
	require.NoError(t, err)
	assert.Equal(t, "shop", cfg.App.Name)
	assert.Equal(t, "3m0s", cfg.Strategy.LockWait.String())
	assert.Panics(t, func() { f.BindFlag("strategy.lockwait", fs.Lookup("lock-wait")) })
}

func TestCheckReportsUnreadablePasswordFileOnce(t *testing.T) {
	cfg := config.Default()
	cfg.Tomcat.PasswordFile = "/nonexistent/pw"
	var keys []string
	for _, p := range Check(&cfg) {
		keys = append(keys, p.Key)
	}
	assert.Contains(t, keys, "tomcat.password_file")
	assert.NotContains(t, keys, "tomcat.password")
}

func TestResultLine(t *testing.T) {
	assert.Equal(t, "success: app 001 -> 002 in 12.3s (exit 0)", ResultLine("success: app", "001 -> 002", 12.34, 0, 0))
	assert.Equal(t, "rollback: rolled_back 002 -> 001 in 1.0s (exit 3), 7 sessions ended",
		ResultLine("rollback: rolled_back", "002 -> 001", 1, 3, 7))
}
