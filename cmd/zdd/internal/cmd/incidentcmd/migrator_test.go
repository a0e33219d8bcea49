package incidentcmd

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/deployertest"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
)

// withDatabase is the world's Deps with a database configured: its Dial gives the cluster m.
func (w *world) withDatabase(m *deployertest.Migrator) Deps {
	d := w.deps()
	d.Dial = w.fc.WithMigrator(m)
	return d
}

// TestResumeBeforeContractRunsIt: a release killed after its undeploy, before its contract
// migrations, resumes with the configured migrator and ends with exit 0 (it failed with "the
// plan has migrations but no migrator is configured" when incident commands built their own
// engine).
func TestResumeBeforeContractRunsIt(t *testing.T) {
	w := newWorld(t, "002")
	m := &deployertest.Migrator{}
	steps := []plan.Step{{Route: &plan.RouteStep{In: nodes}},
		{Undeploy: &plan.UndeployStep{Versions: []string{"001"}, Nodes: nodes, OnlyIfDrained: true}},
		{Migrate: &plan.MigrateStep{Phase: "contract"}}}
	rel := &state.Release{ID: "002-x", Command: "zdd deploy", Holder: "alice", Host: "ci",
		Started: time.Now().Add(-time.Minute).UTC(), Status: state.StatusRunning, Current: 2,
		Plan: plan.Plan{App: "app", From: []string{"001"}, To: "002", Steps: steps}}
	for i, s := range steps {
		rel.Steps = append(rel.Steps, state.StepRecord{Step: s.String()})
		if i < 2 {
			rel.Steps[i].Started, rel.Steps[i].Finished = rel.Started, rel.Started
		}
	}
	require.NoError(t, w.journal().Save(rel))

	err := RunResume(context.Background(), &ResumeOptions{Deps: w.withDatabase(m)})
	require.NoError(t, err)
	assert.Equal(t, []string{"contract"}, m.Take())
	cur, err := w.journal().Current()
	require.NoError(t, err)
	assert.Equal(t, state.StatusDone, cur.Status)
	assert.Contains(t, w.out.String(), "resume: success")
}

// TestEveryIncidentCommandStartsWithTheMigrator: resume, abort and rollback all start through
// the one wiring, which gives the engine the cluster's Migrator (and no lease: the engine
// takes it).
func TestEveryIncidentCommandStartsWithTheMigrator(t *testing.T) {
	w := newWorld(t, "001")
	m := &deployertest.Migrator{}
	d := w.withDatabase(m)
	run, err := d.start(context.Background(), w.cfg, deployer.SinkFunc(func(deployer.Event) {}))
	require.NoError(t, err)
	defer run.Close()
	assert.Same(t, m, run.Engine.Migrator.(*deployertest.Migrator))
	assert.True(t, run.Engine.Spec.Migrations)
	assert.Nil(t, run.Held)
	assert.NotNil(t, run.Engine.Store, "rollback finds the last good WAR in the store")
}
