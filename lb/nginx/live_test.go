package nginx

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/lb/remote"
	"github.com/saitodrom/zdd/lb/remote/remotetest"
)

// A file that already holds the target but was written after the last reload (a revert) is
// tested and reloaded, then the host is done: the next Apply changes nothing.
func TestApplyReloadsATargetFileThatWasNotLoaded(t *testing.T) {
	lb1 := remotetest.New(t, "lb1", probeCall(newConf, false), remotetest.Call{Cmd: testCmd})
	lb1.Expect(reloadCalls(true, "")...)
	lb2 := remotetest.New(t, "lb2", probeCall(newConf, true))
	b := newBalancer(t, lb1, lb2)
	require.NoError(t, b.Apply(context.Background(), testChange))

	lb1.Expect(probeCall(newConf, true))
	lb2.Expect(probeCall(newConf, true))
	require.NoError(t, b.Apply(context.Background(), testChange), "second run: no command but the probes")
}

// When that test fails, nothing is written and nothing reloaded; the error names the host,
// the test command and its output.
func TestApplyReloadOnlyRefusedByTheTest(t *testing.T) {
	lb1 := remotetest.New(t, "lb1", probeCall(newConf, false),
		remotetest.Call{Cmd: testCmd, Exit: 1, Stderr: "nginx: [emerg] unknown directive \"bogus\" in /etc/nginx/nginx.conf:40"})
	b := newBalancer(t, lb1)
	err := b.Apply(context.Background(), testChange)
	var rb *lb.RolledBackError
	require.ErrorAs(t, err, &rb, "%v", err)
	assert.Equal(t, "lb1", rb.Host)
	assert.ErrorContains(t, err, "`"+testCmd+"` exited 1: nginx: [emerg] unknown directive")
	t.Logf("error: %v", err)
}

// Errors quote the configured command and its output, never the generated script.
func TestApplyErrorsNameTheCommandNotTheScript(t *testing.T) {
	lb1 := remotetest.New(t, "lb1", probeCall(oldConf, true))
	lb1.Expect(installCalls(1)...)
	lb1.Expect(restoreCall(oldConf))
	err := newBalancer(t, lb1).Apply(context.Background(), testChange)
	require.Error(t, err)
	assert.Equal(t, "nginx: install on lb1: test the new configuration: `"+testCmd+"` exited 1: "+
		`nginx: [emerg] invalid parameter "wait=1" in /etc/nginx/upstreams.conf:2 (every host was put back to its previous configuration)`,
		err.Error())

	// The swap itself failed (the test command never ran).
	lb1.Expect(probeCall(oldConf, true), remotetest.Call{Match: installRE, Stdout: "zdd-install-failed\n", Exit: 1,
		Stderr: "mktemp: failed to create file via template '/etc/nginx/.upstreams.conf.zdd-XXXXXX': Read-only file system"})
	lb1.Expect(restoreCall(oldConf))
	err = newBalancer(t, lb1).Apply(context.Background(), testChange)
	require.Error(t, err)
	assert.ErrorContains(t, err, "install on lb1: install the new /etc/nginx/upstreams.conf: exit status 1: mktemp: failed")
	assert.NotContains(t, err.Error(), testCmd)
	assert.NotContains(t, err.Error(), "trap")
}

func TestApplyAndVerifyWhenNginxIsNotRunning(t *testing.T) {
	lb1 := remotetest.New(t, "lb1", remotetest.Call{Match: probeRE, Stdout: "no-master\n"})
	b := newBalancer(t, lb1)
	err := b.Apply(context.Background(), testChange)
	assert.ErrorContains(t, err, "on lb1: nginx is not running (no live process in /run/nginx.pid)")
	assert.ErrorContains(t, err, "nothing changed")
	lb1.Expect(remotetest.Call{Match: probeRE, Stdout: "no-master\n"})
	err = b.Verify(context.Background(), testChange)
	assert.ErrorContains(t, err, "nginx is not running")
	assert.NotErrorIs(t, err, lb.ErrNotLive, "it cannot tell")
}

func TestVerifyNotLoadedSaysWhatConverges(t *testing.T) {
	lb1 := remotetest.New(t, "lb1", probeCall(newConf, false))
	err := newBalancer(t, lb1).Verify(context.Background(), testChange)
	require.ErrorIs(t, err, lb.ErrNotLive)
	assert.ErrorContains(t, err, "written 10s ago but the newest worker is 12s old")
	assert.ErrorContains(t, err, "`zdd abort`")

	lb1.Expect(remotetest.Call{Match: probeRE, Stdout: "1000\n1010\nworkers\n--zdd-upstream-file--\n" + newConf})
	err = newBalancer(t, lb1).Verify(context.Background(), testChange)
	require.ErrorIs(t, err, lb.ErrNotLive)
	assert.ErrorContains(t, err, "no worker processes")

	lb1.Expect(remotetest.Call{Match: probeRE, Stdout: "garbage"})
	err = newBalancer(t, lb1).Verify(context.Background(), testChange)
	assert.ErrorContains(t, err, "unexpected output")
}

// The revert of a host that was not reloaded, in a real shell: the file ends as it was, with
// its modification time, so that it reads as loaded exactly when it was.
func TestRestoreKeepsTheOldFileAndItsTime(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "up.conf")
	h := Host{Name: "here", Runner: &remote.Local{}, UpstreamFile: p}
	ctx := context.Background()
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	mtime := func() time.Time {
		st, err := os.Stat(p)
		require.NoError(t, err)
		return st.ModTime()
	}
	content := func() string {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		return string(b)
	}

	// Swapped in (install saved the old file as .zdd-prev with cp -p): back with its time.
	require.NoError(t, os.WriteFile(p+".zdd-prev", []byte(oldConf), 0o640))
	require.NoError(t, os.Chtimes(p+".zdd-prev", old, old))
	require.NoError(t, os.WriteFile(p, []byte(newConf), 0o640))
	require.NoError(t, restore(ctx, h, []byte(oldConf), true))
	assert.Equal(t, oldConf, content())
	assert.True(t, mtime().Equal(old), "mtime %v, want %v", mtime(), old)

	// The swap never happened (the file holds old): untouched, whatever .zdd-prev holds.
	require.NoError(t, os.Chtimes(p, old.Add(time.Minute), old.Add(time.Minute)))
	require.NoError(t, restore(ctx, h, []byte(oldConf), true))
	assert.True(t, mtime().Equal(old.Add(time.Minute)), "untouched")

	// .zdd-prev is not the old content (stale): written with a new time.
	require.NoError(t, os.WriteFile(p, []byte(newConf), 0o640))
	require.NoError(t, os.WriteFile(p+".zdd-prev", []byte("stale"), 0o640))
	require.NoError(t, os.Chtimes(p+".zdd-prev", old, old))
	require.NoError(t, restore(ctx, h, []byte(oldConf), true))
	assert.Equal(t, oldConf, content())
	assert.WithinDuration(t, time.Now(), mtime(), time.Minute)
	st, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), st.Mode().Perm(), "mode kept")
}

func TestCommandErrorLeavesTheScriptOut(t *testing.T) {
	script := "{ t=$(mktemp /x/.up.zdd-XXXXXX) && trap 'rm -f \"$t\"' EXIT && cat > \"$t\"; } || exit 1; nginx -t"
	err := commandError("test the new configuration", "nginx -t",
		&remote.RunError{Host: "lb1 (127.0.0.11:22)", Cmd: script, Op: "open session", Err: context.DeadlineExceeded})
	assert.Equal(t, "test the new configuration: open session: context deadline exceeded", err.Error())
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	err = commandError("test the new configuration", "nginx -t",
		&remote.ExitError{Host: "lb1", Cmd: script, Code: 1, Stderr: "nginx: [emerg] bad\n"})
	assert.Equal(t, "test the new configuration: `nginx -t` exited 1: nginx: [emerg] bad", err.Error())
}
