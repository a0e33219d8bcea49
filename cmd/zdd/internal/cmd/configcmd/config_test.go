package configcmd

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/outcome"
)

// validConfig returns a configuration that validates.
func validConfig() *config.Config {
	cfg := config.Default()
	cfg.Tomcat.Password = "s3cret"
	cfg.Nodes = []config.Node{
		{Name: "n1", ManagerURL: "http://h1:8080/manager", URL: "http://h1:8080", Upstream: "h1:8080", Weight: 1},
		{Name: "n2", ManagerURL: "http://h2:8080/manager", URL: "http://h2:8080", Upstream: "h2:8080", Weight: 1},
	}
	cfg.LB.Hosts = []config.LBHost{{Name: "lb1", Address: "local", UpstreamFile: "/u.conf", TestCommand: "t", ReloadCommand: "r"}}
	return &cfg
}

func TestRunShow(t *testing.T) {
	streams, _, out, _ := iostreams.Test()
	err := RunShow(&ShowOptions{IO: streams, LoadConfig: func() (*config.Config, error) { return validConfig(), nil }})
	require.NoError(t, err)
	assert.Contains(t, out.String(), "password: <redacted>")
	assert.NotContains(t, out.String(), "s3cret")
	assert.Contains(t, out.String(), "- name: n2\n")
}

func TestRunShowLoadError(t *testing.T) {
	streams, _, out, _ := iostreams.Test()
	boom := outcome.Classify(outcome.ErrPreflight, errors.New("config: no configuration file at x"))
	err := RunShow(&ShowOptions{IO: streams, LoadConfig: func() (*config.Config, error) { return nil, boom }})
	assert.ErrorIs(t, err, boom)
	assert.Empty(t, out.String())
}

func TestRunValidate(t *testing.T) {
	streams, _, out, _ := iostreams.Test()
	opts := &ValidateOptions{IO: streams, Path: func() string { return "z.yaml" },
		LoadConfig: func() (*config.Config, error) { return validConfig(), nil }}
	require.NoError(t, RunValidate(opts))
	assert.Equal(t, "z.yaml: ok (2 nodes, 1 load balancers)\n", out.String())

	out.Reset()
	opts.LoadConfig = func() (*config.Config, error) {
		cfg := validConfig()
		cfg.Tomcat.Password = ""
		cfg.App.VersionWidth = 0
		return cfg, nil
	}
	err := RunValidate(opts)
	require.Error(t, err)
	assert.Equal(t, 1, outcome.Code(err))
	assert.Equal(t, "config: z.yaml has 2 problem(s)", err.Error())
	assert.Equal(t, "app.version_width: must be 1..10, got 0\n  hint: 3 means versions 001, 002, ...\n"+
		"tomcat.password: no Tomcat Manager password\n  hint: set ZDD_TOMCAT_PASSWORD, or tomcat.password_file\n", out.String())
}

func TestCommandsWireOptions(t *testing.T) {
	streams, _, _, _ := iostreams.Test()
	f := cmdutil.New(streams)
	var show *ShowOptions
	cmd := NewCmdShow(f, func(o *ShowOptions) error { show = o; return nil })
	cmd.SetArgs(nil)
	require.NoError(t, cmd.Execute())
	require.NotNil(t, show)
	assert.Same(t, streams, show.IO)

	var validate *ValidateOptions
	cmd = NewCmdValidate(f, func(o *ValidateOptions) error { validate = o; return nil })
	cmd.SetArgs(nil)
	require.NoError(t, cmd.Execute())
	require.NotNil(t, validate)
	f.ConfigOptions.Path = "later.yaml"
	assert.Equal(t, "later.yaml", validate.Path(), "the path is read when the command runs")
}
