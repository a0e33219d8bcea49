package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/saitodrom/zdd/deployer/outcome"
)

// ErrLeaseLost is returned by Held.Renew when the lease on file is no longer this holding (taken
// over, force-released, or expired unrenewed and taken by another process). It matches
// outcome.ErrLocked.
var ErrLeaseLost = outcome.Classify(outcome.ErrLocked, errors.New("lock: the lease is no longer ours"))

// Held is a lease this process holds; a goroutine renews it every TTL/3 until Release, or
// until it is lost (then Lost is closed).
type Held struct {
	l    *Locker
	done chan struct{}
	lost chan struct{}
	// prev and reason are the lease this holding replaced without its holder releasing it.
	prev   *Lease
	reason string
	// mu orders renewals and Release: a renewal must never write the lease back after
	// Release removed it.
	mu       sync.Mutex
	lease    Lease
	released bool
	isLost   bool
}

func (l *Locker) hold(me Lease, prev *Lease, reason string) *Held {
	h := &Held{l: l, lease: me, prev: prev, reason: reason, done: make(chan struct{}), lost: make(chan struct{})}
	go h.renew()
	return h
}

// Lost is closed when the lease was taken from this process (by `zdd rollback`, `zdd lock
// release --force`, or another process after it expired unrenewed): the holder should stop
// changing the cluster.
func (h *Held) Lost() <-chan struct{} { return h.lost }

// Lease returns the lease as held.
func (h *Held) Lease() Lease {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lease
}

// TakenOver returns the lease this holding replaced without its holder releasing it (expired,
// its holder dead, or taken by TakeOver), or nil when the lease was free. The incident commands
// record it in the history (Journal.RecordLeaseTakeOver) and print it.
func (h *Held) TakenOver() *Lease {
	if h.prev == nil {
		return nil
	}
	p := *h.prev
	return &p
}

// TakeoverReason says why the lease was taken over ("" when TakenOver is nil).
func (h *Held) TakeoverReason() string { return h.reason }

func (h *Held) renew() {
	t := time.NewTicker(h.l.LeaseTTL() / 3)
	defer t.Stop()
	for {
		select {
		case <-h.done:
			return
		case <-t.C:
			if err := h.Renew(); errors.Is(err, ErrLeaseLost) {
				return
			}
		}
	}
}

// Renew extends the lease by one TTL, under the flock and only while the lease on file is still
// this holding (same token and generation). When it is not, or when the lease could not be
// renewed before it expired (an unreadable state directory), the lease is lost: Lost is closed
// and Renew returns ErrLeaseLost, now and after. Another error (the state directory unusable for
// now) leaves the lease held until it expires; the renewal goroutine tries again at its next
// tick. Renew after Release returns nil and does nothing.
func (h *Held) Renew() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.isLost {
		return ErrLeaseLost
	}
	if h.released {
		return nil
	}
	gone := false
	err := h.l.locked(context.Background(), "renew", func() error {
		cur, err := h.l.Read()
		if err != nil {
			return err
		}
		if !h.ours(cur) {
			gone = true
			return nil
		}
		next := h.lease
		next.Expires = time.Now().UTC().Add(h.l.LeaseTTL())
		if err := h.l.write(next); err != nil {
			return err
		}
		h.lease = next
		return nil
	})
	if gone || (err != nil && !time.Now().Before(h.lease.Expires)) {
		h.isLost = true
		close(h.lost)
		return ErrLeaseLost
	}
	return err
}

func (h *Held) ours(cur *Lease) bool {
	return cur != nil && cur.Token == h.lease.Token && cur.Generation == h.lease.Generation
}

// Release stops renewing and removes the lease if it is still ours (checked under the flock);
// a lease already lost is left as it is, and that is not an error.
func (h *Held) Release() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released {
		return nil
	}
	h.released = true
	close(h.done)
	if h.isLost {
		return nil
	}
	return h.l.locked(context.Background(), "release", func() error {
		cur, err := h.l.Read()
		if err != nil || !h.ours(cur) {
			return err
		}
		if err := os.Remove(h.l.path()); err != nil {
			return fmt.Errorf("lock: remove %s: %w", h.l.path(), err)
		}
		return nil
	})
}
