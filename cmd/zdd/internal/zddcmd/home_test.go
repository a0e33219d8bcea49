package zddcmd

import (
	"crypto/ed25519"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
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
