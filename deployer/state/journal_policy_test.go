package state

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// journalNodes are the nodes of the journal tests' cluster (deployer's tests call them three).
var journalNodes = []string{"n1", "n2", "n3"}

// journalSpec is the spec of the journal tests (deployer's tests call it testSpec).
func journalSpec(nodes []string) *plan.Spec {
	s := &plan.Spec{App: "app", HealthPath: "/health.jsp", VersionWidth: 3, CanarySize: 2,
		HealthTimeout: 50 * time.Millisecond, ReplicationTimeout: 50 * time.Millisecond, DrainTimeout: 50 * time.Millisecond}
	for _, n := range nodes {
		s.Nodes = append(s.Nodes, plan.NodeSpec{Name: n, URL: "http://" + n, Weight: 1})
	}
	return s
}

// A journal written by zdd before steps carried their failure policy loads with the policy
// SetFailurePolicy gives the same plan, so that its release fails exactly as it did.
func TestJournalWithoutFailurePolicyLoadsWithTheDerivedOne(t *testing.T) {
	spec := journalSpec(journalNodes)
	spec.Migrations = true
	st := &plan.ClusterState{Apps: map[string][]tomcatmgr.App{}}
	for _, n := range journalNodes {
		st.Apps[n] = []tomcatmgr.App{{Context: tomcatmgr.Context{Path: "/app", Version: "001"}, State: tomcatmgr.StateRunning}}
	}
	p, err := plan.BuildPlan(spec, st, "002", plan.WARInfo{Path: "app.war"})
	require.NoError(t, err)
	want := policies(p.Steps)
	old := *p
	old.Steps = nil
	for _, s := range p.Steps {
		s.OnFailure = nil
		old.Steps = append(old.Steps, s)
	}
	j := &Journal{Dir: t.TempDir()}
	require.NoError(t, j.Save(&Release{ID: "002-x", Plan: old, Status: StatusRunning, Current: 3}))
	b, err := os.ReadFile(filepath.Join(j.Dir, "release.json"))
	require.NoError(t, err)
	assert.NotContains(t, string(b), "on_failure", "the record is as the previous zdd wrote it")
	rel, err := j.Current()
	require.NoError(t, err)
	assert.Equal(t, want, policies(rel.Plan.Steps))

	require.NoError(t, j.Save(&Release{ID: "002-y", Plan: *p, Status: StatusRunning}))
	b, err = os.ReadFile(filepath.Join(j.Dir, "release.json"))
	require.NoError(t, err)
	assert.Contains(t, string(b), `"on_failure": {`+"\n", "the policy is journaled with the plan")
	assert.Contains(t, string(b), `"retry": "zdd drain"`)
}

// policies lists each step's kind and failure policy (as deployer/plan's tests do).
func policies(steps []plan.Step) []string {
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
