package releasecmd

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/deployertest"
	"github.com/saitodrom/zdd/deployer/outcome"
)

// withDatabase is the world's Deps with a database configured: its Dial gives the cluster m.
func (w *world) withDatabase(m *deployertest.Migrator) Deps {
	d := w.deps()
	d.Dial = w.fc.WithMigrator(m)
	return d
}

// TestReleaseCommandsRunMigrationsWithTheirMigrator: deploy, promote and drain all run their
// migration steps with the Migrator of the dialled cluster.
func TestReleaseCommandsRunMigrationsWithTheirMigrator(t *testing.T) {
	w := newWorld(t)
	m := &deployertest.Migrator{}
	deploy := func(version string, mod func(*DeployOptions)) error {
		opts := &DeployOptions{Deps: w.withDatabase(m), ReleaseFlags: ReleaseFlags{WAR: war(t, version), Version: version, Output: OutputText}}
		if mod != nil {
			mod(opts)
		}
		return RunDeploy(context.Background(), opts)
	}
	require.NoError(t, deploy("001", nil))
	assert.Equal(t, []string{"expand", "contract"}, m.Take(), "deploy")

	w.fc.Spec.PauseAfterCanary = true
	require.ErrorIs(t, deploy("002", nil), outcome.ErrPaused)
	assert.Equal(t, []string{"expand"}, m.Take(), "deploy, paused")
	w.fc.Spec.PauseAfterCanary = false
	require.NoError(t, RunPromote(context.Background(), &PromoteOptions{Deps: w.withDatabase(m), Output: OutputText}))
	assert.Equal(t, []string{"contract"}, m.Take(), "promote")

	require.NoError(t, deploy("003", func(o *DeployOptions) { o.NoDrain = true }))
	assert.Equal(t, []string{"expand"}, m.Take(), "deploy --no-drain")
	require.NoError(t, RunDrain(context.Background(), &DrainOptions{Deps: w.withDatabase(m), Output: OutputText}))
	assert.Equal(t, []string{"contract"}, m.Take(), "drain")
}

// TestEveryReleaseCommandStartsWithTheMigrator: the one start of the release commands builds
// the engine with the cluster's Migrator and takes the lease.
func TestEveryReleaseCommandStartsWithTheMigrator(t *testing.T) {
	w := newWorld(t)
	m := &deployertest.Migrator{}
	d := w.withDatabase(m)
	run, err := d.start(context.Background(), w.cfg, nil, 0)
	require.NoError(t, err)
	defer run.Close()
	assert.Same(t, m, run.Engine.Migrator.(*deployertest.Migrator))
	assert.True(t, run.Engine.Spec.Migrations)
	assert.NotNil(t, run.Held)
	assert.NotNil(t, run.Engine.Preflight)
	assert.NotNil(t, run.Engine.Store)
}
