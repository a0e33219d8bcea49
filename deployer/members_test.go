package deployer

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/deployertest"
	"github.com/saitodrom/zdd/deployer/state"
)

func TestMemberAgeReadsTheOrderFromTheNodesViews(t *testing.T) {
	for _, members := range [][]string{{"n1", "n2", "n3"}, {"n3", "n1", "n2"}, {"n2", "n3", "n1"}} {
		c := deployertest.New(three, "001")
		c.Members = members
		e := newEngine(t, c, testSpec(three))
		assert.Equal(t, members, e.MemberAge(context.Background()))
	}
	c := deployertest.New(three, "001")
	assert.Nil(t, newEngine(t, c, testSpec(three)).MemberAge(context.Background()), "membership unreadable: cannot tell")
	two := []string{"n1", "n2"}
	c = deployertest.New(two, "001")
	c.Members = two
	assert.Nil(t, newEngine(t, c, testSpec(two)).MemberAge(context.Background()), "two views hold no order")
}

// The oldest two members are canary nodes: deploying 003 to the rest first would start it on
// n1 and n2 without the sessions the rest already holds (n1 asks n2, which lacks 003).
func TestRollbackPausedWhenTheOldestMembersAreCanaryNodes(t *testing.T) {
	c, e, opts := paused(t, false)
	c.Members = []string{"n1", "n2", "n3"}
	opts.NoDrain = true
	before := len(c.Changes())
	p, err := e.PlanRollback(context.Background(), opts)
	require.NoError(t, err)
	require.NoError(t, e.Rollback(context.Background(), p), p.Render())
	assert.Equal(t, []string{
		"deploy n3 002",
		"route in:[n3] out:[n1 n2]",
		"deploy n1 003", "deploy n2 003",
		"route in:[n1 n2] out:[n3]",
		"deploy n3 003",
		"route in:[n1 n2 n3] out:[]",
	}, c.Changes()[before:])
	rel, err := e.Journal.Current()
	require.NoError(t, err)
	assert.Equal(t, state.StatusDone, rel.Status)
	assert.Zero(t, rel.LostSessions)
}
