//go:build integration

package zddcmd

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/testenv/testenvtest"
)

// TestTestenvConfig checks the zdd.yaml that `zdd testenv up` wrote: it validates as written
// (passwords from the files it names), and `config show` never prints a password.
func TestTestenvConfig(t *testing.T) {
	env := testenvtest.Require(t)
	t.Setenv("ZDD_CONFIG", env.ConfigFile)
	for _, k := range config.Keys() {
		t.Setenv(config.EnvVar(k), "") // an empty variable counts as unset
	}

	streams, _, out, errOut := iostreams.Test()
	code := Main(context.Background(), []string{"config", "validate"}, streams)
	require.Equal(t, 0, code, out.String()+errOut.String())
	assert.Contains(t, out.String(), ": ok (3 nodes, 2 load balancers)")

	streams, _, out, errOut = iostreams.Test()
	code = Main(context.Background(), []string{"config", "show"}, streams)
	require.Equal(t, 0, code, errOut.String())
	cfg, err := config.ParseYAML(out.Bytes(), "show")
	require.NoError(t, err)
	assert.Len(t, cfg.Nodes, len(env.Nodes))
	for i, n := range env.Nodes {
		assert.Equal(t, n.ManagerURL, cfg.Nodes[i].ManagerURL)
		assert.Equal(t, n.Upstream, cfg.Nodes[i].Upstream)
	}
	assert.Equal(t, env.DB.Backend, cfg.Database.HAProxy.Backend)
	for _, secret := range []string{env.Manager.Password, env.SpareManager.Password, env.DB.Password} {
		require.NotEmpty(t, secret)
		assert.False(t, strings.Contains(out.String()+errOut.String(), secret), "a password was printed")
	}

	// The environment overrides the password file the testenv config names.
	t.Setenv("ZDD_TOMCAT_PASSWORD", env.Manager.Password)
	t.Setenv("ZDD_TOMCAT_PASSWORD_FILE", "/nonexistent")
	streams, _, out, errOut = iostreams.Test()
	code = Main(context.Background(), []string{"config", "validate"}, streams)
	assert.Equal(t, 0, code, out.String()+errOut.String())
}
