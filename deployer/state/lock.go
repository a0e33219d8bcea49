package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/statedir"
	"github.com/saitodrom/zdd/deployer/wait"
)

// Lease is the release lock: one release at a time per cluster. It lives in the shared state
// directory and expires unless its holder renews it, so a crashed holder never blocks forever;
// a holder on this host whose process is gone is known dead at once (HolderDead).
//
// Contract: a command that changes the cluster holds the lease while it does, taking it with
// Locker.Acquire (deploy, promote, drain, migrate), Locker.AcquireIncident (resume, abort) or
// Locker.TakeOver (rollback), releasing it with Held.Release, and it must stop changing the
// cluster when Held.Lost is closed. At most one process holds it at any time: every decision
// about it (take, take over, renew, release) is made under a flock in the state directory (see
// lease_file.go), and each new holder gets the next Generation. Errors: outcome.ErrLocked when
// another holder keeps it; otherwise an error naming the state file that could not be used.
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
	// Generation numbers the holders: each new holder gets the last one given out plus one, so
	// it only grows, also across releases (it is kept in lock.generation).
	Generation int64 `json:"generation"`
	// BootID is the kernel boot id of the holder's host, StartTime the holder process's start
	// time (clock ticks since boot, field 22 of /proc/PID/stat). The Locker records them when
	// the lease is taken; with Host and PID they tell whether the holder still runs.
	BootID    string `json:"boot_id,omitempty"`
	StartTime uint64 `json:"start_time,omitempty"`
}

// Locker takes and renews the lease in Dir. Its methods are safe to call from several
// processes (and goroutines) at once on the same Dir.
type Locker struct {
	// Dir is the state directory.
	Dir string
	// TTL is how long a lease lives without renewal. Zero means 30 s.
	TTL time.Duration
	// LockWait is strategy.lock_wait, the least time AcquireIncident waits for a live holder
	// (it waits at least one TTL).
	LockWait time.Duration
	// Policy gives the modes of the state directory and the lease's files (state.group_shared);
	// the zero value is private (0700 and 0600).
	Policy statedir.Policy
}

// LeaseTTL is how long a lease lasts without renewal: TTL, or 30 s when TTL is unset.
func (l *Locker) LeaseTTL() time.Duration {
	if l.TTL <= 0 {
		return 30 * time.Second
	}
	return l.TTL
}

// Read returns the lease on file, or nil when there is none. It takes no lock (the lease is
// replaced atomically) and is what `zdd lock status` shows.
func (l *Locker) Read() (*Lease, error) {
	var lease Lease
	found, err := readJSON(l.path(), "lock", &lease)
	if errors.Is(err, errCorrupt) {
		return nil, outcome.WithHint(err, "if no zdd runs, `zdd lock release --force` removes it (recorded in history)")
	}
	if !found || err != nil {
		return nil, err
	}
	return &lease, nil
}

// AcquireOptions say how Locker.AcquireWith waits.
type AcquireOptions struct {
	// Wait is how long to wait for a live holder to release the lease or let it expire; zero
	// or less tries once.
	Wait time.Duration
	// TakeOverDead takes the lease over at once when its holder is known to be dead
	// (Lease.HolderDead), without waiting for it to expire.
	TakeOverDead bool
	// OnWait, when set, is called when a wait for a live holder starts, and again when the
	// lease changes hands during the wait, with the holder and when the wait ends. It is how
	// the command prints who it waits for; it must not block.
	OnWait func(holder Lease, until time.Time)
}

// Acquire takes the lease for me, waiting up to waitFor for a live lease to be released or to
// expire (deploy, promote, drain, migrate). It fails with outcome.ErrLocked naming the holder.
// Held.TakenOver tells whether it replaced an expired lease.
func (l *Locker) Acquire(ctx context.Context, me Lease, waitFor time.Duration) (*Held, error) {
	return l.AcquireWith(ctx, me, AcquireOptions{Wait: waitFor})
}

// AcquireIncident takes the lease for the incident commands (resume, abort): at once when it is
// free or expired, or when its holder is a dead process on this host (a takeover:
// Held.TakenOver returns the lease it replaced and TakeoverReason why, for the caller to record
// in the history and print); otherwise it waits up to max(LockWait, TTL), calling onWait (may be
// nil) with the holder, and fails with outcome.ErrLocked naming the holder if it kept renewing.
func (l *Locker) AcquireIncident(ctx context.Context, me Lease, onWait func(holder Lease, until time.Time)) (*Held, error) {
	return l.AcquireWith(ctx, me, AcquireOptions{Wait: max(l.LockWait, l.LeaseTTL()), TakeOverDead: true, OnWait: onWait})
}

// AcquireWith takes the lease for me as o says. Errors: outcome.ErrLocked (naming the holder)
// when a live holder kept it for o.Wait; ctx.Err() when ctx ends first; an error naming the file
// when the state directory cannot be used.
func (l *Locker) AcquireWith(ctx context.Context, me Lease, o AcquireOptions) (*Held, error) {
	stampProcess(&me)
	var held *Held
	var holder *Lease
	announced := ""
	deadline := time.Now().Add(o.Wait)
	try := func(context.Context) (bool, error) {
		// ctx, not the wait's own context: the wait's deadline passing inside a try is the
		// wait's timeout (handled below), never an error of the try.
		h, cur, err := l.claim(ctx, me, o.TakeOverDead)
		held, holder = h, cur
		if err != nil || h != nil {
			return h != nil, err
		}
		if o.OnWait != nil && o.Wait > 0 && cur.Token != announced {
			announced = cur.Token
			o.OnWait(*cur, deadline)
		}
		return false, nil
	}
	var err error
	if o.Wait <= 0 {
		// No wait: one try (wait.Until without a timeout would poll until the lease is free).
		_, err = try(ctx)
	} else if err = wait.Until(ctx, l.PollInterval(), o.Wait, "the release lock", try); errors.Is(err, wait.ErrTimeout) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	if held == nil {
		return nil, lockedError(holder, o.Wait)
	}
	return held, nil
}

// PollInterval is how often a wait for the lease reads it again: a tenth of LeaseTTL, between
// 10 ms and 500 ms.
func (l *Locker) PollInterval() time.Duration {
	return min(500*time.Millisecond, max(l.LeaseTTL()/10, 10*time.Millisecond))
}

func lockedError(holder *Lease, waited time.Duration) error {
	msg := fmt.Sprintf("lock: held by %s@%s (pid %d) since %s running %q, expires %s",
		holder.Holder, holder.Host, holder.PID, holder.Started.Format(time.RFC3339), holder.Command, holder.Expires.Format(time.RFC3339))
	if waited > 0 {
		msg += fmt.Sprintf("; it kept the lease for the %s waited", waited)
	}
	return outcome.WithHint(outcome.Classify(outcome.ErrLocked, errors.New(msg)),
		"wait for it (--lock-wait DURATION), or if its holder is gone, let the lease expire or run `zdd lock release --force`")
}

// claim is one attempt, under the flock, to take the lease for me: it does when there is none,
// when it expired, or (takeDead) when its holder is dead. Otherwise it returns the live holder.
func (l *Locker) claim(ctx context.Context, me Lease, takeDead bool) (*Held, *Lease, error) {
	var held *Held
	var holder *Lease
	err := l.locked(ctx, "acquire", func() error {
		cur, err := l.Read()
		if err != nil {
			return err
		}
		reason := ""
		if cur != nil {
			if cur.Live(time.Now()) {
				dead, why := cur.HolderDead()
				if !takeDead || !dead {
					holder = cur
					return nil
				}
				reason = "the holder is dead: " + why
			} else {
				reason = "it expired at " + cur.Expires.Format(time.RFC3339) + " without renewal"
			}
		}
		held, err = l.install(me, cur, reason)
		return err
	})
	return held, holder, err
}

// install writes a new lease for me, one generation above the last, replacing prev (nil: there
// was none). It runs under the flock.
func (l *Locker) install(me Lease, prev *Lease, reason string) (*Held, error) {
	gen, err := l.readGeneration()
	if err != nil {
		return nil, err
	}
	if prev != nil {
		gen = max(gen, prev.Generation)
	}
	me.Generation = gen + 1
	me.Token = newToken()
	me.Started = time.Now().UTC()
	me.Expires = me.Started.Add(l.LeaseTTL())
	if err := l.Policy.WriteAtomic(l.genPath(), fmt.Appendf(nil, "%d\n", me.Generation)); err != nil {
		return nil, fmt.Errorf("lock: write %s: %w", l.genPath(), err)
	}
	if err := l.write(me); err != nil {
		return nil, err
	}
	return l.hold(me, prev, reason), nil
}

func (l *Locker) write(lease Lease) error {
	b, _ := json.MarshalIndent(lease, "", "  ")
	if err := l.Policy.WriteAtomic(l.path(), b); err != nil {
		return fmt.Errorf("lock: write %s: %w", l.path(), err)
	}
	return nil
}

// Live tells whether the lease has not expired at now.
func (l *Lease) Live(now time.Time) bool { return l != nil && now.Before(l.Expires) }

// String describes the lease for people: holder, host, pid, command, since and expiry.
func (l *Lease) String() string {
	return fmt.Sprintf("%s@%s (pid %d) running %q since %s, expires %s", l.Holder, l.Host, l.PID, l.Command,
		l.Started.Format(time.RFC3339), l.Expires.Format(time.RFC3339))
}

// TakeOver replaces the lease from (as read with Read) with one for me, and returns it held,
// whether from is live or not (`zdd rollback` takes over the release it replaces). It fails with
// outcome.ErrLocked when the lease on file is no longer from and is active (someone else
// acquired or took it in between: the check and the replacement are one step under the flock).
// When there is no lease, or the one on file expired or its holder is dead (Lease.Active), it is
// taken whatever from is. Held.TakenOver returns the lease replaced. The previous holder notices at its next renewal (Held.Lost).
func (l *Locker) TakeOver(me Lease, from *Lease) (*Held, error) {
	stampProcess(&me)
	var held *Held
	err := l.locked(context.Background(), "take over", func() error {
		cur, err := l.Read()
		if err != nil {
			return err
		}
		reason := ""
		switch dead, why := cur.HolderDead(); {
		case cur == nil:
		case from != nil && cur.Token == from.Token:
			reason = "taken over by " + me.Command
		case !cur.Live(time.Now()):
			reason = "it expired at " + cur.Expires.Format(time.RFC3339) + " without renewal"
		case dead:
			reason = "the holder is dead: " + why
		default:
			return outcome.Classify(outcome.ErrLocked, fmt.Errorf("lock: the lease changed hands: now %s", cur))
		}
		held, err = l.install(me, cur, reason)
		return err
	})
	return held, err
}

// ForceRelease removes the lease whoever holds it and returns what it was (nil: there was
// none). The caller records it in the history (Journal.RecordLockRelease). The holder notices
// at its next renewal (Held.Lost).
func (l *Locker) ForceRelease() (*Lease, error) {
	var was *Lease
	err := l.locked(context.Background(), "force release", func() error {
		// A corrupt lease file is removed too: that is what --force is for.
		was, _ = l.Read()
		if err := os.Remove(l.path()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("lock: remove %s: %w", l.path(), err)
		}
		return nil
	})
	return was, err
}

// ReleaseStale removes the lease only when it has expired, and returns it. A live lease is
// refused with outcome.ErrLocked naming its holder; nil, nil means there was none.
func (l *Locker) ReleaseStale() (*Lease, error) {
	var was *Lease
	err := l.locked(context.Background(), "release", func() error {
		cur, err := l.Read()
		if err != nil || cur == nil {
			return err
		}
		if cur.Live(time.Now()) {
			was = cur
			return outcome.WithHint(outcome.Classify(outcome.ErrLocked, fmt.Errorf("lock: held by %s", cur)),
				"a live lease belongs to a running release; if its holder is really gone, `zdd lock release --force` removes it (recorded in history)")
		}
		if err := os.Remove(l.path()); err != nil {
			return fmt.Errorf("lock: remove %s: %w", l.path(), err)
		}
		was = cur
		return nil
	})
	return was, err
}
