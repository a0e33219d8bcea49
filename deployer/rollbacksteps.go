package deployer

import (
	"slices"

	"github.com/saitodrom/zdd/deployer/plan"
)

// pausedSteps are the routing, deploy and gate steps of a paused release's rollback: bad (the
// canary's version, its WAR badWAR) to the rest so that they carry the canary's sessions, then
// next (the previous code again) everywhere, each batch out of rotation while it gets next,
// nodes deployed oldest member first (age, nil when unknown). DeltaManager gives a new context
// the sessions of the oldest other member only, so next must first start on the oldest member
// of the cluster: when that is a canary node, the canary gets next first (the rest, which has
// bad by then, serves meanwhile), else the rest does.
func pausedSteps(all, canary, rest, age []string, bad, next, badWAR string) []plan.Step {
	canary, rest = plan.ByAge(canary, age), plan.ByAge(rest, age)
	var steps []plan.Step
	add := func(s plan.Step) { steps = append(steps, s) }
	add(plan.Step{Deploy: &plan.DeployStep{Version: bad, Nodes: rest, WAR: badWAR}})
	add(plan.Step{Gate: &plan.GateStep{Version: bad, Nodes: all, ProbeFrom: rest[0], StateFrom: rest}})
	first, second := rest, canary
	if len(age) > 0 && slices.Contains(canary, age[0]) {
		add(plan.Step{Route: &plan.RouteStep{In: rest, Out: canary}})
		first, second = canary, rest
	}
	add(plan.Step{Deploy: &plan.DeployStep{Version: next, Nodes: first}})
	add(plan.Step{Gate: &plan.GateStep{Version: next, Nodes: first, ProbeFrom: first[0]}})
	add(plan.Step{Route: &plan.RouteStep{In: first, Out: second}})
	add(plan.Step{Deploy: &plan.DeployStep{Version: next, Nodes: second}})
	add(plan.Step{Gate: &plan.GateStep{Version: next, Nodes: all, ProbeFrom: second[0], StateFrom: second}})
	add(plan.Step{Route: &plan.RouteStep{In: all}})
	return steps
}

// hardPlan is the plan of a hard rollback from bad to previous (which every node runs beside
// it): stop bad on every node at once, so that new sessions go to previous, then undeploy it.
// A failure of either step stops it, needing attention; running it again finishes it.
func hardPlan(app string, nodes []string, previous, previousSHA, bad string) *plan.Plan {
	steps := []plan.Step{
		{Stop: &plan.StopStep{Version: bad, Nodes: nodes}},
		{Undeploy: &plan.UndeployStep{Versions: []string{bad}, Nodes: nodes}},
	}
	for i := range steps {
		steps[i].OnFailure = &plan.Failure{Do: plan.FailAttention, Retry: plan.RetryHard}
	}
	return &plan.Plan{App: app, From: []string{previous, bad}, To: previous, SHA256: previousSHA, Steps: steps}
}
