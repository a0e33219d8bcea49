package cmdutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/config"
)

// TestCommandLineWithoutSecrets: what goes to the lease, the journal and the history keeps
// the command's shape and loses every credential: --watch user information (a password with
// '@', ':' or '/'), secret --set values, secret-named flags and URLs in arguments.
func TestCommandLineWithoutSecrets(t *testing.T) {
	var got string
	root := &cobra.Command{Use: "zdd"}
	root.PersistentFlags().StringArray("set", nil, "")
	deploy := &cobra.Command{Use: "deploy", RunE: func(cmd *cobra.Command, args []string) error {
		got = CommandLine(cmd, args)
		return nil
	}}
	deploy.Flags().StringArray("watch", nil, "")
	deploy.Flags().String("version", "", "")
	deploy.Flags().String("db-password", "", "")
	root.AddCommand(deploy)
	root.SetArgs([]string{"deploy", "--version", "002",
		"--watch", "https://alice:s3cr@t:x@shop.example.com/app/",
		"--watch", "https://bob:pa/ss@shop.example.com/",
		"--set", "tomcat.password=hunter2", "--set", "database.dsn=u:dsnpw@tcp(x)/db", "--set", "strategy.canary_size=2",
		"--db-password", "flagpw", "app.war", "http://carol:argpw@host/"})
	require.NoError(t, root.Execute())
	for _, secret := range []string{"s3cr@t", "s3cr", "pa/ss", "hunter2", "dsnpw", "flagpw", "argpw", "alice", "bob", "carol"} {
		assert.NotContains(t, got, secret)
	}
	for _, kept := range []string{"zdd deploy", "--version=002", "--watch=https://shop.example.com/app/", "--set=strategy.canary_size=2",
		"--set=tomcat.password=<redacted>", "--set=database.dsn=<redacted>", "--db-password=<redacted>", "app.war", "http://host/"} {
		assert.Contains(t, got, kept)
	}
	assert.Equal(t, 1, strings.Count(got, "app.war"))
}

func TestRedactArg(t *testing.T) {
	assert.Equal(t, "tomcat.password=<redacted>", RedactArg("set", "tomcat.password=hunter2"))
	assert.Equal(t, "database.dsn=<redacted>", RedactArg("set", "database.dsn=u:p@tcp(x)/db"))
	assert.Equal(t, "strategy.canary_size=2", RedactArg("set", "strategy.canary_size=2"))
	assert.Equal(t, "nodes=http://h/", RedactArg("set", "nodes=http://u:p@h/"))
	assert.Equal(t, "30s", RedactArg("timeout", "30s"))
}

// TestStateDirRefused: a world-writable state directory, or a group-writable one without
// state.group_shared, is a problem at state.dir with the chmod line; its parents do not count.
func TestStateDirRefused(t *testing.T) {
	parent := t.TempDir()
	require.NoError(t, os.Chmod(parent, 0o777))
	dir := filepath.Join(parent, "state")
	require.NoError(t, os.Mkdir(dir, 0o700))
	cfg := config.Default()
	cfg.State.Dir = dir
	assert.Empty(t, checkStateDir(&cfg), "0700 in a world-writable parent is fine")

	require.NoError(t, os.Chmod(dir, 0o777))
	p := checkStateDir(&cfg)
	require.Len(t, p, 1)
	assert.Equal(t, "state.dir", p[0].Key)
	assert.Contains(t, p[0].Message, "world-writable")
	assert.Contains(t, p[0].Hint, "chmod 0700 "+dir)

	require.NoError(t, os.Chmod(dir, 0o770))
	p = checkStateDir(&cfg)
	require.Len(t, p, 1)
	assert.Contains(t, p[0].Message, "group-writable")
	assert.Contains(t, p[0].Hint, "state.group_shared: true")
	cfg.State.GroupShared = true
	assert.Empty(t, checkStateDir(&cfg), "group-writable with state.group_shared")
	require.NoError(t, os.Chmod(dir, 0o777))
	p = checkStateDir(&cfg)
	require.Len(t, p, 1)
	assert.Contains(t, p[0].Hint, "chmod 0770 "+dir)
}
