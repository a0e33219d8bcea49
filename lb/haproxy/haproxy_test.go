package haproxy

import (
	"bufio"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// replay is a fake runtime API on a unix socket: it answers each expected
// command, in order, with a file captured from HAProxy 2.6 on this machine,
// and fails the test on any other command.
type replay struct {
	t    *testing.T
	mu   sync.Mutex
	want [][2]string // command, testdata file ("" = empty reply)
}

func newReplay(t *testing.T, pairs ...[2]string) *Client {
	t.Helper()
	r := &replay{t: t, want: pairs}
	sock := filepath.Join(t.TempDir(), "admin.sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	t.Cleanup(func() {
		l.Close()
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, w := range r.want {
			t.Errorf("replay: expected command never sent: %s", w[0])
		}
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go r.serve(c)
		}
	}()
	c, err := New(Options{Network: "unix", Address: sock, Timeout: 2 * time.Second})
	require.NoError(t, err)
	return c
}

func (r *replay) serve(c net.Conn) {
	defer c.Close()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return
	}
	cmd := strings.TrimSuffix(line, "\n")
	r.mu.Lock()
	if len(r.want) == 0 || r.want[0][0] != cmd {
		r.mu.Unlock()
		r.t.Errorf("replay: unexpected command %q", cmd)
		c.Write([]byte("Unknown command.\n\n"))
		return
	}
	file := r.want[0][1]
	r.want = r.want[1:]
	r.mu.Unlock()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		r.t.Errorf("replay: %v", err)
		return
	}
	c.Write(b)
}

func TestServersStateParsesRealOutput(t *testing.T) {
	c := newReplay(t, [2]string{"show servers state mysql", "state_db1_w50_db2_drain.txt"})
	st, err := c.ServersState(context.Background(), "mysql")
	require.NoError(t, err)
	require.Len(t, st, 2)
	assert.Equal(t, ServerState{BackendID: 5, Backend: "mysql", ID: 1, Name: "db1", Addr: "127.0.0.1", Port: 19456,
		Op: OpRunning, Admin: 0, Weight: 50, InitWeight: 100, CheckResult: 3}, st[0])
	assert.Equal(t, ForcedDrain, st[1].Admin)
	assert.True(t, st[1].Admin.Drain())
	assert.False(t, st[1].Admin.Maint())
	assert.Equal(t, "db2 running FDRAIN weight=100/100", st[1].String())
}

func TestAdminStateDecode(t *testing.T) {
	assert.Equal(t, "ready", AdminState(0).String())
	assert.Equal(t, "FMAINT|FDRAIN", AdminState(0x09).String())
	assert.Equal(t, "CMAINT|HMAINT|0x80", AdminState(0xc4).String())
	assert.True(t, AdminState(0x20).Maint())
}

func TestDownAndMaintStates(t *testing.T) {
	c := newReplay(t, [2]string{"show servers state mysql", "state_db1_down.txt"},
		[2]string{"show servers state mysql", "state_db2_maint.txt"})
	st, err := c.ServersState(context.Background(), "mysql")
	require.NoError(t, err)
	assert.Equal(t, OpStopped, st[0].Op)
	assert.Equal(t, 2, st[0].CheckResult)
	st, err = c.ServersState(context.Background(), "mysql")
	require.NoError(t, err)
	assert.Equal(t, OpStopped, st[1].Op)
	assert.Equal(t, ForcedMaint, st[1].Admin)
}

func TestActiveServer(t *testing.T) {
	c := newReplay(t, [2]string{"show stat -1 4 -1", "stat_both_up.txt"},
		[2]string{"show stat -1 4 -1", "stat_db1_down.txt"},
		[2]string{"show stat -1 4 -1", "stat_db2_maint.txt"},
		[2]string{"show stat -1 4 -1", "stat_both_up.txt"})
	ctx := context.Background()
	name, err := c.ActiveServer(ctx, "mysql")
	require.NoError(t, err)
	assert.Equal(t, "db1", name)
	name, err = c.ActiveServer(ctx, "mysql")
	require.NoError(t, err)
	assert.Equal(t, "db2", name, "primary down: the backup takes traffic")
	name, err = c.ActiveServer(ctx, "mysql")
	require.NoError(t, err)
	assert.Equal(t, "db1", name)
	_, err = c.ActiveServer(ctx, "nosuch")
	assert.ErrorIs(t, err, ErrNoBackend)
}

func TestActiveServerNone(t *testing.T) {
	_, err := activeOf("mysql", []ServerStat{{Name: "db1", Status: "DOWN"}, {Name: "db2", Status: "MAINT", Backup: true, Weight: 100}})
	assert.ErrorIs(t, err, ErrNoActive)
	assert.ErrorContains(t, err, "db1=DOWN, db2=MAINT")
	_, err = activeOf("mysql", []ServerStat{{Name: "a", Status: "UP", Weight: 1}, {Name: "b", Status: "UP 1/2", Weight: 1}})
	assert.ErrorContains(t, err, "2 active primaries")
}

func TestSetWeightConfirmed(t *testing.T) {
	c := newReplay(t, [2]string{"set weight mysql/db1 50", "set_ok.txt"},
		[2]string{"show servers state mysql", "state_db1_w50_db2_drain.txt"})
	require.NoError(t, c.SetWeight(context.Background(), "mysql", "db1", 50))
}

func TestSetWeightNotConfirmed(t *testing.T) {
	c := newReplay(t, [2]string{"set weight mysql/db1 60", "set_ok.txt"},
		[2]string{"show servers state mysql", "state_db1_w50_db2_drain.txt"})
	err := c.SetWeight(context.Background(), "mysql", "db1", 60)
	assert.ErrorIs(t, err, ErrNotConfirmed)
	assert.ErrorContains(t, err, "weight reads 50")
}

func TestSetStateConfirmed(t *testing.T) {
	c := newReplay(t, [2]string{"set server mysql/db2 state drain", "set_ok.txt"},
		[2]string{"show servers state mysql", "state_db1_w50_db2_drain.txt"},
		[2]string{"set server mysql/db2 state maint", "set_ok.txt"},
		[2]string{"show servers state mysql", "state_db2_maint.txt"},
		[2]string{"set server mysql/db2 state ready", "set_ok.txt"},
		[2]string{"show servers state mysql", "state_db2_maint.txt"})
	ctx := context.Background()
	require.NoError(t, c.SetState(ctx, "mysql", "db2", Drain))
	require.NoError(t, c.SetState(ctx, "mysql", "db2", Maint))
	err := c.SetState(ctx, "mysql", "db2", Ready)
	assert.ErrorIs(t, err, ErrNotConfirmed)
	assert.ErrorContains(t, err, "admin state reads FMAINT")
}

func TestErrorReplies(t *testing.T) {
	c := newReplay(t, [2]string{"set weight mysql/nosuch 5", "set_no_server.txt"},
		[2]string{"set server nosuch/db2 state ready", "set_no_backend.txt"},
		[2]string{"show servers state nosuch", "state_no_backend.txt"},
		[2]string{"set server mysql/db2 state ready", "set_state_bogus.txt"})
	ctx := context.Background()
	assert.ErrorIs(t, c.SetWeight(ctx, "mysql", "nosuch", 5), ErrNoServer)
	assert.ErrorIs(t, c.SetState(ctx, "nosuch", "db2", Ready), ErrNoBackend)
	_, err := c.ServersState(ctx, "nosuch")
	assert.ErrorIs(t, err, ErrNoBackend)
	var ce *CommandError
	require.ErrorAs(t, c.SetState(ctx, "mysql", "db2", Ready), &ce)
	assert.Contains(t, ce.Reply, "expects 'ready', 'drain' and 'maint'")
}

func TestInvalidArgumentsSendNothing(t *testing.T) {
	c := newReplay(t)
	ctx := context.Background()
	assert.ErrorIs(t, c.SetWeight(ctx, "mysql", "db1", 257), ErrInvalid)
	assert.ErrorIs(t, c.SetWeight(ctx, "mysql", "db1", -1), ErrInvalid)
	assert.ErrorIs(t, c.SetWeight(ctx, "mysql", "db1;shutdown", 5), ErrInvalid)
	assert.ErrorIs(t, c.SetState(ctx, "mysql", "db1", Admin("up")), ErrInvalid)
	_, err := c.Command(ctx, "show info\nshutdown")
	assert.ErrorIs(t, err, ErrInvalid)
}

func TestSocketThatDoesNotAnswer(t *testing.T) {
	dir := t.TempDir()
	c, err := New(Options{Network: "unix", Address: filepath.Join(dir, "none.sock")})
	require.NoError(t, err)
	_, err = c.ActiveServer(context.Background(), "mysql")
	assert.ErrorContains(t, err, "connect to")

	// A socket that accepts but never replies: the timeout ends the wait.
	sock := filepath.Join(dir, "mute.sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	c, err = New(Options{Network: "unix", Address: sock, Timeout: 200 * time.Millisecond})
	require.NoError(t, err)
	_, err = c.ServersState(context.Background(), "mysql")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}
