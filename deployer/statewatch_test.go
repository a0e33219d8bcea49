package deployer

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/deployertest"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// member is a node's cluster receiver address in these tests.
func member(n string) tomcatmgr.Member {
	return tomcatmgr.Member{Host: "127.0.0.1", Port: map[string]int{"n1": 4001, "n2": 4002, "n3": 4003}[n]}
}

// clusterNode answers ClusterMembers with every other node, oldest (n1) first; frozen, it
// answers nothing (neither List nor ClusterMembers) until the caller gives up.
type clusterNode struct {
	Manager
	name   string
	frozen *atomic.Bool
}

func (c clusterNode) ClusterMembers(ctx context.Context) ([]tomcatmgr.Member, error) {
	if c.name == "n1" && c.frozen.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	var out []tomcatmgr.Member
	for _, n := range three {
		if n != c.name {
			out = append(out, member(n))
		}
	}
	return out, nil
}

func (c clusterNode) List(ctx context.Context) ([]tomcatmgr.App, error) {
	if c.name == "n1" && c.frozen.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return c.Manager.List(ctx)
}

// stallingDeploy blocks n2's deploy until its context ends, as DeltaManager waiting for the
// frozen oldest member's sessions.
type stallingDeploy struct{ clusterNode }

func (s stallingDeploy) Deploy(ctx context.Context, cx tomcatmgr.Context, war string, progress func(int64, int64)) error {
	if err := s.clusterNode.Deploy(ctx, cx, war, progress); err != nil {
		return err
	}
	<-ctx.Done()
	return ctx.Err()
}

func TestDeployBlockedOnFrozenMemberIsAbandoned(t *testing.T) {
	c := deployertest.New(three, "001")
	spec := testSpec(three)
	spec.NoDrain = true
	e := newEngine(t, c, spec)
	var frozen atomic.Bool
	for _, n := range three {
		e.Managers[n] = clusterNode{Manager: e.Managers[n], name: n, frozen: &frozen}
	}
	e.Managers["n2"] = stallingDeploy{e.Managers["n2"].(clusterNode)}
	var at time.Time
	c.OnDeploy = func(node string) {
		if node == "n2" {
			at = time.Now()
			frozen.Store(true)
		}
	}
	err := release(t, e, "002")
	require.ErrorIs(t, err, outcome.ErrNeedsAttention)
	var st *StateTransferError
	require.ErrorAs(t, err, &st)
	assert.Equal(t, "n2", st.Node)
	assert.Equal(t, "127.0.0.1:4001", st.Member)
	assert.True(t, st.Oldest)
	assert.Equal(t, []string{"n1"}, st.Silent)
	assert.Less(t, st.Waited, StateGrace+StateMisses*(StateCheckEvery+SentinelTimeout)+time.Second, "abandoned within the bound, not after stateTransferTimeout")
	t.Logf("abandoned %s after the freeze: %v", time.Since(at).Round(time.Millisecond), err)
	assert.Contains(t, err.Error(), "n1 did not answer: skipped and kept out of rotation; the rollback finished on n2,n3")
	assert.True(t, c.State("n1").Down)
	assert.False(t, c.State("n2").Down)
	assert.False(t, c.State("n3").Down)
	assert.Equal(t, []string{"001"}, c.Versions("n2"))
}

// droppingNode is a clusterNode whose view loses n1 once dropped is set, as the healthy
// nodes' Tribes drop a frozen member after its failed sends (about 5 s on testenv with the
// failure detector's read test).
type droppingNode struct {
	clusterNode
	dropped *atomic.Bool
}

func (d droppingNode) ClusterMembers(ctx context.Context) ([]tomcatmgr.Member, error) {
	ms, err := d.clusterNode.ClusterMembers(ctx)
	if err != nil || !d.dropped.Load() {
		return ms, err
	}
	var out []tomcatmgr.Member
	for _, m := range ms {
		if m != member("n1") {
			out = append(out, m)
		}
	}
	return out, nil
}

// The oldest member freezes as n2's deploy starts and leaves the views of n2 and n3 before the
// first check: no node lists a silent member any more, but n2's new context still waits for the
// state it asked of n1. The deploy is abandoned all the same, naming n1 and that it left.
func TestDeployWaitingForAMemberThatLeftIsAbandoned(t *testing.T) {
	c := deployertest.New(three, "001")
	spec := testSpec(three)
	spec.NoDrain = true
	spec.DeployTimeout = 20 * time.Second
	e := newEngine(t, c, spec)
	var frozen, dropped atomic.Bool
	for _, n := range three {
		e.Managers[n] = droppingNode{clusterNode{Manager: e.Managers[n], name: n, frozen: &frozen}, &dropped}
	}
	e.Managers["n2"] = stallingDeploy{clusterNode{Manager: e.Managers["n2"].(droppingNode).Manager, name: "n2", frozen: &frozen}}
	e.Managers["n2"] = droppingDeploy{stallingDeploy: e.Managers["n2"].(stallingDeploy), dropped: &dropped}
	c.OnDeploy = func(node string) {
		if node == "n2" {
			frozen.Store(true)
			time.AfterFunc(StateGrace/2, func() { dropped.Store(true) })
		}
	}
	err := release(t, e, "002")
	require.ErrorIs(t, err, outcome.ErrNeedsAttention)
	var st *StateTransferError
	require.ErrorAs(t, err, &st)
	assert.Equal(t, "n2", st.Node)
	assert.Equal(t, "127.0.0.1:4001", st.Member)
	assert.True(t, st.Left)
	assert.Equal(t, []string{"n1"}, st.Silent)
	assert.Less(t, st.Waited, StateGrace+StateMisses*(StateCheckEvery+SentinelTimeout)+time.Second, "abandoned within the bound, not at the deploy timeout")
	assert.Contains(t, st.Error(), "left the cluster")
	assert.Equal(t, []string{"001"}, c.Versions("n2"))
}

// droppingDeploy is n2: its deploy stalls, and its view loses n1 once dropped is set.
type droppingDeploy struct {
	stallingDeploy
	dropped *atomic.Bool
}

func (d droppingDeploy) ClusterMembers(ctx context.Context) ([]tomcatmgr.Member, error) {
	return droppingNode{d.clusterNode, d.dropped}.ClusterMembers(ctx)
}
