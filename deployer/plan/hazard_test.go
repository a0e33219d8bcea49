package plan

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/tomcatmgr"
)

func hazardSpec(n, canary int) *Spec {
	s := &Spec{App: "app", HealthPath: "/health.jsp", VersionWidth: 3, CanarySize: canary}
	for i := 1; i <= n; i++ {
		s.Nodes = append(s.Nodes, NodeSpec{Name: "n" + string(rune('0'+i)), URL: "http://n", Weight: 1})
	}
	return s
}

func hazardPlan(t *testing.T, s *Spec) *Plan {
	p, err := BuildPlan(s, &ClusterState{Apps: map[string][]tomcatmgr.App{}}, "002", WARInfo{Path: "a.war"})
	require.NoError(t, err)
	return p
}

func TestPlanFlagsSingleNodeInRotation(t *testing.T) {
	s := hazardSpec(3, 2)
	p := hazardPlan(t, s)
	hz := SingleNodeSteps(p, s.NodeNames(), s.CanarySize)
	require.Len(t, hz, 1)
	assert.Equal(t, "route", p.Steps[hz[0].Step].Kind())
	assert.Equal(t, []string{"n3"}, hz[0].In)
	assert.Contains(t, hz[0].Fix, "with 3 nodes no strategy.canary_size avoids it")
	out := p.Render(s.NodeNames(), s.CanarySize)
	assert.Contains(t, out, "WARNING: leaves only n3 in rotation")
	assert.Equal(t, 1, strings.Count(out, "WARNING"))
}

func TestPlanSuggestsCanarySize(t *testing.T) {
	s := hazardSpec(5, 4)
	p := hazardPlan(t, s)
	hz := SingleNodeSteps(p, s.NodeNames(), s.CanarySize)
	require.Len(t, hz, 1)
	assert.Contains(t, hz[0].Fix, "strategy.canary_size: 2 (now 4)")
	// With the suggested size no step is flagged.
	s.CanarySize = 2
	assert.Empty(t, SingleNodeSteps(hazardPlan(t, s), s.NodeNames(), 2))
}

func TestPlanFlagsSingleNode(t *testing.T) {
	s := hazardSpec(1, 2)
	p := hazardPlan(t, s)
	hz := SingleNodeSteps(p, s.NodeNames(), 2)
	require.NotEmpty(t, hz)
	assert.Empty(t, hz[0].In, "a one-node cluster has nothing in rotation while it deploys")
	assert.Contains(t, p.Render(s.NodeNames(), 2), "WARNING: leaves no node in rotation")
}
