package deployer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// stopAtCanary handles an interruption in step i after the canary route c completed: instead
// of undoing the canary (whose users would lose their sessions), the release stops in the
// state a paused release is in: the routes of step c, the new version off the nodes out of
// rotation (a deploy there may have been cut short), the release paused before the deploy that
// follows c. It returns false (and no error) when that state could not be reached (the caller then rolls back
// as before).
func (r *run) stopAtCanary(ctx context.Context, i, c int, cause error) (bool, error) {
	e, rel := r.e, r.rel
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RollbackTimeout)
	defer cancel()
	at := rel.Plan.Steps[c].Route
	e.emit(Event{Type: EventRollbackStarted, Message: fmt.Sprintf(
		"interrupted after the canary took traffic: stopping where a paused release stops (%s serves on %s; %s out of rotation without it)",
		rel.Plan.To, strings.Join(at.In, ","), strings.Join(at.Out, ","))})
	if err := e.route(rctx, 0, at); err != nil {
		e.emit(Event{Type: EventWarning, Message: "routes as at the pause: " + err.Error() + "; rolling back instead"})
		return false, nil
	}
	cx := e.app(rel.Plan.To)
	for _, n := range at.Out {
		apps, err := e.Managers[n].List(rctx)
		if err == nil {
			if _, ok := findApp(apps, cx); ok {
				err = e.Managers[n].Undeploy(rctx, cx)
			}
		}
		if err != nil && !errors.Is(err, tomcatmgr.ErrNotFound) {
			e.emit(Event{Type: EventWarning, Node: n, Message: "undeploy " + cx.Name() + ": " + err.Error() + "; rolling back instead"})
			return false, nil
		}
	}
	next := c + 1
	for next < len(rel.Plan.Steps) && rel.Plan.Steps[next].Deploy == nil {
		next++
	}
	for k := next; k < len(rel.Steps); k++ {
		rel.Steps[k].Started, rel.Steps[k].Finished, rel.Steps[k].Error = time.Time{}, time.Time{}, ""
	}
	rel.Current, rel.Status = next, state.StatusPaused
	rel.Error = fmt.Sprintf("interrupted in step %d: %v", i+1, cause)
	if err := r.save(); err != nil {
		return true, err
	}
	return true, outcome.WithHint(outcome.Classify(outcome.ErrInterrupted, fmt.Errorf(
		"deployer: interrupted in step %d; stopped as a paused release: %s serves on %s, %s out of rotation: %w",
		i+1, rel.Plan.To, strings.Join(at.In, ","), strings.Join(at.Out, ","), cause)),
		"`zdd promote` continues the release, `zdd rollback` takes it back (the canary's users keep their sessions)")
}

// canaryRoute returns the index of the step that put a release's canary batch in rotation (the
// first route that leaves nodes out after the first step that is rolled back), or -1 when the
// plan has none or is not a release (a rollback's plan is undone as it always was).
func (r *run) canaryRoute() int {
	if r.rel.Kind != "" && r.rel.Kind != state.KindRelease {
		return -1
	}
	first := -1
	for j, s := range r.rel.Plan.Steps {
		if first < 0 && s.Failure().Do == plan.FailRollback {
			first = j
		}
		if first >= 0 && j > first && s.Route != nil && len(s.Route.Out) > 0 {
			return j
		}
	}
	return -1
}
