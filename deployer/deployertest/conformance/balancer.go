package conformance

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/lb"
)

// BalancerTarget is a load balancer and the nodes the Balancer cases may change.
type BalancerTarget struct {
	// Balancer is the load balancer (every host of it).
	Balancer lb.Balancer
	// Nodes are at least two nodes it routes to, all in rotation when the suite starts. The
	// suite changes their states and puts them back as they were when it ends.
	Nodes []string
	// Unknown is a node it does not route to.
	Unknown string
}

// Balancer runs the Balancer cases, in order, against one target.
func Balancer(t *testing.T, tg BalancerTarget) {
	require.GreaterOrEqual(t, len(tg.Nodes), 2, "the suite needs two nodes")
	before, err := tg.Balancer.States(bg(t))
	require.NoError(t, err)
	t.Cleanup(func() {
		mine := map[string]lb.State{}
		for _, n := range tg.Nodes {
			mine[n] = before[n]
		}
		if err := tg.Balancer.Apply(context.Background(), mine); err != nil {
			t.Errorf("restore %v: %v", mine, err)
		}
	})
	for _, c := range []struct {
		name string
		run  func(*testing.T, BalancerTarget, map[string]lb.State)
	}{
		{"StatesNameEveryNode", statesNameNodes},
		{"UnknownNodeRefused", unknownNodeRefused},
		{"WeightOutOfRangeRefused", weightRefused},
		{"DownKeepsTheWeight", downKeepsWeight},
		{"VerifyFailsWhenTheLiveStateDiffers", verifyDiffers},
		{"ApplyingTwiceConverges", applyTwice},
		{"ExpiredDeadlineChangesNothing", expiredApply},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, tg, before) })
	}
}

// now returns the states of every node.
func now(t *testing.T, tg BalancerTarget) map[string]lb.State {
	t.Helper()
	st, err := tg.Balancer.States(bg(t))
	require.NoError(t, err)
	return st
}

func statesNameNodes(t *testing.T, tg BalancerTarget, before map[string]lb.State) {
	for _, n := range tg.Nodes {
		require.Contains(t, before, n)
		assert.False(t, before[n].Down, "%s starts in rotation", n)
		assert.Positive(t, before[n].Weight, "%s has its weight", n)
	}
	assert.NotContains(t, before, tg.Unknown)
}

func unknownNodeRefused(t *testing.T, tg BalancerTarget, _ map[string]lb.State) {
	was := now(t, tg)
	err := tg.Balancer.Apply(bg(t), map[string]lb.State{tg.Nodes[0]: {Down: true}, tg.Unknown: {Weight: 1}})
	assert.ErrorIs(t, err, lb.ErrUnknownNode, "Apply")
	assert.Equal(t, was, now(t, tg), "nothing changed, not even the known node")
	err = tg.Balancer.Verify(bg(t), map[string]lb.State{tg.Unknown: {Weight: 1}})
	assert.ErrorIs(t, err, lb.ErrUnknownNode, "Verify")
}

func weightRefused(t *testing.T, tg BalancerTarget, _ map[string]lb.State) {
	was := now(t, tg)
	_, hi := tg.Balancer.WeightRange()
	err := tg.Balancer.Apply(bg(t), map[string]lb.State{tg.Nodes[0]: {Weight: hi + 1}})
	assert.ErrorIs(t, err, lb.ErrInvalidState)
	err = tg.Balancer.Apply(bg(t), map[string]lb.State{tg.Nodes[0]: {Weight: -1}})
	assert.ErrorIs(t, err, lb.ErrInvalidState)
	assert.Equal(t, was, now(t, tg), "nothing changed")
}

func downKeepsWeight(t *testing.T, tg BalancerTarget, before map[string]lb.State) {
	n := tg.Nodes[1]
	require.NoError(t, tg.Balancer.Apply(bg(t), map[string]lb.State{n: {Down: true}}))
	got := now(t, tg)[n]
	assert.Equal(t, lb.State{Weight: before[n].Weight, Down: true}, got, "down with weight 0 keeps the weight")
	require.NoError(t, tg.Balancer.Verify(bg(t), map[string]lb.State{n: {Down: true}}))
	require.NoError(t, tg.Balancer.Verify(bg(t), map[string]lb.State{n: {Weight: before[n].Weight, Down: true}}))
	require.NoError(t, tg.Balancer.Apply(bg(t), map[string]lb.State{n: {Weight: before[n].Weight}}))
	assert.Equal(t, before[n], now(t, tg)[n], "back in rotation")
}

func verifyDiffers(t *testing.T, tg BalancerTarget, before map[string]lb.State) {
	a, b := tg.Nodes[0], tg.Nodes[1]
	require.NoError(t, tg.Balancer.Apply(bg(t), map[string]lb.State{a: before[a], b: {Weight: before[b].Weight, Down: true}}))
	err := tg.Balancer.Verify(bg(t), map[string]lb.State{b: {Weight: before[b].Weight}})
	assert.ErrorIs(t, err, lb.ErrNotLive, "b is down, not in rotation")
	_, hi := tg.Balancer.WeightRange()
	other := before[a].Weight%hi + 1
	err = tg.Balancer.Verify(bg(t), map[string]lb.State{a: {Weight: other}})
	assert.ErrorIs(t, err, lb.ErrNotLive, "a runs weight %d, not %d", before[a].Weight, other)
	require.NoError(t, tg.Balancer.Verify(bg(t), map[string]lb.State{a: before[a], b: {Weight: before[b].Weight, Down: true}}))
}

func applyTwice(t *testing.T, tg BalancerTarget, before map[string]lb.State) {
	a, b := tg.Nodes[0], tg.Nodes[1]
	want := map[string]lb.State{a: {Weight: 3}, b: {Weight: before[b].Weight}}
	require.NoError(t, tg.Balancer.Apply(bg(t), want))
	first := now(t, tg)
	require.NoError(t, tg.Balancer.Apply(bg(t), want), "the same states again")
	assert.Equal(t, first, now(t, tg))
	require.NoError(t, tg.Balancer.Verify(bg(t), want))
	require.NoError(t, tg.Balancer.Apply(bg(t), map[string]lb.State{}), "an empty change")
	assert.Equal(t, first, now(t, tg))
}

func expiredApply(t *testing.T, tg BalancerTarget, before map[string]lb.State) {
	a := tg.Nodes[0]
	require.NoError(t, tg.Balancer.Apply(bg(t), map[string]lb.State{a: before[a]}))
	was := now(t, tg)
	err := tg.Balancer.Apply(expired(), map[string]lb.State{a: {Down: true}})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, was, now(t, tg), "nothing changed")
	_, err = tg.Balancer.States(expired())
	assert.ErrorIs(t, err, context.DeadlineExceeded, "States")
	err = tg.Balancer.Verify(expired(), map[string]lb.State{a: before[a]})
	assert.ErrorIs(t, err, context.DeadlineExceeded, "Verify")
}
