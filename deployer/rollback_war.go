package deployer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
)

// goodText describes the code a rollback goes back to, for Render.
func goodText(g *state.HistoryEntry) string {
	switch {
	case g == nil:
		return "the version running before it"
	case g.ID == "":
		return fmt.Sprintf("%s (sha256 %s, the WAR given with --war)", g.To, plan.ShortSum(g.SHA256))
	case g.Kind == state.KindAdopt:
		return fmt.Sprintf("%s (sha256 %s, deployed before zdd, its WAR registered %s by %s@%s)", g.To, plan.ShortSum(g.SHA256),
			g.Finished.Local().Format(time.RFC3339), g.Holder, g.Host)
	}
	return fmt.Sprintf("%s (sha256 %s, released %s by %s@%s)", g.To, plan.ShortSum(g.SHA256),
		g.Finished.Local().Format(time.RFC3339), g.Holder, g.Host)
}

func goodVersion(g *state.HistoryEntry) string {
	if g == nil {
		return "the previous version"
	}
	return g.To
}

// previousRunning returns the newest version older than bad that runs on every node, or "".
func (e *Engine) previousRunning(st *plan.ClusterState, bad string) string {
	vs := olderThan(st.Versions(), bad)
	for i := len(vs) - 1; i >= 0; i-- {
		if e.missingOn(st, vs[i]) == "" {
			return vs[i]
		}
	}
	return ""
}

// rolledBackSHA tells whether a rollback took the code sha away.
func rolledBackSHA(hist []state.HistoryEntry, sha string) bool {
	for _, h := range hist {
		if h.RolledBack != nil && h.RolledBack.SHA256 == sha {
			return true
		}
	}
	return false
}

// olderCandidate tells whether a version older than bad is deployed whose code could be the
// one to go back to: zdd did not deploy it (its code is unknown), or its checksum is neither
// bad's nor one a rollback took away.
func (e *Engine) olderCandidate(st *plan.ClusterState, hist []state.HistoryEntry, bad state.RolledBack) bool {
	for _, v := range olderThan(st.Versions(), bad.Version) {
		sha := state.SHAOf(hist, nil, e.Spec.App, v)
		if sha == "" || (sha != bad.SHA256 && !rolledBackSHA(hist, sha)) {
			return true
		}
	}
	return false
}

// goodWAR returns the WAR of the code a default rollback deploys again: the one given with
// --war (checked: a WAR, not the bad code, the last good release's code when there is one), or
// the last good release's from the store. Without one it refuses (outcome.ErrPreflight), saying
// what runs where, what --hard would cost and how to give the WAR. It changes nothing.
func (e *Engine) goodWAR(ctx context.Context, p *RollbackPlan, st *plan.ClusterState, hist []state.HistoryEntry) (plan.WARInfo, error) {
	if p.opts.Store == nil {
		return plan.WARInfo{}, errors.New("deployer: rollback needs the release store")
	}
	if p.opts.WAR != "" {
		war, err := InspectWAR(p.opts.WAR, PreviousWARHint)
		if err != nil {
			return plan.WARInfo{}, err
		}
		if err := refuseBadSHA(hist, &p.Bad, war, "--war"); err != nil {
			return plan.WARInfo{}, err
		}
		if p.Good != nil && p.Good.SHA256 != war.SHA256 {
			return plan.WARInfo{}, outcome.WithHint(outcome.Classify(outcome.ErrPreflight, fmt.Errorf(
				"deployer: --war %s (sha256 %s) is not the code of the last good release %s (sha256 %s); nothing was changed",
				war.Path, plan.ShortSum(war.SHA256), p.Good.To, plan.ShortSum(p.Good.SHA256))),
				"give the WAR of "+p.Good.To+", or leave --war out when the release store still holds it")
		}
		if p.Good == nil {
			p.Good = &state.HistoryEntry{App: e.Spec.App, To: e.previousRunning(st, p.Bad.Version), SHA256: war.SHA256, Status: state.StatusDone}
			if p.Good.To == "" {
				p.Good.To = "the previous code"
			}
		}
		return war, nil
	}
	if p.Good == nil {
		return plan.WARInfo{}, e.noPreviousWAR(ctx, p, st)
	}
	path, err := p.opts.Store.Get(p.Good.SHA256)
	if err != nil {
		return plan.WARInfo{}, outcome.WithHint(outcome.Classify(outcome.ErrPreflight, fmt.Errorf("deployer: the WAR of %s: %w; nothing was changed", p.Good.To, err)),
			fmt.Sprintf("give it with `zdd rollback --war app-%s.war`, or use `zdd rollback --hard` if its version still runs", p.Good.To))
	}
	return plan.WARInfo{Path: path, SHA256: p.Good.SHA256, Size: fileSize(path)}, nil
}

// noPreviousWAR is the refusal of a default rollback that has no WAR for the previous code.
func (e *Engine) noPreviousWAR(ctx context.Context, p *RollbackPlan, st *plan.ClusterState) error {
	prev := e.previousRunning(st, p.Bad.Version)
	n, err := e.sessions(ctx, e.app(p.Bad.Version))
	if err != nil {
		return err
	}
	name := prev
	if name == "" {
		name = "the previous version"
	}
	hist, err := e.Journal.History()
	if err != nil {
		return err
	}
	why := fmt.Sprintf("%s was not released by zdd: no release of it in the history of %s", name, e.Journal.Dir)
	if sha := state.SHAOf(hist, nil, e.Spec.App, prev); sha != "" {
		why = fmt.Sprintf("%s (sha256 %s) is not a completed release whose code was kept", prev, plan.ShortSum(sha))
	}
	hard := fmt.Sprintf("`zdd rollback --hard` stops %s now: its %d open sessions would be lost", p.Bad.Version, n)
	if p.Release != nil {
		hard = fmt.Sprintf("`zdd rollback --hard` takes %s off the canary now: its %d open sessions would be lost", p.Bad.Version, n)
	} else if prev == "" {
		hard = "--hard is not possible either: no older version runs on every node"
		if old := olderThan(st.Versions(), p.Bad.Version); len(old) > 0 {
			hard += fmt.Sprintf(" (%s does not run on %s)", old[len(old)-1], e.missingOn(st, old[len(old)-1]))
		}
	}
	hint := fmt.Sprintf("give the WAR of %s: `zdd rollback --war app-%s.war` (checked, and recorded with its checksum in the release store)", name, prev)
	if prev == "" {
		hint = "give the WAR of the previous code: `zdd rollback --war FILE` (checked, and recorded with its checksum in the release store)"
	}
	return outcome.WithHint(outcome.Classify(outcome.ErrPreflight, fmt.Errorf(
		"deployer: cannot roll back %s (sha256 %s) without losing sessions: zdd has no WAR of the code before it (%s); what runs: %s; %s; nothing was changed",
		p.Bad.Version, plan.ShortSum(p.Bad.SHA256), why, e.whereRuns(st), hard)), hint+"; next time register it when releasing over it: `zdd deploy --previous-war FILE --previous-version VERSION`")
}

// storeGivenWAR stores the WAR given with --war (by checksum) before a default rollback runs,
// points the plan at the stored copy, and, when it is the code of a version deployed before
// zdd, registers it as that version's code in the history.
func (e *Engine) storeGivenWAR(p *RollbackPlan, who state.Lease) error {
	if p.opts.WAR == "" || p.Plan == nil {
		return nil
	}
	stored, err := p.opts.Store.Put(p.Plan.WAR)
	if err != nil {
		return outcome.Classify(outcome.ErrPreflight, err)
	}
	if stored.SHA256 != p.Plan.SHA256 {
		return outcome.Classify(outcome.ErrPreflight, fmt.Errorf("store: %s changed since it was planned (sha256 %s, now %s); nothing was changed",
			p.Plan.WAR, plan.ShortSum(p.Plan.SHA256), plan.ShortSum(stored.SHA256)))
	}
	p.Plan.WAR, p.Plan.Size = stored.Path, stored.Size
	if p.Good != nil && p.Good.ID == "" && ValidVersion(p.Good.To, e.Spec.VersionWidth) == nil {
		h, err := e.RegisterPrevious(p.Good.To, stored, who)
		if err != nil {
			return err
		}
		p.Good = &h
	}
	return nil
}

// planPaused plans the default rollback of a paused release, whose canary batch serves the new
// version: the previous code is deployed again as a higher version, and the canary's version
// is given to the other nodes too (out of rotation, its sessions transferred), so that its
// users keep their sessions until they end while no new session ever reaches it:
//
//	deploy bad to the rest, gate (sessions transferred); deploy next to the rest, gate;
//	route the rest in, the canary out; deploy next to the canary, gate; route every node in;
//	drain and undeploy the old versions (unless NoDrain).
//
// When the oldest cluster member is a canary node, next goes to the canary first (see
// plan.PausedRollbackSteps), so that every later start of next finds it on the member
// DeltaManager asks.
func (e *Engine) planPaused(ctx context.Context, p *RollbackPlan) (*RollbackPlan, error) {
	rel := p.Release
	st, hist, err := e.startUnfinished(ctx, p, "redeploy")
	if err != nil {
		return nil, err
	}
	since := -1
	if g := state.LastGood(hist, e.Spec.App, rel.Plan.SHA256); g != nil {
		p.Good, since = &g.Entry, g.Index
	}
	if err := refuseContract(hist, since, p); err != nil {
		return nil, err
	}
	war, err := e.goodWAR(ctx, p, st, hist)
	if err != nil {
		return nil, outcome.WithHint(err, outcome.Hint(err)+"; or `zdd rollback --hard` (the canary's sessions are lost)")
	}
	badWAR, err := p.opts.Store.Get(rel.Plan.SHA256)
	if err != nil {
		return nil, outcome.WithHint(outcome.Classify(outcome.ErrPreflight, fmt.Errorf(
			"deployer: the WAR of %s, which the other nodes need to keep the canary's sessions: %w; nothing was changed", rel.Plan.To, err)),
			"`zdd rollback --hard` takes it off the canary (its sessions are lost)")
	}
	canary := e.canaryNodes(rel)
	inCanary := map[string]bool{}
	for _, n := range canary {
		inCanary[n] = true
	}
	var rest []string
	for _, n := range e.Spec.NodeNames() {
		if !inCanary[n] {
			rest = append(rest, n)
		}
	}
	if len(canary) == 0 || len(rest) == 0 {
		return e.planUndo(ctx, p)
	}
	next, err := plan.NextVersion(st.Versions(), e.Spec.VersionWidth)
	if err != nil {
		return nil, err
	}
	from := st.Versions()
	np := &plan.Plan{App: e.Spec.App, From: from, To: next, WAR: war.Path, SHA256: war.SHA256, Size: war.Size}
	np.Steps = plan.PausedRollbackSteps(e.Spec.NodeNames(), canary, rest, e.MemberAge(ctx), rel.Plan.To, next, badWAR)
	if !p.opts.NoDrain {
		spec := *e.Spec
		spec.Migrations = false
		np.Steps = append(np.Steps, plan.DrainSteps(&spec, from)...)
	}
	plan.SetFailurePolicy(np.Steps)
	p.Plan = np
	return p, nil
}
