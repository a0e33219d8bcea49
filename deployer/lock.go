package deployer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
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
	var err error
	if waitFor <= 0 {
		// No wait: one try (wait.Until without a timeout would poll until the lease is free).
		_, err = try(ctx)
	} else if err = wait.Until(ctx, 500*time.Millisecond, waitFor, "the release lock", try); errors.Is(err, wait.ErrTimeout) {
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
	return l.hold(me), nil
}

func (l *Locker) hold(me Lease) *Held {
	h := &Held{l: l, lease: me, done: make(chan struct{}), lost: make(chan struct{})}
	go h.renew()
	return h
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
	l    *Locker
	done chan struct{}
	lost chan struct{}
	// mu orders renewals and Release: a renewal must never write the lease back after
	// Release removed it.
	mu       sync.Mutex
	lease    Lease
	released bool
}

// Lost is closed when the lease was taken from this process (by `zdd rollback` or
// `zdd lock release --force`): the holder should stop changing the cluster.
func (h *Held) Lost() <-chan struct{} { return h.lost }

// Lease returns the lease as held.
func (h *Held) Lease() Lease {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lease
}

func (h *Held) renew() {
	t := time.NewTicker(h.l.ttl() / 3)
	defer t.Stop()
	for {
		select {
		case <-h.done:
			return
		case <-t.C:
			if !h.renewOnce() {
				return
			}
		}
	}
}

// renewOnce extends the lease; it returns false when renewing must stop (released, or taken
// over: then Lost is closed).
func (h *Held) renewOnce() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released {
		return false
	}
	cur, err := h.l.Read()
	if err == nil && (cur == nil || cur.Token != h.lease.Token) {
		close(h.lost) // taken over (zdd rollback, or lock release --force): stop renewing
		return false
	}
	if err != nil {
		return true // unreadable for now (shared storage hiccup): try again at the next tick
	}
	h.lease.Expires = time.Now().UTC().Add(h.l.ttl())
	b, _ := json.MarshalIndent(h.lease, "", "  ")
	_ = writeAtomic(h.l.path(), b)
	return true
}

// Release stops renewing and removes the lease if it is still ours.
func (h *Held) Release() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released {
		return nil
	}
	h.released = true
	close(h.done)
	cur, err := h.l.Read()
	if err != nil || cur == nil || cur.Token != h.lease.Token {
		return err
	}
	return os.Remove(h.l.path())
}

// Live tells whether the lease has not expired at now.
func (l *Lease) Live(now time.Time) bool { return l != nil && now.Before(l.Expires) }

// String describes the lease for people: holder, host, pid, command, since and expiry.
func (l *Lease) String() string {
	return fmt.Sprintf("%s@%s (pid %d) running %q since %s, expires %s", l.Holder, l.Host, l.PID, l.Command,
		l.Started.Format(time.RFC3339), l.Expires.Format(time.RFC3339))
}

// TakeOver replaces the lease from (as read with Read) with one for me, and returns it held.
// It fails with outcome.ErrLocked when the lease on file is no longer from (someone else
// acquired or took it in between). When there is no lease at all it is acquired. The previous holder
// notices at its next renewal (Held.Lost) and stops renewing.
func (l *Locker) TakeOver(me Lease, from *Lease) (*Held, error) {
	cur, err := l.Read()
	if err != nil {
		return nil, err
	}
	if cur == nil {
		return l.Acquire(context.Background(), me, 0)
	}
	if from == nil || cur.Token != from.Token {
		return nil, outcome.Classify(outcome.ErrLocked, fmt.Errorf("lock: the lease changed hands: now %s", cur))
	}
	me.Token = fmt.Sprintf("%s-%d-%d", me.Host, me.PID, time.Now().UnixNano())
	me.Started = time.Now().UTC()
	me.Expires = me.Started.Add(l.ttl())
	b, _ := json.MarshalIndent(me, "", "  ")
	if err := writeAtomic(l.path(), b); err != nil {
		return nil, fmt.Errorf("lock: take over %s: %w", l.path(), err)
	}
	return l.hold(me), nil
}

// ForceRelease removes the lease whoever holds it and returns what it was (nil: there was
// none). The caller records it in the history (Journal.RecordLockRelease).
func (l *Locker) ForceRelease() (*Lease, error) {
	cur, err := l.Read()
	if err != nil {
		// A corrupt lease file is removed too: that is what --force is for.
		cur = nil
	}
	if rerr := os.Remove(l.path()); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		return cur, fmt.Errorf("lock: remove %s: %w", l.path(), rerr)
	}
	return cur, nil
}

// ReleaseStale removes the lease only when it has expired, and returns it. A live lease is
// refused with outcome.ErrLocked naming its holder; nil, nil means there was none.
func (l *Locker) ReleaseStale() (*Lease, error) {
	cur, err := l.Read()
	if err != nil || cur == nil {
		return nil, err
	}
	if cur.Live(time.Now()) {
		return cur, outcome.WithHint(outcome.Classify(outcome.ErrLocked, fmt.Errorf("lock: held by %s", cur)),
			"a live lease belongs to a running release; if its holder is really gone, `zdd lock release --force` removes it (recorded in history)")
	}
	stale := l.path() + ".expired." + cur.Token
	if err := os.Rename(l.path(), stale); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	return cur, os.Remove(stale)
}
