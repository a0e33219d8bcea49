package state

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/statedir"
)

// localLease is a lease as this process's command would take it.
func localLease(holder string) Lease {
	host, _ := os.Hostname()
	return Lease{Holder: holder, Host: host, PID: os.Getpid(), Command: "zdd " + holder}
}

func TestParseProcStat(t *testing.T) {
	line := "4242 (we(i)rd ) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	st, err := parseProcStat([]byte(line))
	require.NoError(t, err)
	assert.Equal(t, "S", st.State)
	assert.Equal(t, uint64(987654), st.StartTime)
	_, err = parseProcStat([]byte("12 (short) S 1 2"))
	require.Error(t, err)

	self, err := readProcStat(os.Getpid())
	require.NoError(t, err, "this test runs on Linux, with /proc")
	assert.NotZero(t, self.StartTime)
	assert.NotEmpty(t, bootID())
}

// TestLeaseDeadLocalHolder: a process on this host takes the lease and is killed (SIGKILL);
// the incident acquisition takes it over at once, long before its one-minute TTL, and says so.
func TestLeaseDeadLocalHolder(t *testing.T) {
	dir := t.TempDir()
	c := helperCmd(t, "hold", dir, "0")
	in, err := c.StdinPipe()
	require.NoError(t, err)
	out, err := c.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, c.Start())
	defer in.Close()
	sc := bufio.NewScanner(out)
	require.True(t, sc.Scan())
	require.Equal(t, "held 1", sc.Text())

	l := &Locker{Dir: dir, TTL: time.Minute}
	victim, err := l.Read()
	require.NoError(t, err)
	require.Equal(t, c.Process.Pid, victim.PID)
	require.NotZero(t, victim.StartTime, "the lease records the holder's start time")
	require.NotEmpty(t, victim.BootID)
	dead, _ := victim.HolderDead()
	require.False(t, dead, "a running holder is alive")
	_, err = l.AcquireWith(context.Background(), localLease("resume"), AcquireOptions{TakeOverDead: true})
	require.ErrorIs(t, err, outcome.ErrLocked, "a live local holder is not taken over")
	assert.Contains(t, err.Error(), "victim@")

	require.NoError(t, c.Process.Kill())
	_ = c.Wait()
	start := time.Now()
	h, err := l.AcquireIncident(context.Background(), localLease("resume"), func(Lease, time.Time) {
		t.Error("a dead holder is not waited for")
	})
	require.NoError(t, err)
	defer h.Release()
	assert.Less(t, time.Since(start), 2*time.Second, "taken over at once, not after the TTL")
	require.NotNil(t, h.TakenOver())
	assert.Equal(t, victim.Token, h.TakenOver().Token)
	assert.Contains(t, h.TakeoverReason(), "gone")
	assert.Equal(t, int64(2), h.Lease().Generation)
}

// TestLeaseReusedPID: a lease naming this very process's pid but another start time (the pid was
// reused after the holder died) is taken over at once; with the right start time it is not, nor
// when its host or boot id is another.
func TestLeaseReusedPID(t *testing.T) {
	self, err := readProcStat(os.Getpid())
	require.NoError(t, err)
	host, _ := os.Hostname()
	base := Lease{Holder: "old", Host: host, PID: os.Getpid(), Command: "zdd deploy", Token: "old", Generation: 7,
		BootID: bootID(), StartTime: self.StartTime, Started: time.Now(), Expires: time.Now().Add(time.Hour)}
	for _, tc := range []struct {
		name string
		edit func(*Lease)
		dead bool
	}{
		{"same pid, same start time: the holder itself", func(*Lease) {}, false},
		{"same pid, another start time: a reused pid", func(l *Lease) { l.StartTime++ }, true},
		{"another host", func(l *Lease) { l.Host = "elsewhere"; l.StartTime++ }, false},
		{"this host before a reboot", func(l *Lease) { l.BootID = "another-boot"; l.StartTime++ }, false},
		{"no start time recorded", func(l *Lease) { l.StartTime = 0 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &Locker{Dir: t.TempDir(), TTL: time.Hour}
			lease := base
			tc.edit(&lease)
			require.NoError(t, l.write(lease))
			dead, why := lease.HolderDead()
			assert.Equal(t, tc.dead, dead, why)
			h, err := l.AcquireWith(context.Background(), localLease("abort"), AcquireOptions{TakeOverDead: true})
			if !tc.dead {
				require.ErrorIs(t, err, outcome.ErrLocked)
				assert.Equal(t, 5, outcome.Code(err))
				return
			}
			require.NoError(t, err)
			defer h.Release()
			assert.Contains(t, h.TakeoverReason(), "now belongs to a process started at tick")
			assert.Equal(t, int64(8), h.Lease().Generation, "one above the lease taken over")
		})
	}
}

// TestLeaseLiveHolderElsewhereWaitedThenTaken: a holder on another host renews, then stops (its
// process gone where this one cannot see); the incident acquisition says who it waits for and
// until when, and takes the lease once it expired.
func TestLeaseLiveHolderElsewhereWaitedThenTaken(t *testing.T) {
	dir := t.TempDir()
	// TTLs here leave a renewal (every TTL/3) a whole TTL/3 of slack on a busy machine.
	l := &Locker{Dir: dir, TTL: 1500 * time.Millisecond, LockWait: 6 * time.Second}
	a, err := l.Acquire(context.Background(), Lease{Holder: "alice", Host: "elsewhere", PID: 1, Command: "zdd deploy"}, 0)
	require.NoError(t, err)
	time.AfterFunc(1200*time.Millisecond, func() { stopRenewing(a) })

	var mu sync.Mutex
	var lines []string
	start := time.Now()
	h, err := l.AcquireIncident(context.Background(), localLease("resume"), func(holder Lease, until time.Time) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, holder.Holder+"@"+holder.Host+" until "+until.Sub(start).Round(time.Second).String())
	})
	require.NoError(t, err)
	defer h.Release()
	waited := time.Since(start)
	last := a.Lease()
	assert.GreaterOrEqual(t, waited, 1200*time.Millisecond, "a renewing holder is waited for")
	assert.False(t, time.Now().Before(last.Expires), "taken only after the last renewal expired")
	assert.Less(t, waited, 6*time.Second)
	assert.Equal(t, []string{"alice@elsewhere until 6s"}, lines, "one line: who holds it and until when the wait lasts")
	require.NotNil(t, h.TakenOver())
	assert.Equal(t, "alice", h.TakenOver().Holder)
	assert.Contains(t, h.TakeoverReason(), "expired")
}

// TestLeaseRenewingHolderLocksOut: a holder that keeps renewing makes the incident acquisition
// fail with ErrLocked (exit 5) naming it, after one TTL (longer than lock_wait here).
func TestLeaseRenewingHolderLocksOut(t *testing.T) {
	l := &Locker{Dir: t.TempDir(), TTL: 1500 * time.Millisecond, LockWait: 100 * time.Millisecond}
	a, err := l.Acquire(context.Background(), Lease{Holder: "alice", Host: "elsewhere", PID: 1, Command: "zdd deploy"}, 0)
	require.NoError(t, err)
	defer a.Release()
	start := time.Now()
	calls := 0
	_, err = l.AcquireIncident(context.Background(), localLease("abort"), func(Lease, time.Time) { calls++ })
	waited := time.Since(start)
	require.ErrorIs(t, err, outcome.ErrLocked)
	assert.Equal(t, 5, outcome.Code(err))
	assert.Contains(t, err.Error(), "alice@elsewhere")
	assert.Contains(t, err.Error(), "kept the lease for the 1.5s waited")
	assert.GreaterOrEqual(t, waited, 1500*time.Millisecond, "max(lock_wait, TTL) is the TTL here")
	assert.Equal(t, 1, calls)
	cur, err := l.Read()
	require.NoError(t, err)
	assert.Equal(t, a.Lease().Token, cur.Token, "the holder keeps its lease")
	assert.Greater(t, cur.Expires, start.Add(1500*time.Millisecond), "it renewed during the wait")
}

// TestLeaseDeployWaitsForExpiry: plain Acquire (deploy) refuses a live lease at once without a
// wait, takes it within lock_wait once it expired, and never takes over a dead holder early.
func TestLeaseDeployWaitsForExpiry(t *testing.T) {
	l := &Locker{Dir: t.TempDir(), TTL: 400 * time.Millisecond}
	self, err := readProcStat(os.Getpid())
	require.NoError(t, err)
	reused := localLease("old")
	reused.Token, reused.BootID, reused.StartTime, reused.Expires = "old", bootID(), self.StartTime+1, time.Now().Add(time.Hour)
	require.NoError(t, l.write(reused))
	_, err = l.Acquire(context.Background(), localLease("deploy"), 0)
	require.ErrorIs(t, err, outcome.ErrLocked, "deploy does not take over a dead holder before its lease expires")
	_, err = l.ForceRelease()
	require.NoError(t, err)

	a, err := l.Acquire(context.Background(), Lease{Holder: "alice", Host: "elsewhere", PID: 1}, 0)
	require.NoError(t, err)
	stopRenewing(a)
	_, err = l.Acquire(context.Background(), localLease("deploy"), 0)
	require.ErrorIs(t, err, outcome.ErrLocked)
	h, err := l.Acquire(context.Background(), localLease("deploy"), 2*time.Second)
	require.NoError(t, err)
	defer h.Release()
	assert.Equal(t, "alice", h.TakenOver().Holder)
}

// TestLeaseRenewAfterTakeover: once the lease was taken over (or force-released), the old
// holder's renewal fails, Lost is closed, and its Release removes nothing.
func TestLeaseRenewAfterTakeover(t *testing.T) {
	l := &Locker{Dir: t.TempDir(), TTL: time.Hour}
	ctx := context.Background()
	a, err := l.Acquire(ctx, localLease("deploy"), 0)
	require.NoError(t, err)
	require.NoError(t, a.Renew(), "a lease still ours renews")
	cur, err := l.Read()
	require.NoError(t, err)
	b, err := l.TakeOver(localLease("rollback"), cur)
	require.NoError(t, err)
	assert.Equal(t, a.Lease().Token, b.TakenOver().Token)
	require.ErrorIs(t, a.Renew(), ErrLeaseLost)
	require.ErrorIs(t, a.Renew(), ErrLeaseLost, "lost stays lost")
	select {
	case <-a.Lost():
	default:
		t.Fatal("Lost is not closed after a failed renewal")
	}
	require.NoError(t, a.Release())
	now, err := l.Read()
	require.NoError(t, err)
	assert.Equal(t, b.Lease().Token, now.Token, "the old holder's Release leaves the new lease")
	assert.Equal(t, int64(2), now.Generation)

	_, err = l.TakeOver(localLease("rollback"), cur)
	require.ErrorIs(t, err, outcome.ErrLocked, "taking over a lease that changed hands fails")

	_, err = l.ForceRelease()
	require.NoError(t, err)
	require.ErrorIs(t, b.Renew(), ErrLeaseLost, "a force-released lease is lost")
	<-b.Lost()
}

// TestLeaseRenewalGoroutineNoticesTakeover: the renewal goroutine closes Lost by itself.
func TestLeaseRenewalGoroutineNoticesTakeover(t *testing.T) {
	l := &Locker{Dir: t.TempDir(), TTL: 150 * time.Millisecond}
	a, err := l.Acquire(context.Background(), localLease("deploy"), 0)
	require.NoError(t, err)
	first := a.Lease().Expires
	require.Eventually(t, func() bool { return a.Lease().Expires.After(first) }, 2*time.Second, 10*time.Millisecond, "renewed")
	cur, err := l.Read()
	require.NoError(t, err)
	require.Equal(t, a.Lease().Expires.UnixNano(), cur.Expires.UnixNano(), "the renewal is on file")
	b, err := l.TakeOver(localLease("rollback"), cur)
	require.NoError(t, err)
	defer b.Release()
	select {
	case <-a.Lost():
	case <-time.After(2 * time.Second):
		t.Fatal("the old holder never noticed the takeover")
	}
}

// TestLeaseGeneration: each new holder gets the last generation plus one, across releases and
// forced releases; a corrupt generation file is an error naming it.
func TestLeaseGeneration(t *testing.T) {
	l := &Locker{Dir: t.TempDir(), TTL: time.Hour}
	ctx := context.Background()
	for want := int64(1); want <= 3; want++ {
		h, err := l.Acquire(ctx, localLease("deploy"), 0)
		require.NoError(t, err)
		assert.Equal(t, want, h.Lease().Generation)
		assert.Nil(t, h.TakenOver(), "a free lease is not a takeover")
		require.NoError(t, h.Release())
	}
	_, err := l.Acquire(ctx, localLease("deploy"), 0)
	require.NoError(t, err)
	_, err = l.ForceRelease()
	require.NoError(t, err)
	h, err := l.Acquire(ctx, localLease("deploy"), 0)
	require.NoError(t, err)
	assert.Equal(t, int64(5), h.Lease().Generation)
	require.NoError(t, h.Release())

	require.NoError(t, os.WriteFile(l.genPath(), []byte("five\n"), 0o600))
	_, err = l.Acquire(ctx, localLease("deploy"), 0)
	require.Error(t, err)
	assert.Contains(t, err.Error(), generationFileName)
}

// TestLeaseFileModes: the state directory and the lease's files are private.
func TestLeaseFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	l := &Locker{Dir: dir, TTL: time.Hour}
	h, err := l.Acquire(context.Background(), localLease("deploy"), 0)
	require.NoError(t, err)
	defer h.Release()
	st, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, statedir.PrivateDirMode, st.Mode().Perm(), "state directory")
	for _, name := range []string{leaseFileName, lockFileName, generationFileName} {
		st, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.Equal(t, statedir.PrivateFileMode, st.Mode().Perm(), name)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), "."), "no temporary file left: %s", e.Name())
	}
}

// TestLeaseTakeoverRecorded: resume/abort record a takeover in the history.
func TestLeaseTakeoverRecorded(t *testing.T) {
	dir := t.TempDir()
	j := &Journal{Dir: dir}
	was := &Lease{Holder: "alice", Host: "ci", PID: 42, Command: "zdd deploy", Generation: 3, Started: time.Now()}
	require.NoError(t, j.RecordLeaseTakeOver(localLease("resume"), was, "the holder is dead: its process 42 on ci is gone"))
	hist, err := j.History()
	require.NoError(t, err)
	require.Len(t, hist, 1)
	assert.Equal(t, KindLeaseTakeOver, hist[0].Kind)
	assert.Contains(t, hist[0].Note, "alice@ci (pid 42)")
	assert.Contains(t, hist[0].Note, "generation 3")
	assert.Contains(t, hist[0].Note, "is gone")
	assert.Nil(t, LastGood(hist, "app", ""), "a takeover is not a release")
}
