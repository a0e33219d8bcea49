//go:build integration

package releasecmd_test

import (
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"gopkg.in/yaml.v3"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmd/releasecmd"
	"github.com/saitodrom/zdd/deployer/config"
)

// `zdd status` with lb2's host key changed (its known_hosts line replaced by another key):
// every other part is shown, lb2 is named with its error, and the exit code is 1.
func TestIntegrationStatusWithALoadBalancerUnreadable(t *testing.T) {
	c := newCLI(t)
	kh, err := os.ReadFile(c.env.SSH.KnownHosts)
	require.NoError(t, err)
	pub, _, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	other, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)
	lb2 := "[" + strings.Replace(c.env.LBs[1].SSHAddr, ":", "]:", 1)
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(kh)), "\n") {
		if strings.HasPrefix(l, lb2+" ") {
			l = lb2 + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(other)))
		}
		lines = append(lines, l)
	}
	changed := filepath.Join(t.TempDir(), "known_hosts")
	require.NoError(t, os.WriteFile(changed, []byte(strings.Join(lines, "\n")+"\n"), 0o600))

	code, out, errOut := c.run(t, "status", "--output", "json", "--set", "ssh.known_hosts="+changed)
	assert.Equal(t, 1, code)
	var st releasecmd.Status
	require.NoError(t, json.Unmarshal([]byte(out), &st), "the whole status is printed: %s", out)
	require.Len(t, st.Nodes, len(c.env.Nodes))
	for _, n := range st.Nodes {
		assert.Empty(t, n.Error, "node %s was read", n.Name)
	}
	assert.Equal(t, []string{"lb1"}, st.LoadBalancers.ReadFrom)
	require.Len(t, st.LoadBalancers.HostErrors, 1)
	assert.Equal(t, "lb2", st.LoadBalancers.HostErrors[0].Host)
	assert.Contains(t, st.LoadBalancers.HostErrors[0].Error, "CHANGED")
	assert.Len(t, st.LoadBalancers.Nodes, len(c.env.Nodes), "lb1's states are shown")
	assert.Len(t, st.Errors, 1)
	assert.Contains(t, errOut, "1 part(s) could not be read")

	code, out, _ = c.run(t, "status", "--set", "ssh.known_hosts="+changed)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "load balancers lb1, lb2 (states as read from lb1)\n")
	assert.Contains(t, out, "  lb2: error: ")
	assert.Contains(t, out, "  node n1     weight 1, in rotation\n")
	assert.Contains(t, out, "lock: free\n")

	// lb2 unreachable (nothing listens at its address): the same.
	b, err := os.ReadFile(c.env.ConfigFile)
	require.NoError(t, err)
	cfg, err := config.ParseYAML(b, c.env.ConfigFile)
	require.NoError(t, err)
	cfg.LB.Hosts[1].Address = "127.0.0.12:1"
	hosts, err := yaml.Marshal(cfg.LB.Hosts)
	require.NoError(t, err)
	// known_hosts has lb2's key for that address too: the configuration is valid (every
	// command refuses a load balancer known_hosts does not list), the host just does not answer.
	var withDead []string
	for _, l := range strings.Split(strings.TrimSpace(string(kh)), "\n") {
		withDead = append(withDead, l)
		if strings.HasPrefix(l, lb2+" ") {
			withDead = append(withDead, "[127.0.0.12]:1 "+strings.TrimPrefix(l, lb2+" "))
		}
	}
	dead := filepath.Join(t.TempDir(), "known_hosts")
	require.NoError(t, os.WriteFile(dead, []byte(strings.Join(withDead, "\n")+"\n"), 0o600))
	code, out, _ = c.run(t, "status", "--output", "json", "--set", "lb.hosts="+string(hosts), "--set", "ssh.known_hosts="+dead)
	assert.Equal(t, 1, code)
	st = releasecmd.Status{}
	require.NoError(t, json.Unmarshal([]byte(out), &st), "the whole status is printed: %s", out)
	require.Len(t, st.LoadBalancers.HostErrors, 1)
	assert.Equal(t, "lb2", st.LoadBalancers.HostErrors[0].Host)
	assert.Contains(t, st.LoadBalancers.HostErrors[0].Error, "connection refused")
	assert.Len(t, st.LoadBalancers.Nodes, len(c.env.Nodes), "lb1's states are shown")
	require.Len(t, st.Nodes, len(c.env.Nodes))
	assert.Empty(t, st.Nodes[0].Error)

	// With the right key, every part is read: exit 0.
	code, out, _ = c.run(t, "status")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "load balancers lb1, lb2\n")
}
