//go:build integration

package remote

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/saitodrom/zdd/testenv/testenvtest"
)

func TestIntegrationSSHRunner(t *testing.T) {
	env := testenvtest.Require(t)
	ctx := context.Background()
	l := env.LBs[0]
	r, err := DialSSH(ctx, SSHOptions{Name: l.Name, Addr: l.SSHAddr, User: env.SSH.User,
		KeyFile: env.SSH.IdentityFile, KnownHostsFile: env.SSH.KnownHosts, CommandTimeout: 5 * time.Second})
	require.NoError(t, err)
	defer r.Close()

	out, err := r.Run(ctx, "cat; echo "+Quote("it's $HOME"), []byte("in:"))
	require.NoError(t, err)
	assert.Equal(t, "in:it's $HOME\n", string(out))

	_, err = r.Run(ctx, "echo nope >&2; exit 7", nil)
	var ee *ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 7, ee.Code)
	assert.Contains(t, ee.Error(), "nope")

	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = r.Run(tctx, "sleep 30", nil)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)

	// The connection still works; files round-trip atomically.
	p := filepath.Join(t.TempDir(), "f.conf")
	require.NoError(t, WriteFile(ctx, r, p, []byte("over ssh\n")))
	b, err := ReadFile(ctx, r, p)
	require.NoError(t, err)
	assert.Equal(t, "over ssh\n", string(b))

	// A unix socket on the host, through a direct-streamlocal channel.
	c, err := r.DialContext(ctx, "unix", env.DB.HAProxySocket)
	require.NoError(t, err)
	_, err = c.Write([]byte("show info\n"))
	require.NoError(t, err)
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	c.Close()
	assert.True(t, strings.HasPrefix(string(buf[:n]), "Name: HAProxy"), "%q", buf[:n])
}

func TestIntegrationWrongHostKeyRefused(t *testing.T) {
	env := testenvtest.Require(t)
	ctx := context.Background()
	l := env.LBs[0]
	dir := t.TempDir()

	// Changed: the file lists another key for this host.
	wrong := filepath.Join(dir, "known_hosts_wrong")
	host := "[" + strings.Replace(l.SSHAddr, ":", "]:", 1)
	pub := newKey(t)
	require.NoError(t, os.WriteFile(wrong, []byte(host+" "+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))+"\n"), 0o600))
	_, err := DialSSH(ctx, SSHOptions{Addr: l.SSHAddr, User: env.SSH.User, KeyFile: env.SSH.IdentityFile, KnownHostsFile: wrong})
	var hk *HostKeyError
	require.ErrorAs(t, err, &hk)
	assert.True(t, hk.Changed)
	t.Logf("changed: %v", err)

	// Unknown: the host is not listed; the error gives the fingerprint and the fix.
	empty := filepath.Join(dir, "known_hosts_empty")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	_, err = DialSSH(ctx, SSHOptions{Addr: l.SSHAddr, User: env.SSH.User, KeyFile: env.SSH.IdentityFile, KnownHostsFile: empty})
	require.ErrorAs(t, err, &hk)
	assert.False(t, hk.Changed)
	hostPub, rerr := os.ReadFile(env.SSH.HostKeyFile + ".pub")
	if rerr == nil {
		k, _, _, _, perr := ssh.ParseAuthorizedKey(hostPub)
		require.NoError(t, perr)
		assert.Equal(t, ssh.FingerprintSHA256(k), hk.Fingerprint)
	}
	_, port, perr := net.SplitHostPort(l.SSHAddr)
	require.NoError(t, perr)
	assert.Contains(t, err.Error(), "ssh-keyscan -p "+port+" ")
	t.Logf("unknown: %v", err)

	// Adding the suggested line makes the dial succeed.
	require.NoError(t, os.WriteFile(empty, []byte(hk.Line+"\n"), 0o600))
	r, err := DialSSH(ctx, SSHOptions{Addr: l.SSHAddr, User: env.SSH.User, KeyFile: env.SSH.IdentityFile, KnownHostsFile: empty})
	require.NoError(t, err)
	r.Close()
}

// cutConnection kills the sshd process that serves r's connection (the parent of the shell
// that runs a command), as a reboot, an sshd restart or a cut link would end it.
func cutConnection(t *testing.T, r *SSH) {
	t.Helper()
	out, err := r.Run(context.Background(), "echo $PPID", nil)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL), "kill sshd child %d", pid)
}

func TestIntegrationSSHRedialsAfterTheConnectionDrops(t *testing.T) {
	env := testenvtest.Require(t)
	ctx := context.Background()
	l := env.LBs[0]
	kh := filepath.Join(t.TempDir(), "known_hosts")
	good, err := os.ReadFile(env.SSH.KnownHosts)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(kh, good, 0o600))
	r, err := DialSSH(ctx, SSHOptions{Name: l.Name, Addr: l.SSHAddr, User: env.SSH.User,
		KeyFile: env.SSH.IdentityFile, KnownHostsFile: kh, DialTimeout: 3 * time.Second, CommandTimeout: 10 * time.Second})
	require.NoError(t, err)
	defer r.Close()

	// Cut, then the next command re-dials and runs, within a short deadline.
	// Each call has a deadline of its own, as a step would: the re-dial fits in it.
	op := func() context.Context {
		c, cancel := context.WithTimeout(ctx, 15*time.Second)
		t.Cleanup(cancel)
		return c
	}
	cutConnection(t, r)
	start := time.Now()
	out, err := r.Run(op(), "echo after", nil)
	require.NoError(t, err, "Run after the connection was cut")
	assert.Equal(t, "after\n", string(out))
	assert.Equal(t, 2, r.dials, "one new connection")
	t.Logf("Run after a cut connection: ok in %v (re-dialled)", time.Since(start).Round(time.Millisecond))

	// A tunnelled socket (HAProxy's admin socket) also re-dials.
	cutConnection(t, r)
	c, err := r.DialContext(op(), "unix", env.DB.HAProxySocket)
	require.NoError(t, err, "DialContext after the connection was cut")
	c.Close()
	assert.Equal(t, 3, r.dials)

	// The re-dial verifies the host key against the file as it is now: a changed key is refused.
	cutConnection(t, r)
	host := "[" + strings.Replace(l.SSHAddr, ":", "]:", 1)
	require.NoError(t, os.WriteFile(kh, []byte(host+" "+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(newKey(t))))+"\n"), 0o600))
	_, err = r.Run(op(), "echo never", nil)
	var hk *HostKeyError
	require.ErrorAs(t, err, &hk, "%v", err)
	assert.True(t, hk.Changed)
	t.Logf("re-dial with a changed host key: %v", err)

	// Trusted again: the next Run dials and works; the runner was not left broken.
	require.NoError(t, os.WriteFile(kh, good, 0o600))
	out, err = r.Run(op(), "echo again", nil)
	require.NoError(t, err)
	assert.Equal(t, "again\n", string(out))
	assert.Equal(t, 4, r.dials)

	// A closed runner does not re-dial.
	require.NoError(t, r.Close())
	_, err = r.Run(ctx, "echo closed", nil)
	assert.ErrorContains(t, err, "closed")
}
