package deployer

import (
	"fmt"

	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
)

// keepWAR copies the plan's WAR into e.Store (when set), so that the release deploys exactly
// what `zdd rollback` will find later. The plan is not changed: its deploy steps upload the
// stored copy (warPath). Start calls it once the preflight step judged the WAR and the free
// space for the copy, before the first step that changes anything.
func (e *Engine) keepWAR(pl *plan.Plan) error {
	if e.Store == nil {
		return nil
	}
	info, err := e.Store.Put(pl.WAR)
	if err != nil {
		return outcome.Classify(outcome.ErrPreflight, err)
	}
	if pl.SHA256 != "" && pl.SHA256 != info.SHA256 {
		return outcome.Classify(outcome.ErrPreflight, fmt.Errorf("store: %s changed since it was planned (sha256 %s, now %s)",
			pl.WAR, plan.ShortSum(pl.SHA256), plan.ShortSum(info.SHA256)))
	}
	return nil
}

// warPath is the WAR a deploy step of rel uploads when it names none of its own: the store's
// copy of the plan's WAR (by checksum) when the engine keeps WARs and holds it, else the plan's.
func (e *Engine) warPath(rel *state.Release) string {
	if e.Store != nil && rel.Plan.SHA256 != "" {
		if path, err := e.Store.Get(rel.Plan.SHA256); err == nil {
			return path
		}
	}
	return rel.Plan.WAR
}

// pruneStore applies the store's retention after a release, keeping the current and the last
// good release. A failure is only a warning: the release itself is done.
func (e *Engine) pruneStore(app string) {
	if e.Store == nil {
		return
	}
	hist, err := e.Journal.History()
	if err == nil {
		_, err = e.Store.Retain(state.Protected(hist, app)...)
	}
	if err != nil {
		e.emit(Event{Type: EventWarning, Message: "release store retention: " + err.Error()})
	}
}
