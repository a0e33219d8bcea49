package deployer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// Resume continues the interrupted release (running or interrupted, whose holder is gone: the
// lease expired or was released) from the step where it stopped. Every step is safe to run
// again: a route applies the same states, a deploy skips the nodes that run the version (and
// first removes a copy an interrupted upload left stopped, on a node out of rotation), a gate
// checks again, an undeploy ignores a version already gone. It fails with
// outcome.ErrNothingToDo when there is nothing to resume and outcome.ErrLocked when a live
// process kept the lease for Locker.AcquireIncident's wait; a dead holder on this host is taken
// over at once, and the takeover recorded in the history.
func (e *Engine) Resume(ctx context.Context, locker *state.Locker, who state.Lease) error {
	rel, err := e.Journal.Current()
	if err != nil {
		return err
	}
	if err := resumable(rel); err != nil {
		return err
	}
	held, err := e.acquireIncident(ctx, locker, who)
	if err != nil {
		return err
	}
	defer held.Release()
	ctx, stop := state.WhileHeld(ctx, held) // taken over meanwhile: stop as after Ctrl-C
	defer stop()
	if rel, err = e.Journal.Current(); err != nil { // read again under the lease
		return err
	}
	if err := resumable(rel); err != nil {
		return err
	}
	e.emit(Event{Type: EventReleaseStarted, Message: fmt.Sprintf("resuming release %s (%s) at step %d of %d: %s",
		rel.ID, rel.Status, rel.Current+1, len(rel.Plan.Steps), stepName(rel))})
	if err := e.cleanPartialDeploy(ctx, rel); err != nil {
		return outcome.Classify(outcome.ErrNeedsAttention, err)
	}
	return e.Continue(ctx, rel)
}

func resumable(rel *state.Release) error {
	switch {
	case rel == nil:
		return outcome.Classify(outcome.ErrNothingToDo, errors.New("deployer: nothing to resume: no release recorded"))
	case rel.Status == state.StatusPaused:
		return outcome.WithHint(outcome.Classify(outcome.ErrNothingToDo, fmt.Errorf(
			"deployer: nothing to resume: release %s is paused, not interrupted", rel.ID)),
			"`zdd promote` continues a paused release, `zdd rollback` undoes it")
	case (rel.Status == state.StatusRunning || rel.Status == state.StatusInterrupted) && len(rel.Rollback) == 0:
		return nil
	case rel.Status == state.StatusRunning || rel.Status == state.StatusNeedsAttention:
		return outcome.WithHint(outcome.Classify(outcome.ErrNothingToDo, fmt.Errorf(
			"deployer: nothing to resume: release %s stopped while rolling back", rel.ID)),
			"`zdd abort` finishes the rollback")
	}
	return outcome.Classify(outcome.ErrNothingToDo, fmt.Errorf("deployer: nothing to resume: the last release %s is %s", rel.ID, rel.Status))
}

// cleanPartialDeploy removes, before a deploy step runs again, a copy of the version that an
// interrupted upload left on one of its nodes without running (those nodes are out of
// rotation during their deploy step).
func (e *Engine) cleanPartialDeploy(ctx context.Context, rel *state.Release) error {
	if rel.Current >= len(rel.Plan.Steps) || rel.Plan.Steps[rel.Current].Deploy == nil {
		return nil
	}
	d := rel.Plan.Steps[rel.Current].Deploy
	cx := e.app(d.Version)
	for _, name := range d.Nodes {
		apps, err := e.Managers[name].List(ctx)
		if err != nil {
			return err
		}
		if a, ok := findApp(apps, cx); ok && a.State != tomcatmgr.StateRunning {
			e.emit(Event{Type: EventWarning, Node: name, Kind: "deploy", Message: cx.Name() + " left " + a.State + " by the interruption: undeployed before deploying again"})
			// The killed process's upload may still be installing there: undeployNode waits
			// for Tomcat to let it go (FAIL "is defined in server.xml" until then).
			if _, err := e.undeployNode(ctx, name, cx); err != nil {
				return err
			}
		}
	}
	return nil
}

// Abort undoes the unfinished release (running with its holder gone, interrupted, paused, or
// left needing attention by a failed rollback): the rollback steps are computed from what the
// nodes run now, as after a failed gate, and every node ends on the version the release started
// from, in rotation. Running it again after it finished finds nothing to do
// (outcome.ErrNothingToDo).
func (e *Engine) Abort(ctx context.Context, locker *state.Locker, who state.Lease) error {
	rel, err := e.Journal.Current()
	if err != nil {
		return err
	}
	if !unfinished(rel) {
		return nothingToAbort(rel)
	}
	held, err := e.acquireIncident(ctx, locker, who)
	if err != nil {
		return err
	}
	defer held.Release()
	ctx, stop := state.WhileHeld(ctx, held) // taken over meanwhile: stop as after Ctrl-C
	defer stop()
	if rel, err = e.Journal.Current(); err != nil {
		return err
	}
	if !unfinished(rel) {
		return nothingToAbort(rel)
	}
	st, err := e.Observe(ctx)
	if err != nil {
		return err
	}
	if err := e.checkFromRuns(st, rel); err != nil {
		return err
	}
	l := held.Lease()
	return e.undo(ctx, rel, fmt.Sprintf("zdd abort by %s@%s", l.Holder, l.Host), false)
}

func nothingToAbort(rel *state.Release) error {
	if rel == nil {
		return outcome.Classify(outcome.ErrNothingToDo, errors.New("deployer: nothing to abort: no release recorded"))
	}
	return outcome.Classify(outcome.ErrNothingToDo, fmt.Errorf("deployer: nothing to abort: the last release %s is %s", rel.ID, rel.Status))
}

// undo takes rel's version off every node that has it (rollback steps from the observed state)
// and records rel as rolled back by by. markBad also records its checksum as rolled back, so
// that `zdd rollback` never returns to it.
func (e *Engine) undo(ctx context.Context, rel *state.Release, by string, markBad bool) error {
	r := &run{e: e, rel: rel, start: time.Now()}
	// Mark it first: a crash during the undo leaves a release that resume refuses and abort retries.
	rel.Status, rel.Error = state.StatusNeedsAttention, "being undone by "+by
	if err := r.save(); err != nil {
		return err
	}
	e.emit(Event{Type: EventReleaseStarted, Message: fmt.Sprintf("undoing release %s (%v -> %s): %s", rel.ID, rel.Plan.From, rel.Plan.To, by)})
	failed := min(rel.Current, len(rel.Plan.Steps)-1)
	if failed >= 0 && failed < len(rel.Steps) && rel.Steps[failed].Started.IsZero() {
		failed-- // the current step never started (a pause, or a crash between steps)
	}
	err := r.rollback(ctx, max(failed, 0))
	if err != nil {
		rel.Error = err.Error()
		_ = r.save()
		err = outcome.WithHint(outcome.Classify(outcome.ErrNeedsAttention, fmt.Errorf("deployer: undo release %s: %w", rel.ID, err)),
			"`zdd status` shows each node; run `zdd abort` again")
		e.finishUndo(r, err)
		return err
	}
	rel.Status, rel.Error, rel.TakenOverBy = state.StatusRolledBack, "undone by "+by, by
	if markBad {
		rel.RolledBack = &state.RolledBack{Version: rel.Plan.To, SHA256: rel.Plan.SHA256}
	}
	if err := r.save(); err != nil {
		return err
	}
	e.finishUndo(r, nil)
	return nil
}

// finishUndo emits the summary of an undo and, once it ended, records it in the history.
func (e *Engine) finishUndo(r *run, err error) {
	if err == nil {
		e.finish(r, nil)
		return
	}
	e.emit(Event{Type: EventSummary, Summary: &Summary{Outcome: outcome.Name(err), ExitCode: outcome.Code(err),
		App: r.rel.Plan.App, From: r.rel.Plan.From, To: r.rel.Plan.To, Duration: time.Since(r.start).Seconds(),
		Steps: len(r.rel.Rollback), LostSessions: r.rel.LostSessions, Error: err.Error()}})
}
