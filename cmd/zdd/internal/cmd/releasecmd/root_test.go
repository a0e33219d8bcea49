package releasecmd_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmd/releasecmd"
	"github.com/saitodrom/zdd/cmd/zdd/internal/cmd/root"
	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/deployer/outcome"
)

func TestBadFlagsAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"deploy", "app.war", "-o", "yaml"}, {"status", "--output", "xml"}, {"plan", "a.war", "-o", "csv"}} {
		streams, _, _, _ := iostreams.Test()
		f := cmdutil.New(streams)
		cmd := root.NewCmdRoot(f)
		cmd.SetArgs(args)
		err := cmd.ExecuteContext(context.Background())
		require.Error(t, err, "%v", args)
		assert.Equal(t, 2, outcome.Code(err), "%v: %v", args, err)
		assert.True(t, cmdutil.IsFlagError(err))
	}
	for _, args := range [][]string{{"deploy"}, {"plan", "a.war", "b.war"}, {"promote", "x"}} {
		streams, _, _, _ := iostreams.Test()
		cmd := root.NewCmdRoot(cmdutil.New(streams))
		cmd.SetArgs(args)
		assert.Error(t, cmd.ExecuteContext(context.Background()), "%v", args)
	}
}

func TestCommandsRegistered(t *testing.T) {
	streams, _, _, _ := iostreams.Test()
	cmd := root.NewCmdRoot(cmdutil.New(streams))
	for _, name := range []string{"plan", "deploy", "promote", "drain", "status"} {
		c, _, err := cmd.Find([]string{name})
		require.NoError(t, err)
		assert.Equal(t, name, c.Name())
		assert.NotNil(t, c.Flags().Lookup("output"), "%s has --output", name)
	}
}

func TestCommandLineHidesSecrets(t *testing.T) {
	streams, _, _, _ := iostreams.Test()
	f := cmdutil.New(streams)
	var got *releasecmd.DeployOptions
	r := root.NewCmdRoot(f)
	for _, c := range r.Commands() {
		if c.Name() == "deploy" {
			r.RemoveCommand(c)
		}
	}
	r.AddCommand(releasecmd.NewCmdDeploy(f, func(_ context.Context, o *releasecmd.DeployOptions) error { got = o; return nil }))
	r.SetArgs([]string{"deploy", "a.war", "--set", "tomcat.password=hunter2", "--set", "tomcat.user=zdd"})
	require.NoError(t, r.Execute())
	assert.NotContains(t, got.Who.Command, "hunter2")
	assert.Contains(t, got.Who.Command, "--set=tomcat.password=<redacted> --set=tomcat.user=zdd")
}
