package deployer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/deployer/wait"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// countTimeout bounds the count of a version's sessions before an undeploy that keeps a
// version with sessions: a slow or failing Manager is asked again until then.
const countTimeout = 30 * time.Second

// drain waits for the sessions of the old versions to end, with progress, up to the timeout.
// At the deadline (also when it passes during a poll) it keeps the versions that still have
// sessions, with a warning naming each and its count, and succeeds; with Expire it expires
// those sessions instead (counted as lost).
func (e *Engine) drain(ctx context.Context, idx int, d *plan.DrainStep, rel *state.Release) error {
	total := -1
	var left map[string]int // sessions per version at the last complete poll; nil before one
	err := wait.Until(ctx, 2*time.Second, d.Timeout, "the old sessions to end", func(ctx context.Context) (bool, error) {
		counts := map[string]int{}
		sum := 0
		for _, v := range d.Versions {
			n, err := e.sessions(ctx, e.app(v))
			if err != nil {
				return false, err
			}
			counts[v] = n
			sum += n
		}
		left = counts
		if total < 0 {
			total = sum
		}
		e.emit(Event{Type: EventProgress, Step: idx, Kind: "drain", Message: "sessions ended", Current: int64(max(total-sum, 0)), Total: int64(total), Unit: "sessions"})
		if sum == 0 {
			return true, nil
		}
		return false, wait.Reason(fmt.Errorf("%s open", keptList(d.Versions, counts)))
	})
	if err == nil || !errors.Is(err, wait.ErrTimeout) {
		return err
	}
	if !d.Expire {
		what := "their sessions could not be counted before the deadline"
		if left != nil {
			what = keptList(d.Versions, left)
		}
		e.emit(Event{Type: EventWarning, Step: idx, Kind: "drain", Message: fmt.Sprintf(
			"drain deadline %s reached: kept %s; `zdd drain` retires them once their sessions end (strategy.expire_at_drain_deadline expires them instead)",
			d.Timeout, what)})
		return nil
	}
	for _, v := range d.Versions {
		stats, err := e.Managers[e.Spec.Nodes[0].Name].Expire(ctx, e.app(v), 0)
		if err != nil {
			return err
		}
		rel.LostSessions += stats.Expired
		e.emit(Event{Type: EventWarning, Step: idx, Kind: "drain", Message: fmt.Sprintf("expired %d sessions of %s (those users are logged out)", stats.Expired, e.app(v).Name())})
	}
	return nil
}

// keptList renders the versions that still have sessions: "001 (3 sessions), 002 (1 session)".
func keptList(versions []string, counts map[string]int) string {
	var parts []string
	for _, v := range versions {
		if n := counts[v]; n > 0 {
			unit := "sessions"
			if n == 1 {
				unit = "session"
			}
			parts = append(parts, fmt.Sprintf("%s (%d %s)", v, n, unit))
		}
	}
	return strings.Join(parts, ", ")
}

// sessionsPatiently counts the sessions of cx like sessions, asking again while a Manager
// is slow or does not answer, up to countTimeout; then it fails with wait.ErrTimeout.
func (e *Engine) sessionsPatiently(ctx context.Context, cx tomcatmgr.Context) (int, error) {
	n := 0
	err := wait.Until(ctx, time.Second, countTimeout, "the count of the sessions of "+cx.Name(), func(ctx context.Context) (bool, error) {
		var err error
		if n, err = e.sessions(ctx, cx); err != nil {
			if ctx.Err() != nil || errors.Is(err, tomcatmgr.ErrAuth) || errors.Is(err, tomcatmgr.ErrForbidden) {
				return false, err // a refused login is never retried
			}
			return false, wait.Reason(err)
		}
		return true, nil
	})
	return n, err
}
