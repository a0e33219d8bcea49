package deployer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/deployertest"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// busyOnce is a Manager whose first Undeploy finds the context still being installed
// (ErrBusy) and, meanwhile, new users get sessions there, as on a backup server whose
// cancelled deploy finishes while zdd waits to undeploy it.
type busyOnce struct {
	*deployertest.Manager
	c     *deployertest.Cluster
	node  string
	calls int
	// during are the session ids created while the first Undeploy runs.
	during []string
}

func (b *busyOnce) Undeploy(ctx context.Context, cx tomcatmgr.Context) error {
	b.calls++
	if b.calls == 1 {
		for _, id := range b.during {
			b.c.SetSession(cx.Version, id, time.Now(), b.node)
		}
		return &tomcatmgr.Error{Op: "undeploy", Node: b.node, Kind: tomcatmgr.ErrBusy, Message: "is already being serviced"}
	}
	return b.Manager.Undeploy(ctx, cx)
}

func TestUndeployCountsSessionsCreatedWhileItWaits(t *testing.T) {
	c := deployertest.New(three, "001", "002")
	e := newEngine(t, c, testSpec(three))
	c.SetSession("002", "A.n1", time.Now(), "n1", "n2")
	b := &busyOnce{Manager: c.Manager("n1"), c: c, node: "n1", during: []string{"W1.n1", "W2.n1", "W3.n1"}}
	e.Managers["n1"] = b
	rel := &state.Release{}
	require.NoError(t, e.undeploy(context.Background(), 1, &plan.UndeployStep{Versions: []string{"002"}, Nodes: []string{"n1"}}, rel))
	assert.Equal(t, 2, b.calls, "the busy undeploy is tried again")
	assert.Equal(t, 4, rel.LostSessions, "the session before and the 3 created while the undeploy waited")
	assert.Equal(t, []string{"001"}, c.Versions("n1"))

	// n2 holds the replica of A and a session of its own: A ended with n1 already.
	c.SetSession("002", "B.n2", time.Now(), "n2")
	require.NoError(t, e.undeploy(context.Background(), 2, &plan.UndeployStep{Versions: []string{"002"}, Nodes: []string{"n2", "n3"}}, rel))
	assert.Equal(t, 5, rel.LostSessions, "a session replicated on several nodes counts once")
}

func TestUndeployCountsEachSessionOnceAcrossNodes(t *testing.T) {
	c := deployertest.New(three, "001", "002")
	e := newEngine(t, c, testSpec(three))
	for _, id := range []string{"A.n1", "B.n2", "C.n1"} {
		c.SetSession("002", id, time.Now(), three...)
	}
	rel := &state.Release{}
	require.NoError(t, e.undeploy(context.Background(), 1, &plan.UndeployStep{Versions: []string{"002"}, Nodes: three}, rel))
	assert.Equal(t, 3, rel.LostSessions)
}

// noJMX is a Manager whose session ids cannot be read (a Manager user without manager-jmx).
type noJMX struct{ *deployertest.Manager }

func (noJMX) SessionIDs(context.Context, tomcatmgr.Context) ([]string, error) {
	return nil, &tomcatmgr.Error{Op: "jmx invoke listSessionIds", Kind: tomcatmgr.ErrForbidden, Err: errors.New("403")}
}

func TestUndeployCountFallsBackToListWithoutIDs(t *testing.T) {
	c := deployertest.New(three, "001", "002")
	e := newEngine(t, c, testSpec(three))
	for _, n := range three {
		c.SetSessions(n, "002", 7)
		e.Managers[n] = noJMX{c.Manager(n)}
	}
	rel := &state.Release{}
	require.NoError(t, e.undeploy(context.Background(), 1, &plan.UndeployStep{Versions: []string{"002"}, Nodes: three}, rel))
	assert.Equal(t, 7, rel.LostSessions, "the largest session count of any node, before the step")
}
