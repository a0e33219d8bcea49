package testenv

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStickyUpstreamsListEveryNodeInEveryBlock(t *testing.T) {
	env := describe(t.TempDir(), 0)
	conf := upstreamsConf(Sticky, env.Nodes)
	for _, n := range env.Nodes {
		assert.Equal(t, 4, strings.Count(conf, "server "+n.Upstream), "node %s: pool + 3 per-node blocks", n.Name)
		assert.Contains(t, conf, "upstream tomcat_"+n.Name+" {")
	}
	assert.NotContains(t, upstreamsConf(RoundRobin, env.Nodes), "tomcat_n1")
}

// TestNginxAcceptsGeneratedConfig runs the real `nginx -t` on both modes' configuration.
func TestNginxAcceptsGeneratedConfig(t *testing.T) {
	if _, err := os.Stat(nginxBin); err != nil {
		t.Fatalf("nginx is required: %v (apt-get install nginx)", err)
	}
	for _, mode := range []Mode{RoundRobin, Sticky} {
		env := describe(t.TempDir(), 0)
		lb := env.LBs[0]
		changed, err := writeNginx(lb, mode, env.Nodes)
		require.NoError(t, err)
		require.True(t, changed)
		out, err := exec.Command(nginxBin, "-c", lb.MainConfig, "-e", lb.ErrorLog, "-t").CombinedOutput()
		require.NoError(t, err, "mode %s: %s", mode, out)
		conf, err := os.ReadFile(lb.MainConfig)
		require.NoError(t, err)
		assert.Contains(t, string(conf), "proxy_read_timeout 8s;", "a request held by a frozen node is retried before the client gives up")
	}
}

func TestServerXMLHasStaticMembersAndSyncReplication(t *testing.T) {
	dir := t.TempDir()
	env := describe(dir, 0)
	require.NoError(t, writeTomcatBase(env.Nodes[1], env.Nodes, [2]Credentials{{"a", "b"}, {"c", "d"}}))
	b, err := os.ReadFile(filepath.Join(env.Nodes[1].Base, "conf", "server.xml"))
	require.NoError(t, err)
	x := string(b)
	assert.Contains(t, x, `jvmRoute="n2"`)
	assert.Contains(t, x, `channelSendOptions="6"`)
	assert.Contains(t, x, `stateTimestampDrop="false"`)
	assert.Contains(t, x, `autoBind="1"`)
	assert.Contains(t, x, `performReadTest="true" readTestTimeout="1000"`, "a frozen member must fail the failure detector's check")
	assert.Contains(t, x, `autoDeploy="false"`)
	assert.Equal(t, 3, strings.Count(x, "StaticMember\""))
	ctx, err := os.ReadFile(filepath.Join(env.Nodes[1].Base, "conf", "context.xml"))
	require.NoError(t, err)
	assert.NotContains(t, string(ctx), "<Manager", "a <Manager> in context.xml silently disables clustering")
}

func TestCheckFreeNamesTheHolder(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	err = checkFree(l.Addr().String(), "a test")
	require.Error(t, err)
	assert.Contains(t, err.Error(), l.Addr().String())
	assert.Contains(t, err.Error(), "pid "+strconv.Itoa(os.Getpid()))
}

func TestWriteNginxKeepsZDDsUpstreamFile(t *testing.T) {
	env := describe(t.TempDir(), 0)
	lb := env.LBs[0]
	_, err := writeNginx(lb, RoundRobin, env.Nodes)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(lb.UpstreamFile, []byte("# changed by zdd\n"), 0o644))
	changed, err := writeNginx(lb, RoundRobin, env.Nodes)
	require.NoError(t, err)
	assert.False(t, changed, "same mode: nothing to rewrite")
	b, err := os.ReadFile(lb.UpstreamFile)
	require.NoError(t, err)
	assert.Equal(t, "# changed by zdd\n", string(b), "an idempotent up must not reset zdd's weights")
	changed, err = writeNginx(lb, Sticky, env.Nodes)
	require.NoError(t, err)
	assert.True(t, changed, "a mode change rewrites both files")
}
