package plan

import "slices"

// PausedRollbackSteps are the routing, deploy and gate steps of a paused release's rollback:
// bad (the canary's version, its WAR badWAR) to the rest so that they carry the canary's
// sessions, then next (the previous code again) everywhere, each batch out of rotation while it gets next,
// nodes deployed oldest member first (age, nil when unknown). DeltaManager gives a new context
// the sessions of the oldest other member only, so next must first start on the oldest member
// of the cluster: when that is a canary node, the canary gets next first (the rest, which has
// bad by then, serves meanwhile), else the rest does.
func PausedRollbackSteps(all, canary, rest, age []string, bad, next, badWAR string) []Step {
	canary, rest = ByAge(canary, age), ByAge(rest, age)
	var steps []Step
	add := func(s Step) { steps = append(steps, s) }
	add(Step{Deploy: &DeployStep{Version: bad, Nodes: rest, WAR: badWAR}})
	add(Step{Gate: &GateStep{Version: bad, Nodes: all, ProbeFrom: rest[0], StateFrom: rest}})
	first, second := rest, canary
	if len(age) > 0 && slices.Contains(canary, age[0]) {
		add(Step{Route: &RouteStep{In: rest, Out: canary}})
		first, second = canary, rest
	}
	add(Step{Deploy: &DeployStep{Version: next, Nodes: first}})
	add(Step{Gate: &GateStep{Version: next, Nodes: first, ProbeFrom: first[0]}})
	add(Step{Route: &RouteStep{In: first, Out: second}})
	add(Step{Deploy: &DeployStep{Version: next, Nodes: second}})
	add(Step{Gate: &GateStep{Version: next, Nodes: all, ProbeFrom: second[0], StateFrom: second}})
	add(Step{Route: &RouteStep{In: all}})
	return steps
}

// HardRollbackPlan is the plan of a hard rollback from bad to previous (which every node runs beside
// it): stop bad on every node at once, so that new sessions go to previous, then undeploy it.
// A failure of either step stops it, needing attention; running it again finishes it.
func HardRollbackPlan(app string, nodes []string, previous, previousSHA, bad string) *Plan {
	steps := []Step{
		{Stop: &StopStep{Version: bad, Nodes: nodes}},
		{Undeploy: &UndeployStep{Versions: []string{bad}, Nodes: nodes}},
	}
	for i := range steps {
		steps[i].OnFailure = &Failure{Do: FailAttention, Retry: RetryHard}
	}
	return &Plan{App: app, From: []string{previous, bad}, To: previous, SHA256: previousSHA, Steps: steps}
}
