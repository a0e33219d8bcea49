package state

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/saitodrom/zdd/deployer/wait"
)

// The lease's files in the state directory. Every read-modify-write of the lease (acquire,
// takeover, renewal, release) runs while holding an exclusive flock(2) on lockFileName, so two
// processes never decide on the same lease at once; the lease itself is then replaced by an
// atomic rename, so a reader without the flock (Locker.Read, `zdd lock status`) sees the old
// lease or the new one, never half of one. The flock file is never removed: removing it while a
// process waits on it would let two processes hold two different flock files.
const (
	leaseFileName      = "lock.json"       // the lease (Lease as JSON); absent when free
	lockFileName       = "lock.json.flock" // flocked around each read-modify-write; empty
	generationFileName = "lock.generation" // the last Generation given to a holder

	// flockWait bounds the wait for another process's critical section, which takes
	// milliseconds; a process stuck inside it (stopped, or on a hung file system) fails the
	// caller after this long rather than blocking it forever.
	flockWait = 10 * time.Second
)

func (l *Locker) path() string     { return filepath.Join(l.Dir, leaseFileName) }
func (l *Locker) lockPath() string { return filepath.Join(l.Dir, lockFileName) }
func (l *Locker) genPath() string  { return filepath.Join(l.Dir, generationFileName) }

// locked runs fn while this process holds the exclusive flock on the lease. what names the
// operation for errors. The flock is polled (non-blocking) so that ctx and flockWait bound it.
func (l *Locker) locked(ctx context.Context, what string, fn func() error) error {
	if err := l.Policy.MkdirAll(l.Dir); err != nil {
		return fmt.Errorf("lock: %s: create state directory %s: %w", what, l.Dir, err)
	}
	f, err := os.OpenFile(l.lockPath(), os.O_CREATE|os.O_RDWR, l.Policy.FileMode())
	if err != nil {
		return fmt.Errorf("lock: %s: open %s: %w", what, l.lockPath(), err)
	}
	if err := f.Chmod(l.Policy.FileMode()); err != nil { // whatever the umask
		f.Close()
		return fmt.Errorf("lock: %s: chmod %s: %w", what, l.lockPath(), err)
	}
	defer f.Close() // closing the file also drops the flock
	fd := int(f.Fd())
	err = wait.Until(ctx, time.Millisecond, flockWait, "the flock on "+l.lockPath(), func(context.Context) (bool, error) {
		switch err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EWOULDBLOCK), errors.Is(err, syscall.EINTR):
			return false, nil
		default:
			return false, err
		}
	})
	if err != nil {
		return fmt.Errorf("lock: %s: flock %s: %w", what, l.lockPath(), err)
	}
	defer func() { _ = syscall.Flock(fd, syscall.LOCK_UN) }()
	return fn()
}

// readGeneration returns the last generation given out (0 when none was).
func (l *Locker) readGeneration() (int64, error) {
	b, err := os.ReadFile(l.genPath())
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("lock: read %s: %w", l.genPath(), err)
	}
	g, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || g < 0 {
		return 0, fmt.Errorf("lock: %s is corrupt (%q): it must hold the last lease generation", l.genPath(), strings.TrimSpace(string(b)))
	}
	return g, nil
}

// newToken returns a random token that identifies one holding of the lease.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
