package remote

import (
	"context"
	"crypto/ed25519"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func TestQuoteSurvivesTheShell(t *testing.T) {
	l := &Local{}
	for _, s := range []string{"plain", "", "a b", "it's", `"; rm -rf / #`, "$(id)", "`id`", "a\nb", `back\slash`, "*"} {
		out, err := l.Run(context.Background(), "printf %s "+Quote(s), nil)
		require.NoError(t, err)
		assert.Equal(t, s, string(out))
	}
	assert.Equal(t, "/etc/nginx/up.conf", Quote("/etc/nginx/up.conf"))
	assert.Equal(t, `'a'\''b'`, Quote("a'b"))
	assert.Equal(t, `cat -- '/x y'`, Join("cat", "--", "/x y"))
}

func TestCheckPath(t *testing.T) {
	require.NoError(t, CheckPath("/etc/nginx/upstreams.conf"))
	assert.Error(t, CheckPath("etc/nginx"))
	assert.Error(t, CheckPath("/etc/\nnginx"))
	assert.Error(t, CheckPath(""))
}

func TestLocalRun(t *testing.T) {
	l := &Local{Name: "here"}
	out, err := l.Run(context.Background(), "cat; echo err >&2", []byte("in"))
	require.NoError(t, err)
	assert.Equal(t, "in", string(out))
	_, err = l.Run(context.Background(), "echo boom >&2; exit 3", nil)
	var ee *ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 3, ee.Code)
	assert.Equal(t, "here", ee.Host)
	assert.Contains(t, err.Error(), "boom")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = l.Run(ctx, "sleep 10", nil)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestWriteFileAtomicKeepsMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "up stream's.conf")
	require.NoError(t, os.WriteFile(p, []byte("old"), 0o640))
	l := &Local{}
	ctx := context.Background()
	require.NoError(t, WriteFile(ctx, l, p, []byte("new\ncontent")))
	b, err := ReadFile(ctx, l, p)
	require.NoError(t, err)
	assert.Equal(t, "new\ncontent", string(b))
	fi, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm())
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1, "no temporary file left behind")

	// A failing write leaves the target untouched and no temporary file.
	require.NoError(t, os.Chmod(dir, 0o500))
	defer os.Chmod(dir, 0o700)
	if os.Geteuid() != 0 { // root ignores directory permissions
		assert.Error(t, WriteFile(ctx, l, p, []byte("x")))
		b, _ = os.ReadFile(p)
		assert.Equal(t, "new\ncontent", string(b))
	}
	_, err = ReadFile(ctx, l, filepath.Join(dir, "missing"))
	assert.Error(t, err)
	assert.Error(t, WriteFile(ctx, l, "relative", nil))
}

func TestHostKeyErrors(t *testing.T) {
	dir := t.TempDir()
	kh := filepath.Join(dir, "known_hosts")
	known := newKey(t)
	line := knownhosts.Line([]string{knownhosts.Normalize("127.0.0.11:12222")}, known)
	require.NoError(t, os.WriteFile(kh, []byte(line+"\n"), 0o600))
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 11), Port: 12222}

	cb, algos, err := hostKeyCallback(kh, "127.0.0.11:12222")
	require.NoError(t, err)
	assert.Equal(t, []string{ssh.KeyAlgoED25519}, algos)
	require.NoError(t, cb("127.0.0.11:12222", addr, known))

	other := newKey(t)
	var hk *HostKeyError
	require.ErrorAs(t, cb("127.0.0.11:12222", addr, other), &hk)
	assert.True(t, hk.Changed)
	assert.Equal(t, ssh.FingerprintSHA256(other), hk.Fingerprint)
	assert.Contains(t, hk.Error(), "CHANGED")
	assert.Contains(t, hk.Error(), kh+":1")

	require.ErrorAs(t, cb("127.0.0.12:12222", addr, other), &hk)
	assert.False(t, hk.Changed)
	assert.Contains(t, hk.Error(), ssh.FingerprintSHA256(other))
	assert.Contains(t, hk.Error(), "ssh-keyscan -p 12222 127.0.0.12 >> "+kh)
	assert.Contains(t, hk.Error(), "[127.0.0.12]:12222 ssh-ed25519 ")
	assert.Contains(t, hk.Error(), knownhosts.Line([]string{"[127.0.0.12]:12222"}, other))

	_, _, err = hostKeyCallback("", "x:22")
	assert.ErrorContains(t, err, "known_hosts file is required")
}

func newKey(t *testing.T) ssh.PublicKey {
	pub, _, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	k, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)
	return k
}

func TestDialSSHRefusesWithoutKnownHostsOrAuth(t *testing.T) {
	_, err := DialSSH(context.Background(), SSHOptions{Addr: "127.0.0.1:1", User: "root", KeyFile: "/nonexistent"})
	assert.ErrorContains(t, err, "known_hosts file is required")
	kh := filepath.Join(t.TempDir(), "kh")
	require.NoError(t, os.WriteFile(kh, nil, 0o600))
	_, err = DialSSH(context.Background(), SSHOptions{Addr: "127.0.0.1:1", User: "root", KnownHostsFile: kh})
	assert.ErrorContains(t, err, "no authentication method")
}
