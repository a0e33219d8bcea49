package plan

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/tomcatmgr"
)

func policies(steps []Step) []string {
	var out []string
	for _, s := range steps {
		f := "<nil>"
		if s.OnFailure != nil {
			f = s.OnFailure.Do + " " + s.OnFailure.Retry
		}
		out = append(out, s.Kind()+": "+f)
	}
	return out
}

func TestBuildPlanGivesEachStepItsFailurePolicy(t *testing.T) {
	spec := planSpec(planNodes)
	spec.Migrations, spec.PauseAfterCanary = true, true
	st := &ClusterState{Apps: map[string][]tomcatmgr.App{}}
	for _, n := range planNodes {
		st.Apps[n] = []tomcatmgr.App{{Context: tomcatmgr.Context{Path: "/app", Version: "001"}, State: tomcatmgr.StateRunning}}
	}
	p, err := BuildPlan(spec, st, "002", WARInfo{Path: "app.war"})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"preflight: preflight ", "migrate: preflight ",
		"route: rollback ", "deploy: rollback ", "gate: rollback ", "route: rollback ", "pause: rollback ",
		"deploy: rollback ", "gate: rollback ", "route: rollback ",
		"drain: attention zdd drain", "undeploy: attention zdd drain", "migrate: attention zdd drain",
	}, policies(p.Steps))
	assert.Equal(t, []string{"drain: attention zdd drain", "undeploy: attention zdd drain", "migrate: attention zdd drain"},
		policies(SetFailurePolicy(DrainSteps(spec, []string{"001"}))), "a plan that only retires old versions stops")
	for _, s := range RollbackSteps(planNodes, []string{"n1"}, "002", 2) {
		assert.Equal(t, Failure{Do: FailAttention, Retry: RetryAbort}, *s.OnFailure, "a failed rollback step needs attention")
	}
}
