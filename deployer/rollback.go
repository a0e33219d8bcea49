package deployer

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// RollbackOptions choose how `zdd rollback` takes new sessions back to the last good release.
type RollbackOptions struct {
	// Hard stops the bad version on every node at once and undeploys it: its sessions are lost.
	// Without it the last good WAR is deployed again as a new, higher version with the release's
	// out-of-rotation batches, and the bad version drains (0 sessions lost).
	Hard bool
	// NoDrain leaves the bad version deployed after a default rollback (`zdd drain` retires it).
	NoDrain bool
	// WAR is the path of the previous code's WAR, for when the store has none for it (a version
	// deployed before zdd): it is checked, stored by checksum and deployed again.
	WAR string
	// Store holds the released WARs; the default mode needs the last good one from it.
	Store *state.Store
	// Locker is the release lease; Who is this process as the lease records it.
	Locker *state.Locker
	Who    state.Lease
}

// RollbackPlan is what `zdd rollback` will do, computed without changing anything.
type RollbackPlan struct {
	// Mode is "undo" (a paused or interrupted release is undone), "redeploy" (default) or "hard".
	Mode string
	// Bad is the code taken away: the newest version and its checksum.
	Bad state.RolledBack
	// Good is the last good release (nil in "undo" mode when the release never completed).
	Good *state.HistoryEntry
	// Release is the unfinished release this rollback takes over, if any.
	Release *state.Release
	// Lease is the lease taken over (nil: acquired normally).
	Lease *state.Lease
	// Plan is the release that deploys the last good WAR again ("redeploy"), or the hard
	// rollback's stop and undeploy steps ("hard").
	Plan *plan.Plan
	// Previous is the version new sessions fall back to ("hard").
	Previous string
	// Sessions is the number of sessions of the bad version now ("hard": all of them are lost).
	Sessions int
	// Undo are the steps that take an unfinished release's version off ("undo").
	Undo []plan.Step
	opts RollbackOptions
	// nodes and canary are the configuration's, for Render.
	nodes  []string
	canary int
}

// Render describes the rollback for the confirmation question and the log.
func (p *RollbackPlan) Render() string {
	var b strings.Builder
	if p.Release != nil {
		fmt.Fprintf(&b, "takes over release %s (%s, step %d of %d: %s), started by %s@%s\n", p.Release.ID, p.Release.Status,
			min(p.Release.Current+1, len(p.Release.Plan.Steps)), len(p.Release.Plan.Steps), stepName(p.Release), p.Release.Holder, p.Release.Host)
	}
	if p.Lease != nil {
		fmt.Fprintf(&b, "takes the lease over from %s\n", p.Lease)
	}
	good := goodText(p.Good)
	switch p.Mode {
	case "undo":
		fmt.Fprintf(&b, "undoes it: %s (sha256 %s) comes off every node that has it; new sessions go to %s\n",
			p.Bad.Version, plan.ShortSum(p.Bad.SHA256), strings.Join(p.Release.Plan.From, ","))
		if p.opts.Hard {
			fmt.Fprintf(&b, "HARD: the %d open sessions of %s on the canary are lost (those users get a new session)\n", p.Sessions, p.Bad.Version)
		}
		undo := &plan.Plan{App: p.Release.Plan.App, To: p.Bad.Version, Steps: p.Undo}
		undo.RenderSteps(&b, p.nodes, p.canary, false)
	case "hard":
		fmt.Fprintf(&b, "HARD rollback: stops %s (sha256 %s) on every node now and undeploys it; new sessions go to %s, last good %s\n",
			p.Bad.Version, plan.ShortSum(p.Bad.SHA256), p.Previous, good)
		fmt.Fprintf(&b, "the %d open sessions of %s are lost (those users get a new session on %s)\n", p.Sessions, p.Bad.Version, p.Previous)
		p.Plan.RenderSteps(&b, p.nodes, p.canary, false)
	default:
		fmt.Fprintf(&b, "takes %s (sha256 %s) back to the last good release %s,\ndeployed again as version %s; sessions on %s keep it until they end\n",
			p.Bad.Version, plan.ShortSum(p.Bad.SHA256), good, p.Plan.To, p.Bad.Version)
		if p.Release != nil {
			fmt.Fprintf(&b, "the nodes without %s get it too, out of rotation, to carry the canary's sessions; %s is newer everywhere before they take traffic\n",
				p.Bad.Version, p.Plan.To)
		}
		p.Plan.RenderSteps(&b, p.nodes, p.canary, false)
	}
	return b.String()
}

func stepName(r *state.Release) string {
	if r.Current < len(r.Plan.Steps) {
		return r.Plan.Steps[r.Current].Kind()
	}
	return "end"
}

// unfinished tells whether rel stopped before its end without being undone.
func unfinished(rel *state.Release) bool {
	if rel == nil {
		return false
	}
	switch rel.Status {
	case state.StatusRunning, state.StatusPaused, state.StatusNeedsAttention:
		return true
	case state.StatusInterrupted:
		return len(rel.Rollback) == 0
	}
	return false
}

// pastFinalRoute tells whether rel's current step comes after the route that put every node
// back with the new version (drain, undeploy, contract): its failure policy is to stop
// (FailAttention), in a plan that routes (a `zdd drain` plan and a hard rollback have no route;
// their steps stop too). Past the last step, the plan's routes all ran.
func (e *Engine) pastFinalRoute(rel *state.Release) bool {
	steps := rel.Plan.Steps
	if !slices.ContainsFunc(steps, func(s plan.Step) bool { return s.Route != nil }) {
		return false
	}
	if rel.Current >= len(steps) {
		return true
	}
	return steps[rel.Current].Failure().Do == plan.FailAttention
}

// PlanRollback works out what `zdd rollback` does now, changing nothing. It fails with
// outcome.ErrNothingToDo when there is nothing to roll back, outcome.ErrLocked when a live
// release holds the lease and cannot be taken over, and outcome.ErrPreflight when a contract
// migration ran after the last good release or its WAR is missing.
func (e *Engine) PlanRollback(ctx context.Context, opts RollbackOptions) (*RollbackPlan, error) {
	cur, err := e.Journal.Current()
	if err != nil {
		return nil, err
	}
	lease, err := opts.Locker.Read()
	if err != nil {
		return nil, err
	}
	live := lease.Active(time.Now()) // expired, or its holder dead on this host: taken over
	p := &RollbackPlan{opts: opts, nodes: e.Spec.NodeNames(), canary: e.Spec.CanarySize}
	if unfinished(cur) {
		past := e.pastFinalRoute(cur)
		if live && cur.Status == state.StatusRunning && !past {
			return nil, outcome.WithHint(outcome.Classify(outcome.ErrLocked, fmt.Errorf(
				"deployer: release %s is running step %d (%s) and holds the lease: %s", cur.ID, cur.Current+1, stepName(cur), lease)),
				"interrupt it (Ctrl-C or SIGTERM: it rolls back by itself), or wait until it pauses or drains; then `zdd rollback` takes it over")
		}
		p.Release = cur
		if live {
			p.Lease = lease
		}
		if cur.Status == state.StatusPaused && !past && !opts.Hard {
			return e.planPaused(ctx, p)
		}
		if !past {
			return e.planUndo(ctx, p)
		}
	} else if live {
		return nil, outcome.WithHint(outcome.Classify(outcome.ErrLocked, fmt.Errorf("deployer: the lease is held: %s", lease)),
			"wait for it, or if its holder is gone, let it expire or run `zdd lock release --force`")
	}
	return e.planBack(ctx, p, cur)
}

// planUndo plans the undoing of an unfinished release that has not put every node back yet.
func (e *Engine) planUndo(ctx context.Context, p *RollbackPlan) (*RollbackPlan, error) {
	rel := p.Release
	st, hist, err := e.startUnfinished(ctx, p, "undo")
	if err != nil {
		return nil, err
	}
	names := e.Spec.NodeNames()
	p.Undo = plan.RollbackSteps(names, st.NodesWith(names, rel.Plan.To), rel.Plan.To, e.Spec.CanarySize)
	if g := state.LastGood(hist, rel.Plan.App, rel.Plan.SHA256); g != nil {
		p.Good = &g.Entry
	}
	if p.opts.Hard {
		n, err := e.sessions(ctx, e.app(rel.Plan.To))
		if err != nil {
			return nil, err
		}
		p.Sessions = n
	}
	return p, nil
}

// startUnfinished begins the plan of p (mode "undo" or "redeploy") for its unfinished release:
// the version taken away is the release's, the version it started from must still run on every
// node (checkFromRuns), and it returns what the nodes run and the history.
func (e *Engine) startUnfinished(ctx context.Context, p *RollbackPlan, mode string) (*plan.ClusterState, []state.HistoryEntry, error) {
	rel := p.Release
	p.Mode = mode
	p.Bad = state.RolledBack{Version: rel.Plan.To, SHA256: rel.Plan.SHA256}
	st, err := e.Observe(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := e.checkFromRuns(st, rel); err != nil {
		return nil, nil, err
	}
	hist, err := e.Journal.History()
	if err != nil {
		return nil, nil, err
	}
	return st, hist, nil
}

// checkFromRuns refuses to undo rel when the version it started from no longer runs on every
// node (undoing would leave a node with nothing to serve).
func (e *Engine) checkFromRuns(st *plan.ClusterState, rel *state.Release) error {
	if len(rel.Plan.From) == 0 {
		return nil
	}
	prev := rel.Plan.From[len(rel.Plan.From)-1]
	for _, n := range e.Spec.NodeNames() {
		a, ok := findApp(st.Apps[n], e.app(prev))
		if !ok || a.State != tomcatmgr.StateRunning {
			return outcome.WithHint(outcome.Classify(outcome.ErrNeedsAttention, fmt.Errorf(
				"deployer: cannot undo release %s: %s no longer runs on %s", rel.ID, prev, n)),
				"`zdd status` shows each node; `zdd rollback` deploys the last good release again")
		}
	}
	return nil
}

// planBack plans taking the newest version back to the code that ran before it: the last good
// release, a WAR registered for a version deployed before zdd, or the WAR given with --war.
func (e *Engine) planBack(ctx context.Context, p *RollbackPlan, cur *state.Release) (*RollbackPlan, error) {
	st, err := e.Observe(ctx)
	if err != nil {
		return nil, err
	}
	versions := st.Versions()
	if len(versions) == 0 {
		return nil, outcome.Classify(outcome.ErrNothingToDo, fmt.Errorf("deployer: nothing to roll back: %s is not deployed", e.Spec.App))
	}
	hist, err := e.Journal.History()
	if err != nil {
		return nil, err
	}
	bad := versions[len(versions)-1]
	p.Bad = state.RolledBack{Version: bad, SHA256: state.SHAOf(hist, cur, e.Spec.App, bad)}
	since := -1 // a version deployed before zdd ran before every entry of the history
	if good := state.LastGood(hist, e.Spec.App, p.Bad.SHA256); good != nil {
		p.Good, since = &good.Entry, good.Index
	} else if !e.olderCandidate(st, hist, p.Bad) {
		return nil, outcome.Classify(outcome.ErrNothingToDo, fmt.Errorf(
			"deployer: nothing to roll back: no completed release other than the code of %s (sha256 %s), and no older version deployed runs other code that was not rolled back",
			bad, plan.ShortSum(p.Bad.SHA256)))
	}
	if err := refuseContract(hist, since, p); err != nil {
		return nil, err
	}
	if p.opts.Hard {
		return e.planHard(ctx, p, st)
	}
	p.Mode = "redeploy"
	war, err := e.goodWAR(ctx, p, st, hist)
	if err != nil {
		return nil, err
	}
	next, err := plan.NextVersion(versions, e.Spec.VersionWidth)
	if err != nil {
		return nil, err
	}
	spec := *e.Spec
	spec.NoDrain, spec.PauseAfterCanary, spec.Pause = p.opts.NoDrain, false, 0
	spec.Migrations = false // a rollback runs no migrations: the expand ones of the good code ran already
	st.Age = e.MemberAge(ctx)
	p.Plan, err = plan.BuildPlan(&spec, st, next, war)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// refuseContract refuses to go back past a contract migration that ran after history entry
// since (-1: any in the history) or in the release taken over.
func refuseContract(hist []state.HistoryEntry, since int, p *RollbackPlan) error {
	c := state.ContractSince(hist, since)
	if c == nil && (p.Release == nil || !state.ContractRan(p.Release)) {
		return nil
	}
	id := ""
	if c != nil {
		id = c.ID
	} else {
		id = p.Release.ID
	}
	good := "the version running before zdd released"
	if p.Good != nil {
		good = p.Good.To + ", the last good release,"
	}
	return outcome.WithHint(outcome.Classify(outcome.ErrPreflight, fmt.Errorf(
		"deployer: refusing to roll back past a contract migration: release %s ran contract migrations after %s was deployed; its code may need the columns they removed; nothing was changed",
		id, good)), "fix forward: release a corrected WAR with `zdd deploy`")
}

// planHard checks that an older version runs on every node, to take new sessions at once.
// Whoever deployed it, stopping the bad version needs no WAR.
func (e *Engine) planHard(ctx context.Context, p *RollbackPlan, st *plan.ClusterState) (*RollbackPlan, error) {
	p.Mode = "hard"
	versions := st.Versions()
	if len(versions) < 2 {
		return nil, outcome.WithHint(outcome.Classify(outcome.ErrPreflight, fmt.Errorf(
			"deployer: --hard needs an older version running on every node beside %s; no other version is deployed (%s); nothing was changed",
			p.Bad.Version, e.whereRuns(st))), "run `zdd rollback` without --hard: it deploys the last good WAR again")
	}
	prev := versions[len(versions)-2]
	if n := e.missingOn(st, prev); n != "" {
		return nil, outcome.WithHint(outcome.Classify(outcome.ErrPreflight, fmt.Errorf(
			"deployer: --hard needs an older version running on every node beside %s; %s does not run on %s (%s); nothing was changed",
			p.Bad.Version, prev, n, e.whereRuns(st))), "run `zdd rollback` without --hard: it deploys the last good WAR again")
	}
	p.Previous = prev
	hist, _ := e.Journal.History()
	if sha := state.SHAOf(hist, nil, e.Spec.App, prev); sha != "" && (sha == p.Bad.SHA256 || rolledBackSHA(hist, sha)) {
		return nil, outcome.WithHint(outcome.Classify(outcome.ErrPreflight, fmt.Errorf(
			"deployer: --hard would send new sessions to %s (sha256 %s), code that was rolled back or is %s's; nothing was changed",
			prev, plan.ShortSum(sha), p.Bad.Version)), "`zdd status` shows each node; `zdd rollback --war FILE` deploys a good WAR again")
	}
	if sha := state.SHAOf(hist, nil, e.Spec.App, p.Previous); sha != "" && p.Good != nil && sha != p.Good.SHA256 {
		return nil, outcome.WithHint(outcome.Classify(outcome.ErrPreflight, fmt.Errorf(
			"deployer: --hard would send new sessions to %s (sha256 %s), which is not the last good release %s (sha256 %s)",
			p.Previous, plan.ShortSum(sha), p.Good.To, plan.ShortSum(p.Good.SHA256))), "run `zdd rollback` without --hard")
	}
	n, err := e.sessions(ctx, e.app(p.Bad.Version))
	if err != nil {
		return nil, err
	}
	p.Sessions = n
	p.Plan = plan.HardRollbackPlan(e.Spec.App, e.Spec.NodeNames(), p.Previous, state.SHAOf(hist, nil, e.Spec.App, p.Previous), p.Bad.Version)
	return p, nil
}

func fileSize(path string) int64 {
	if st, err := os.Stat(path); err == nil {
		return st.Size()
	}
	return 0
}

// Rollback runs p: it takes the lease (over from the release it replaces, recording that), then
// undoes, redeploys or hard-stops as planned. Its error is classified for the exit code.
func (e *Engine) Rollback(ctx context.Context, p *RollbackPlan) error {
	held, err := p.opts.Locker.TakeOver(p.opts.Who, p.Lease)
	if err != nil {
		return err
	}
	defer held.Release()
	if err := e.noteTakeover(held); err != nil {
		return err
	}
	ctx, stop := state.WhileHeld(ctx, held) // taken over meanwhile: stop as after Ctrl-C
	defer stop()
	who := held.Lease()
	by := fmt.Sprintf("zdd rollback by %s@%s", who.Holder, who.Host)
	if p.Release != nil {
		e.emit(Event{Type: EventWarning, Message: fmt.Sprintf("taking over release %s (%s): %s", p.Release.ID, p.Release.Status, by)})
	}
	switch p.Mode {
	case "undo":
		return e.undo(ctx, p.Release, by, true)
	case "hard":
		return e.hard(ctx, p, who, by)
	}
	if err := e.storeGivenWAR(p, who); err != nil {
		return err
	}
	return e.runRollback(ctx, p, who, by, fmt.Sprintf("rollback %s %s -> %s (the code of %s), %d steps",
		p.Plan.App, p.Bad.Version, p.Plan.To, goodVersion(p.Good), len(p.Plan.Steps)))
}

// runRollback runs p's plan as a rollback record of its own, announced by started, taking over
// the unfinished release it replaces, if any.
func (e *Engine) runRollback(ctx context.Context, p *RollbackPlan, who state.Lease, by, started string) error {
	if p.Release != nil {
		if err := e.markTakenOver(p.Release, by, p.Bad); err != nil {
			return err
		}
	}
	rel := newRelease(p.Plan, who)
	rel.Kind, rel.RolledBack = state.KindRollback, &state.RolledBack{Version: p.Bad.Version, SHA256: p.Bad.SHA256}
	if p.Release != nil {
		rel.Supersedes = p.Release.ID
	}
	e.emit(Event{Type: EventReleaseStarted, Message: started})
	return e.Continue(ctx, rel)
}

// newRelease is the journal record of a new run of plan.
func newRelease(plan *plan.Plan, who state.Lease) *state.Release {
	rel := &state.Release{ID: plan.To + "-" + time.Now().UTC().Format("20060102T150405Z"), Command: who.Command,
		Holder: who.Holder, Host: who.Host, Started: time.Now().UTC(), Plan: *plan, Status: state.StatusRunning}
	for _, s := range plan.Steps {
		rel.Steps = append(rel.Steps, state.StepRecord{Step: s.String()})
	}
	return rel
}

// markTakenOver records that rel was rolled back by another command and ends it in the history.
func (e *Engine) markTakenOver(rel *state.Release, by string, bad state.RolledBack) error {
	rel.Status, rel.TakenOverBy = state.StatusRolledBack, by
	rel.RolledBack = &bad
	if rel.Error == "" {
		rel.Error = "rolled back by " + by
	}
	if err := e.Journal.Save(rel); err != nil {
		return outcome.Classify(outcome.ErrNeedsAttention, fmt.Errorf("journal: %w", err))
	}
	return e.Journal.AppendHistory(rel)
}

// hard runs the hard rollback's plan (plan.HardRollbackPlan) as a rollback record of its own, taking over
// the unfinished release it replaces, if any.
func (e *Engine) hard(ctx context.Context, p *RollbackPlan, who state.Lease, by string) error {
	return e.runRollback(ctx, p, who, by, fmt.Sprintf("hard rollback %s %s -> %s, %d steps",
		p.Plan.App, p.Bad.Version, p.Previous, len(p.Plan.Steps)))
}
