package zddcmd

import (
	"context"
	"crypto/ed25519"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
)

// testHome sets HOME to a new directory holding what validConfig's defaults and "~/" paths
// name: ~/.ssh/id_ed25519, ~/.ssh/known_hosts with an entry for each of hosts (host:port), and
// ~/migrations. It returns the directory.
func testHome(t *testing.T, hosts ...string) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	require.NoError(t, os.MkdirAll(filepath.Join(home, ".ssh"), 0o700))
	require.NoError(t, os.MkdirAll(filepath.Join(home, "migrations", "expand"), 0o755))
	pub, priv, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(priv, "")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(home, ".ssh", "id_ed25519"), pem.EncodeToMemory(block), 0o600))
	key, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)
	var lines []byte
	for _, h := range hosts {
		lines = append(lines, knownhosts.Line([]string{knownhosts.Normalize(h)}, key)+"\n"...)
	}
	require.NoError(t, os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), lines, 0o600))
	return home
}

// TestEveryCommandChecksKnownHosts: with HOME a temporary directory and the SSH keys left at
// their defaults, a known_hosts without the load balancer is refused by `zdd config validate`
// and by every command's own validation, naming the host and the ssh-keyscan line.
func TestEveryCommandChecksKnownHosts(t *testing.T) {
	t.Setenv("ZDD_TOMCAT_PASSWORD", "x")
	t.Setenv("ZDD_DATABASE_PASSWORD", "y")
	dir := t.TempDir()
	path := filepath.Join(dir, "zdd.yaml")
	require.NoError(t, os.WriteFile(path, []byte(validConfig), 0o600))
	t.Setenv("ZDD_CONFIG", path)
	t.Setenv("ZDD_STATE_DIR", filepath.Join(dir, "state"))
	home := testHome(t, "127.0.0.11:22") // the right host, the wrong port
	want := "ssh.known_hosts: " + home + "/.ssh/known_hosts has no entry for [127.0.0.11]:12222, the address of lb.hosts[0] (lb1)"
	keyscan := "ssh-keyscan -p 12222 127.0.0.11 >> " + home + "/.ssh/known_hosts"
	for _, args := range [][]string{{"config", "validate"}, {"status"}, {"lock", "status"}, {"history"}, {"deploy", "app.war"}, {"rollback", "--yes"}} {
		streams, _, out, errOut := iostreams.Test()
		code := Main(context.Background(), args, streams)
		assert.Equal(t, 1, code, "%v: %s%s", args, out, errOut)
		assert.Contains(t, out.String()+errOut.String(), want, "%v", args)
		assert.Contains(t, out.String()+errOut.String(), keyscan, "%v", args)
	}
	testHome(t, validHost)
	streams, _, out, errOut := iostreams.Test()
	assert.Equal(t, 0, Main(context.Background(), []string{"config", "validate"}, streams), "%s%s", out, errOut)
}
