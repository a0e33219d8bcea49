package deployer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/internal/fanout"
	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// RollbackTimeout bounds a rollback, which runs on a fresh context after a failure or Ctrl-C.
const RollbackTimeout = 5 * time.Minute

// Engine runs plans. Its fields are the seams to the cluster; the command line fills them.
type Engine struct {
	// Spec is the resolved configuration.
	Spec *plan.Spec
	// Managers maps each node name to its Tomcat Manager.
	Managers map[string]Manager
	// Router is the load-balancer pair in front of the nodes.
	Router lb.Balancer
	// Prober reaches the nodes' applications directly.
	Prober Prober
	// Migrator runs schema migrations; nil when none are configured.
	Migrator Migrator
	// Preflight runs the caller's checks of the load balancers, the database and the release
	// store; it must change nothing. Nil means none.
	Preflight func(ctx context.Context) error
	// Journal records the release; it must not be nil.
	Journal *state.Journal
	// Sink receives the events; nil discards them.
	Sink Sink
	// Store, when set, keeps each released WAR: Start copies the plan's WAR in (and deploys the
	// stored copy), and applies the store's retention after the release.
	Store *state.Store
	// Watch, when not nil, delivers the first failure that synthetic users saw during the
	// release (a failed request or a lost session, see `zdd deploy --watch`): the engine stops
	// the current step and rolls back as after a failed gate (exit 3).
	Watch <-chan error

	emitMu sync.Mutex // waits report from goroutines of their own: one event at a time
	// sentinel watches the nodes in rotation while Continue runs (see sentinel.go).
	sentinel *sentinel
	// noBackup is set once the load balancer refused backup servers (see applyRoute).
	noBackup bool
	// ended holds, per context, the session ids this engine's undeploys ended (sessioncount.go).
	ended map[string]map[string]bool
}

// WatchError is a failure seen by the synthetic users of Engine.Watch.
type WatchError struct{ Err error }

// Error implements error.
func (w *WatchError) Error() string { return "watch: " + w.Err.Error() }

// Unwrap returns the failure.
func (w *WatchError) Unwrap() error { return w.Err }

// run is the state of one execution of a plan.
type run struct {
	e     *Engine
	rel   *state.Release
	start time.Time
	// keep: the plan's WAR is still to be copied into the store (see keepWAR).
	keep bool
}

func (e *Engine) emit(ev Event) {
	if e.Sink == nil {
		return
	}
	e.emitMu.Lock()
	defer e.emitMu.Unlock()
	ev.Schema = EventSchema
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	e.Sink.Emit(ev)
}

// Observe lists the application on every node, all nodes at once (under load one Manager
// call costs about a second); the first error in configuration order is returned.
func (e *Engine) Observe(ctx context.Context) (*plan.ClusterState, error) {
	st := &plan.ClusterState{Apps: map[string][]tomcatmgr.App{}}
	lists, err := e.lists(ctx, e.Spec.NodeNames())
	if err != nil {
		return nil, err
	}
	for i, n := range e.Spec.Nodes {
		for _, a := range lists[i] {
			if a.Path == "/"+e.Spec.App {
				st.Apps[n.Name] = append(st.Apps[n.Name], a)
			}
		}
	}
	return st, nil
}

// lists lists the contexts of every node of names at once, in names' order; the first error in
// that order is returned.
func (e *Engine) lists(ctx context.Context, names []string) ([][]tomcatmgr.App, error) {
	lists, errs := fanout.Each(names, func(n string) ([]tomcatmgr.App, error) { return e.Managers[n].List(ctx) })
	_, err := fanout.First(errs)
	return lists, err
}

// Start records a new release for plan in the journal and runs it from the first step. The
// plan is not changed: the WAR is copied into e.Store after the preflight step judged it (and
// the free space for the copy), before the first step that changes anything.
func (e *Engine) Start(ctx context.Context, plan *plan.Plan, who state.Lease) error {
	defer e.pruneStore(plan.App)
	rel := &state.Release{ID: plan.To + "-" + time.Now().UTC().Format("20060102T150405Z"), Command: who.Command,
		Holder: who.Holder, Host: who.Host, Started: time.Now().UTC(), Plan: *plan, Status: state.StatusRunning}
	for _, s := range plan.Steps {
		rel.Steps = append(rel.Steps, state.StepRecord{Step: s.String()})
	}
	e.emit(Event{Type: EventReleaseStarted, Message: fmt.Sprintf("release %s %v -> %s, %d steps", plan.App, plan.From, plan.To, len(plan.Steps))})
	return e.run(ctx, rel, true)
}

// Continue runs rel from its current step (after `zdd promote`, or `zdd resume`).
func (e *Engine) Continue(ctx context.Context, rel *state.Release) error {
	return e.run(ctx, rel, false)
}

// run runs rel from its current step; keep copies the plan's WAR into the store first (Start).
func (e *Engine) run(ctx context.Context, rel *state.Release, keep bool) error {
	rel.Plan.FillFailurePolicy() // a plan made by hand, without SetFailurePolicy
	for len(rel.Steps) < len(rel.Plan.Steps) {
		rel.Steps = append(rel.Steps, state.StepRecord{Step: rel.Plan.Steps[len(rel.Steps)].String()})
	}
	r := &run{e: e, rel: rel, start: time.Now(), keep: keep}
	if e.Watch != nil {
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		watched := ctx // ctx is reassigned below, while this goroutine runs
		go func() {
			select {
			case err := <-e.Watch:
				e.emit(Event{Type: EventWarning, Message: "watch: " + err.Error()})
				cancel(&WatchError{Err: err})
			case <-watched.Done():
			}
		}()
	}
	ctx, stopSentinel := e.startSentinel(ctx)
	defer stopSentinel()
	err := r.steps(ctx)
	e.finish(r, err)
	return err
}

func (r *run) save() error {
	if err := r.e.Journal.Save(r.rel); err != nil {
		return outcome.Classify(outcome.ErrNeedsAttention, fmt.Errorf("journal: %w", err))
	}
	return nil
}

// steps runs the plan from rel.Current; on failure it rolls back and returns a classified error.
func (r *run) steps(ctx context.Context) error {
	rel := r.rel
	rel.Status = state.StatusRunning
	for ; rel.Current < len(rel.Plan.Steps); rel.Current++ {
		i := rel.Current
		step := rel.Plan.Steps[i]
		if r.keep && step.Preflight == nil {
			if err := r.keepWAR(); err != nil {
				return err
			}
		}
		rel.Steps[i].Started, rel.Steps[i].Finished, rel.Steps[i].Error = time.Now().UTC(), time.Time{}, ""
		if err := r.save(); err != nil {
			return err
		}
		r.e.emit(Event{Type: EventStepStarted, Step: i + 1, Kind: step.Kind(), Message: step.String()})
		t0 := time.Now()
		err := r.e.runStep(ctx, i+1, step, rel)
		if errors.Is(err, errPausedHere) {
			rel.Current++ // `zdd promote` continues after the pause
			rel.Steps[i].Finished = time.Now().UTC()
			rel.Status = state.StatusPaused
			if serr := r.save(); serr != nil {
				return serr
			}
			return outcome.WithHint(outcome.Classify(outcome.ErrPaused,
				fmt.Errorf("deployer: paused after step %d: %s serves on %s", i+1, rel.Plan.To, strings.Join(r.e.canaryNodes(rel), ","))),
				"check the new version, then run `zdd promote` to continue or `zdd rollback` to undo")
		}
		if err != nil {
			rel.Steps[i].Error = err.Error()
			r.e.emit(Event{Type: EventStepFailed, Step: i + 1, Kind: step.Kind(), Message: err.Error()})
			return r.fail(ctx, i, err)
		}
		rel.Steps[i].Finished = time.Now().UTC()
		r.e.emit(Event{Type: EventStepFinished, Step: i + 1, Kind: step.Kind(), Duration: time.Since(t0).Seconds()})
	}
	rel.Status = state.StatusDone
	return r.save()
}

// keepWAR copies the plan's WAR into the store once, before the first step after the
// preflight; a failure ends the release as a failed preflight (nothing changed).
func (r *run) keepWAR() error {
	r.keep = false
	if err := r.e.keepWAR(&r.rel.Plan); err != nil {
		r.rel.Status = state.StatusFailed
		_ = r.save()
		return err
	}
	return nil
}

// errPausedHere is returned by a pause step that waits for `zdd promote`.
var errPausedHere = errors.New("paused")

// canaryNodes returns the nodes that run the new version, from the plan's deploy steps so far.
func (e *Engine) canaryNodes(rel *state.Release) []string {
	var out []string
	for _, s := range rel.Plan.Steps[:rel.Current] {
		if s.Deploy != nil {
			out = append(out, s.Deploy.Nodes...)
		}
	}
	return out
}

// fail handles the failure of step i as its failure policy says (see FailPreflight,
// FailRollback, FailAttention): report only, roll back (an interruption after the canary took
// traffic stops as a paused release instead, see stopAtCanary), or stop needing attention.
func (r *run) fail(ctx context.Context, i int, err error) error {
	rel := r.rel
	interrupted := ctx.Err() != nil
	var watched *WatchError
	if errors.As(context.Cause(ctx), &watched) {
		// The watcher's users failed: a failed gate, not an interruption.
		interrupted, err = false, watched
	}
	if down := nodeDown(ctx); down != nil {
		interrupted, err = false, fmt.Errorf("%w (step %d cancelled: %v)", down, i+1, err)
	}
	switch policy := rel.Plan.Steps[i].Failure(); policy.Do {
	case plan.FailPreflight:
		// Nothing changed; a migrator's error keeps its class (a failed statement needs
		// attention, its lock is locked): Preflight comes last in outcome's precedence.
		rel.Status = state.StatusFailed
		_ = r.save()
		if interrupted {
			return outcome.Classify(outcome.ErrInterrupted, err)
		}
		return outcome.Classify(outcome.ErrPreflight, err)
	case plan.FailAttention:
		return r.stopForAttention(i, policy, interrupted, err)
	}
	return r.failRollback(ctx, i, interrupted, err)
}

// stopForAttention ends the run at failed step i without undoing anything (FailAttention).
func (r *run) stopForAttention(i int, policy plan.Failure, interrupted bool, err error) error {
	rel := r.rel
	rel.Status = state.StatusNeedsAttention
	if interrupted {
		rel.Status = state.StatusInterrupted
	}
	_ = r.save()
	if interrupted {
		return outcome.Classify(outcome.ErrInterrupted, fmt.Errorf("deployer: interrupted in step %d; %s serves on every node: %w", i+1, rel.Plan.To, err))
	}
	if policy.Retry != "" && policy.Retry != plan.RetryDrain {
		return outcome.WithHint(outcome.Classify(outcome.ErrNeedsAttention,
			fmt.Errorf("deployer: step %d (%s) failed: %w", i+1, rel.Plan.Steps[i].Kind(), err)),
			"`zdd status` shows each node; run `"+policy.Retry+"` again")
	}
	return outcome.WithHint(outcome.Classify(outcome.ErrNeedsAttention,
		fmt.Errorf("deployer: step %d failed after %s took all traffic: %w", i+1, rel.Plan.To, err)),
		"every node serves the new version; fix the cause and run `zdd drain` to retire the old version")
}

// failRollback rolls back the changes up to failed step i (FailRollback).
func (r *run) failRollback(ctx context.Context, i int, interrupted bool, err error) error {
	rel := r.rel
	if c := r.canaryRoute(); interrupted && c >= 0 && i > c {
		if ok, serr := r.stopAtCanary(ctx, i, c, err); ok {
			return serr
		}
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RollbackTimeout)
	defer cancel()
	rbErr := r.rollback(rctx, i)
	var skipped *SkippedNodesError
	if errors.As(rbErr, &skipped) {
		return r.rolledBackWithout(i, err, skipped)
	}
	if rbErr != nil {
		rel.Status = state.StatusNeedsAttention
		rel.Error = errors.Join(err, rbErr).Error()
		_ = r.save()
		return outcome.WithHint(outcome.Classify(outcome.ErrNeedsAttention,
			fmt.Errorf("deployer: step %d failed: %w; the rollback failed too: %w", i+1, err, rbErr)),
			"`zdd status` shows each node and the load balancers; `zdd abort` retries the rollback")
	}
	rel.Status, rel.Error = state.StatusRolledBack, err.Error()
	if interrupted {
		rel.Status = state.StatusInterrupted
	}
	_ = r.save()
	if interrupted {
		return outcome.Classify(outcome.ErrInterrupted, fmt.Errorf("deployer: interrupted in step %d; rolled back to %v: %w", i+1, rel.Plan.From, err))
	}
	return outcome.Classify(outcome.ErrRolledBack, fmt.Errorf("deployer: step %d failed; rolled back to %v: %w", i+1, rel.Plan.From, err))
}

// rollback takes the new version off every node that has it, serving from the others. A node
// that does not answer (found down by the sentinel, or its Manager unreachable now) is kept
// out of rotation and skipped: the rollback finishes on the others and returns a
// *SkippedNodesError naming it.
func (r *run) rollback(ctx context.Context, failed int) error {
	e, rel := r.e, r.rel
	r.isolateDown(ctx)
	names, gone := e.reachableNodes(ctx)
	if len(names) == 0 {
		return &SkippedNodesError{Nodes: gone, Version: rel.Plan.To}
	}
	has := e.deployedTo(ctx, rel, failed, names)
	var hasList []string
	for _, n := range names {
		if has[n] {
			hasList = append(hasList, n)
		}
	}
	pre, hasList := e.backupsWith(hasList, rel.Plan.To)
	steps := keepOut(append(pre, plan.RollbackSteps(names, hasList, rel.Plan.To, e.Spec.CanarySize)...), gone)
	e.emit(Event{Type: EventRollbackStarted, Message: fmt.Sprintf("rolling back: %d steps, %s off %s", len(steps), rel.Plan.To, strings.Join(hasList, ","))})
	for k, s := range steps {
		if err := r.rollbackStep(ctx, s); err != nil {
			return fmt.Errorf("rollback step %d (%s): %w", k+1, s, err)
		}
	}
	if len(gone) > 0 {
		return &SkippedNodesError{Nodes: gone, Version: rel.Plan.To, Done: names, MayHave: mayHave(rel, failed, gone)}
	}
	return nil
}

// rollbackStep runs one step of a rollback and records it in the release.
func (r *run) rollbackStep(ctx context.Context, s plan.Step) error {
	rec := state.StepRecord{Step: s.String(), Started: time.Now().UTC()}
	r.e.emit(Event{Type: EventStepStarted, Kind: "rollback " + s.Kind(), Message: s.String()})
	err := r.e.runStep(ctx, 0, s, r.rel)
	rec.Finished = time.Now().UTC()
	if err != nil {
		rec.Error = err.Error()
	}
	r.rel.Rollback = append(r.rel.Rollback, rec)
	if err == nil {
		_ = r.save()
	}
	return err
}

// finish emits the summary and, when the release ended, appends it to the history.
func (e *Engine) finish(r *run, err error) {
	rel := r.rel
	if err != nil && rel.Error == "" {
		rel.Error = err.Error()
	}
	if rel.Status != state.StatusPaused && rel.Status != state.StatusRunning {
		_ = e.Journal.AppendHistory(rel)
	}
	e.emit(Event{Type: EventSummary, Summary: &Summary{Outcome: outcome.Name(err), ExitCode: outcome.Code(err),
		App: rel.Plan.App, From: rel.Plan.From, To: rel.Plan.To, Duration: time.Since(r.start).Seconds(),
		Steps: len(rel.Plan.Steps), LostSessions: rel.LostSessions, Error: errString(err)}})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
