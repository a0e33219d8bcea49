package deployer

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/state"
)

// thisLease is a lease as this process's command would take it (package state's tests call it localLease).
func thisLease(holder string) state.Lease {
	host, _ := os.Hostname()
	return state.Lease{Holder: holder, Host: host, PID: os.Getpid(), Command: "zdd " + holder}
}

// thisProcess returns this kernel's boot id and this process's start time (field 22 of
// /proc/self/stat), the identity a lease records for its holder.
func thisProcess(t *testing.T) (bootID string, startTime uint64) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	require.NoError(t, err)
	stat, err := os.ReadFile("/proc/self/stat")
	require.NoError(t, err)
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	startTime, err = strconv.ParseUint(f[19], 10, 64)
	require.NoError(t, err)
	return strings.TrimSpace(string(b)), startTime
}

// writeLease puts lease on file in dir as the Locker stores it (lock.json), as a holder that
// crashed would have left it.
func writeLease(t *testing.T, dir string, lease state.Lease) {
	b, err := json.Marshal(lease)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lock.json"), b, 0o600))
}

// TestEngineAcquireIncident: resume and abort announce the wait for a live holder and a
// takeover as warnings, and record the takeover in the history.
func TestEngineAcquireIncident(t *testing.T) {
	dir := t.TempDir()
	var events []Event
	e := &Engine{Journal: &state.Journal{Dir: dir}, Sink: SinkFunc(func(ev Event) { events = append(events, ev) })}
	boot, start := thisProcess(t)
	l := &state.Locker{Dir: dir, TTL: time.Hour}
	reused := thisLease("deploy")
	reused.Holder, reused.Token, reused.Generation = "crashed", "old", 4
	reused.BootID, reused.StartTime, reused.Expires = boot, start+1, time.Now().Add(time.Hour)
	writeLease(t, dir, reused)

	h, err := e.acquireIncident(context.Background(), l, thisLease("resume"))
	require.NoError(t, err)
	require.Len(t, events, 1)
	assert.Equal(t, EventWarning, events[0].Type)
	assert.Contains(t, events[0].Message, "took over the release lease of crashed@")
	assert.Contains(t, events[0].Message, "the holder is dead")
	hist, err := e.Journal.History()
	require.NoError(t, err)
	require.Len(t, hist, 1)
	assert.Equal(t, state.KindLeaseTakeOver, hist[0].Kind)
	assert.Contains(t, hist[0].Note, "generation 4")
	assert.Equal(t, "resume", hist[0].Holder)

	// Held by this live process now: another resume waits one TTL, announcing who holds it.
	events = nil
	short := &state.Locker{Dir: dir, TTL: 300 * time.Millisecond}
	_, err = e.acquireIncident(context.Background(), short, thisLease("abort"))
	require.ErrorIs(t, err, outcome.ErrLocked)
	require.Len(t, events, 1)
	assert.Contains(t, events[0].Message, "the release lease is held by resume@")
	assert.Contains(t, events[0].Message, "waiting until")
	require.NoError(t, h.Release())
}
