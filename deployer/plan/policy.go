package plan

// What the engine does when a step fails: Failure.Do is one of these. The kind is decided once,
// when the plan is built (SetFailurePolicy, RollbackSteps, the hard rollback's plan), stored
// with the plan in the journal, and read by both the engine's failure path (deployer's
// run.fail) and the plan's rendering ("if it fails: ..."), so that what `zdd plan` prints is
// what happens.
const (
	// FailPreflight: nothing on the nodes or the load balancers changed yet. The run stops,
	// nothing is undone, and the error is reported as a failed preflight (exit 1) unless it
	// carries another class (a migrator's failed statement: needs attention; its lock: locked).
	FailPreflight = "preflight"
	// FailRollback: the changes so far are rolled back from what the nodes run (exit 3). An
	// interruption after a release's canary took traffic stops as a paused release instead.
	FailRollback = "rollback"
	// FailAttention: the run stops where it is, nothing is undone, and it needs attention
	// (exit 4): past the route that put every node back with the new version (drain, undeploy,
	// contract), in a plan that only retires old versions (`zdd drain`), in a hard rollback, or
	// in the steps of a rollback itself. Failure.Retry says which command finishes the work.
	FailAttention = "attention"
)

// The commands that finish the work after a FailAttention stop (Failure.Retry).
const (
	// RetryDrain retires the old versions once every node serves the new one.
	RetryDrain = "zdd drain"
	// RetryAbort finishes a rollback that stopped.
	RetryAbort = "zdd abort"
	// RetryHard runs a hard rollback again.
	RetryHard = "zdd rollback --hard"
)

// Failure is a step's failure policy, as the journal stores it with the plan.
type Failure struct {
	// Do is FailPreflight, FailRollback or FailAttention.
	Do string `json:"do"`
	// Retry, for FailAttention, is the command that finishes the work once the cause is fixed
	// (one of the Retry* constants).
	Retry string `json:"retry,omitempty"`
}

// SetFailurePolicy gives every step of steps its failure policy, from its place in the plan:
// the preflight and every step before the first route or deploy (expand migrations) changed
// nothing (FailPreflight); a step after the route that put every node back once the first
// change was made (drain, undeploy, contract), and every step of a plan without route or deploy
// steps (`zdd drain`), stops and needs attention, `zdd drain` retrying (FailAttention); any
// other step is rolled back (FailRollback). Every place that builds a release plan calls it
// once; a plan loaded from a journal written before steps carried their policy gets it the
// same way (FillFailurePolicy). It changes steps in place and returns them.
func SetFailurePolicy(steps []Step) []Step {
	first := len(steps)
	for i, s := range steps {
		if s.Route != nil || s.Deploy != nil {
			first = i
			break
		}
	}
	drainOnly := first == len(steps)
	pastFinalRoute := false
	for i := range steps {
		s := &steps[i]
		switch {
		case s.Preflight != nil, i < first && !drainOnly:
			s.OnFailure = &Failure{Do: FailPreflight}
		case drainOnly || pastFinalRoute:
			s.OnFailure = &Failure{Do: FailAttention, Retry: RetryDrain}
		default:
			s.OnFailure = &Failure{Do: FailRollback}
		}
		if s.Route != nil && len(s.Route.Out) == 0 && i > first {
			pastFinalRoute = true
		}
	}
	return steps
}

// FillFailurePolicy gives the steps of p that have no failure policy (a plan recorded by a
// zdd before steps carried one, or made by hand) the one SetFailurePolicy gives them, so that
// they fail exactly as they did before.
func (p *Plan) FillFailurePolicy() {
	missing := false
	for _, s := range p.Steps {
		missing = missing || s.OnFailure == nil
	}
	if !missing {
		return
	}
	derived := SetFailurePolicy(cloneSteps(p.Steps))
	for i := range p.Steps {
		if p.Steps[i].OnFailure == nil {
			p.Steps[i].OnFailure = derived[i].OnFailure
		}
	}
}

// cloneSteps copies steps (the step kinds are shared, the policies are not).
func cloneSteps(steps []Step) []Step {
	return append([]Step(nil), steps...)
}

// Failure returns the step's failure policy; a step without one is rolled back (the policy
// of a step the plan's builder did not place, such as a rollback step run by hand).
func (s Step) Failure() Failure {
	if s.OnFailure == nil {
		return Failure{Do: FailRollback}
	}
	return *s.OnFailure
}
