package bench

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSimulatedReleaseRunsTheWholeEngine releases to simulated nodes through tomcatmgr and the
// engine's gates; simRelease itself fails unless every node ends with 001 and 002.
func TestSimulatedReleaseRunsTheWholeEngine(t *testing.T) {
	for _, n := range []int{3, 6} {
		wall, err := simRelease(context.Background(), n, 50*time.Millisecond, t.TempDir())
		require.NoError(t, err, "%d nodes", n)
		assert.GreaterOrEqual(t, wall, time.Duration(n)*50*time.Millisecond, "one deploy per node, one node at a time")
	}
}

func TestScaleRowsCarryRatioAndOverhead(t *testing.T) {
	b := &bench{opts: Options{SimNodes: 4, SimDeploy: 20 * time.Millisecond, WorkDir: t.TempDir()}}
	b.opts.defaults()
	rows := b.scale(context.Background())
	require.Len(t, rows, 2)
	require.True(t, rows[0].Measured, rows[0].Note)
	require.True(t, rows[1].Measured, rows[1].Note)
	assert.Contains(t, rows[1].Figures, "x_3_nodes")
	assert.Contains(t, rows[1].Figures, "per_node_overhead_ms")
	require.Len(t, rows[1].Targets, 1)
	assert.Equal(t, rows[1].Figures["x_3_nodes"] <= maxScaleRatio, rows[1].Targets[0].Met)
}

func TestTableMarksMissedTargetsAndReleaseFailures(t *testing.T) {
	res := &Result{Users: 20, Settle: 3, Rows: []Row{
		{Name: RowZddRR, Zdd: true, Release: true, Measured: true, Mode: "round-robin", Requests: 1000, Failed: 0, Lost: 2, Wall: 7.5, NewAfter: 3,
			Targets: []Target{target("failed = 0", true), target("lost = 0", false)}},
		{Name: RowRollbackHard, Zdd: true, Measured: true, Requests: 900, Lost: 20, Wall: 0.3, NewAfter: 0.2, Targets: []Target{target("new <= 2s", true)}},
		notMeasured(RowBig, assert.AnError),
	}}
	var out bytes.Buffer
	res.WriteText(&out)
	s := out.String()
	assert.Contains(t, s, "lost = 0: MISSED")
	assert.Contains(t, s, "targets missed (1)")
	assert.Contains(t, s, "not measured: "+assert.AnError.Error())
	assert.Equal(t, []string{RowZddRR + ": 0 failed, 2 lost sessions"}, res.ReleaseFailures(), "the hard rollback's losses are not a release failure")
	out.Reset()
	res.WriteMarkdown(&out)
	assert.Contains(t, out.String(), "| row | mode |")
	assert.Contains(t, out.String(), "| "+RowZddRR+" | round-robin | 1000 | 0 | 2 | 7.50 | 3.00 |")
}

func TestCompareFloor(t *testing.T) {
	rows := []Row{{Name: RowZddRR, Measured: true, Wall: 9}, {Name: RowFloorA, Measured: true, Wall: 5}}
	compareFloor(&rows[0], 1, rows)
	assert.InDelta(t, 1.8, rows[0].Figures["x_floor_a"], 1e-9)
	require.Len(t, rows[0].Targets, 1)
	assert.False(t, rows[0].Targets[0].Met, "1.8x is above 1.5x")
	z := Row{Name: RowZddRR, Measured: true, Wall: 9}
	compareFloor(&z, -1, rows)
	assert.False(t, z.Targets[0].Met, "no floor: the target cannot be met")
	assert.Contains(t, z.Note, "floor (a) not measured")
}
