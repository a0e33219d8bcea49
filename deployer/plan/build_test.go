package plan

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/tomcatmgr"
)

func TestNextVersion(t *testing.T) {
	for _, c := range []struct {
		existing []string
		want     string
	}{{nil, "001"}, {[]string{"001"}, "002"}, {[]string{"009", "010"}, "011"}} {
		got, err := NextVersion(c.existing, 3)
		require.NoError(t, err)
		assert.Equal(t, c.want, got)
	}
	_, err := NextVersion([]string{"999"}, 3)
	assert.ErrorContains(t, err, "does not fit in 3 digits")
	_, err = NextVersion([]string{"abc"}, 3)
	assert.ErrorContains(t, err, "not a number")
}

func TestBatches(t *testing.T) {
	for _, c := range []struct {
		nodes []string
		a, b  []string
	}{
		{[]string{"n1"}, []string{"n1"}, nil},
		{[]string{"n1", "n2"}, []string{"n1"}, []string{"n2"}},
		{planNodes, []string{"n1", "n2"}, []string{"n3"}},
		{[]string{"n1", "n2", "n3", "n4", "n5"}, []string{"n1", "n2"}, []string{"n3", "n4", "n5"}},
	} {
		a, b := Batches(c.nodes, 2)
		assert.Equal(t, c.a, a)
		assert.Equal(t, c.b, b)
	}
}

func TestStepValidate(t *testing.T) {
	assert.Error(t, Step{}.Validate())
	assert.Error(t, Step{Route: &RouteStep{}, Deploy: &DeployStep{}}.Validate())
	assert.NoError(t, Step{Route: &RouteStep{}}.Validate())
}

func TestBuildPlanDeploysEachBatchOldestMemberFirst(t *testing.T) {
	six := []string{"n1", "n2", "n3", "n4", "n5", "n6"}
	st := &ClusterState{Apps: map[string][]tomcatmgr.App{}, Age: []string{"n5", "n2", "n1", "n6", "n3", "n4"}}
	for _, n := range six {
		st.Apps[n] = []tomcatmgr.App{{Context: tomcatmgr.Context{Path: "/app", Version: "001"}, State: tomcatmgr.StateRunning}}
	}
	p, err := BuildPlan(planSpec(six), st, "002", WARInfo{Path: "app.war"})
	require.NoError(t, err)
	var deploys []string
	for _, s := range p.Steps {
		if s.Deploy != nil {
			deploys = append(deploys, strings.Join(s.Deploy.Nodes, ","))
		}
	}
	assert.Equal(t, []string{"n2,n1", "n5,n6,n3,n4"}, deploys, "batches keep the configuration's canary, each deployed oldest first")
}
