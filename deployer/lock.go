package deployer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/wait"
)

// Lease is the release lock: one release at a time per cluster. It lives in the shared state
// directory and expires unless its holder renews it, so a crashed holder never blocks forever.
type Lease struct {
	// Holder is who holds it (user), Host where from, PID the process, Command what it runs.
	Holder  string    `json:"holder"`
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Command string    `json:"command"`
	Started time.Time `json:"started"`
	Expires time.Time `json:"expires"`
	// Token identifies this lease; only its owner renews or releases it.
	Token string `json:"token"`
}

// Locker takes and renews the lease in Dir.
type Locker struct {
	// Dir is the state directory.
	Dir string
	// TTL is how long a lease lives without renewal. Zero means 30 s.
	TTL time.Duration
}

func (l *Locker) path() string { return filepath.Join(l.Dir, "lock.json") }

func (l *Locker) ttl() time.Duration {
	if l.TTL <= 0 {
		return 30 * time.Second
	}
	return l.TTL
}

// Read returns the lease on file, or nil when there is none.
func (l *Locker) Read() (*Lease, error) {
	b, err := os.ReadFile(l.path())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var lease Lease
	if err := json.Unmarshal(b, &lease); err != nil {
		return nil, fmt.Errorf("lock: %s is corrupt: %w", l.path(), err)
	}
	return &lease, nil
}

// Acquire takes the lease for me, waiting up to wait for a live lease to be released or to
// expire. It fails with outcome.ErrLocked naming the holder.
func (l *Locker) Acquire(ctx context.Context, me Lease, waitFor time.Duration) (*Held, error) {
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("lock: create state directory %s: %w", l.Dir, err)
	}
	me.Token = fmt.Sprintf("%s-%d-%d", me.Host, me.PID, time.Now().UnixNano())
	var holder *Lease
	try := func(context.Context) (bool, error) {
		me.Started = time.Now().UTC()
		me.Expires = me.Started.Add(l.ttl())
		ok, cur, err := l.tryCreate(me)
		holder = cur
		return ok, err
	}
	err := wait.Until(ctx, 500*time.Millisecond, waitFor, "the release lock", try)
	if errors.Is(err, wait.ErrTimeout) || (err == nil && holder != nil && waitFor <= 0) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	if holder != nil {
		return nil, outcome.WithHint(outcome.Classify(outcome.ErrLocked,
			fmt.Errorf("lock: held by %s@%s (pid %d) since %s running %q, expires %s",
				holder.Holder, holder.Host, holder.PID, holder.Started.Format(time.RFC3339), holder.Command, holder.Expires.Format(time.RFC3339))),
			"wait for it (--lock-wait DURATION), or if its holder is gone, let the lease expire or run `zdd lock release --force`")
	}
	h := &Held{l: l, lease: me, done: make(chan struct{})}
	go h.renew()
	return h, nil
}

// tryCreate creates the lock file exclusively, taking over an expired lease.
func (l *Locker) tryCreate(me Lease) (bool, *Lease, error) {
	b, _ := json.MarshalIndent(me, "", "  ")
	f, err := os.OpenFile(l.path(), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err == nil {
		_, werr := f.Write(b)
		cerr := f.Close()
		return werr == nil && cerr == nil, nil, errors.Join(werr, cerr)
	}
	if !errors.Is(err, os.ErrExist) {
		return false, nil, fmt.Errorf("lock: create %s: %w", l.path(), err)
	}
	cur, err := l.Read()
	if err != nil || cur == nil {
		return false, cur, err
	}
	if time.Now().After(cur.Expires) {
		// Expired: move it aside atomically; only one contender wins the rename.
		stale := l.path() + ".expired." + cur.Token
		if os.Rename(l.path(), stale) == nil {
			_ = os.Remove(stale)
		}
		return l.tryCreate(me)
	}
	return false, cur, nil
}

// Held is a lease this process holds; it is renewed until Release.
type Held struct {
	l     *Locker
	lease Lease
	done  chan struct{}
}

// Lease returns the lease as held.
func (h *Held) Lease() Lease { return h.lease }

func (h *Held) renew() {
	t := time.NewTicker(h.l.ttl() / 3)
	defer t.Stop()
	for {
		select {
		case <-h.done:
			return
		case <-t.C:
			cur, err := h.l.Read()
			if err != nil || cur == nil || cur.Token != h.lease.Token {
				return // taken over (zdd rollback, or lock release --force): stop renewing
			}
			h.lease.Expires = time.Now().UTC().Add(h.l.ttl())
			b, _ := json.MarshalIndent(h.lease, "", "  ")
			_ = writeAtomic(h.l.path(), b)
		}
	}
}

// Release stops renewing and removes the lease if it is still ours.
func (h *Held) Release() error {
	select {
	case <-h.done:
		return nil
	default:
		close(h.done)
	}
	cur, err := h.l.Read()
	if err != nil || cur == nil || cur.Token != h.lease.Token {
		return err
	}
	return os.Remove(h.l.path())
}
