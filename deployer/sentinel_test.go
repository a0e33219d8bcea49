package deployer

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/deployertest"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// deadNode is a node that dies: once dead is set its health page and Manager refuse
// connections, as a killed Tomcat's port does.
type deadNode struct {
	Manager
	dead *atomic.Bool
}

var errRefused = &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}

func (d deadNode) List(ctx context.Context) ([]tomcatmgr.App, error) {
	if d.dead.Load() {
		return nil, fmt.Errorf("list: %w", errRefused)
	}
	return d.Manager.List(ctx)
}

type dyingProber struct {
	Prober
	node string
	dead *atomic.Bool
}

func (p dyingProber) Health(ctx context.Context, url string) (int, error) {
	if p.dead.Load() && url == "http://"+p.node+"/app/health.jsp" {
		return 0, fmt.Errorf("GET %s: %w", url, errRefused)
	}
	return p.Prober.Health(ctx, url)
}

// The only node in rotation dies while the canary's deploy hangs: the sentinel cancels the
// deploy within its bound, the rollback routes n1,n2 back without n3 and exits 4 naming it.
func TestNodeInRotationDiesDuringDeploy(t *testing.T) {
	c := deployertest.New(three, "001")
	spec := testSpec(three)
	spec.NoDrain, spec.Fallback = true, true
	e := newEngine(t, c, spec)
	var dead atomic.Bool
	e.Managers["n3"] = deadNode{Manager: e.Managers["n3"], dead: &dead}
	e.Prober = dyingProber{Prober: e.Prober, node: "n3", dead: &dead}
	c.OnDeploy = func(node string) {
		if node == "n1" && !dead.Load() {
			dead.Store(true)
		}
	}
	hang := &hangingDeploy{Manager: e.Managers["n1"]}
	e.Managers["n1"] = hang
	err := release(t, e, "002")
	require.ErrorIs(t, err, outcome.ErrNeedsAttention)
	assert.Equal(t, 4, outcome.Code(err))
	var down *NodeDownError
	require.ErrorAs(t, err, &down)
	assert.Equal(t, "n3", down.Node)
	assert.Contains(t, err.Error(), "n3 did not answer: skipped and kept out of rotation; the rollback finished on n1,n2")
	assert.Less(t, hang.waited, SentinelMisses*SentinelInterval+time.Second, "the deploy is cancelled, not waited out")
	t.Logf("deploy cancelled %s after n3 died", hang.waited)
	// n1 and n2 are backup servers serving n3's requests: 002 comes off n1 first (n2 never got
	// a deploy call), so that they serve 001 only, then both go back in rotation.
	assert.Equal(t, []string{"route in:[n3] out:[n1 n2]", "deploy n1 002", "undeploy n1 002",
		"route in:[n1 n2] out:[n3]"}, c.Changes())
	assert.False(t, c.State("n1").Down)
	assert.False(t, c.State("n2").Down)
	assert.True(t, c.State("n3").Down)
	assert.False(t, c.State("n3").Backup, "a dead node is written down, not backup")
	assert.Equal(t, []string{"001"}, c.Versions("n1"))

}

// hangingDeploy blocks Deploy until its context ends, as a deploy waiting for a state transfer.
type hangingDeploy struct {
	Manager
	waited time.Duration
}

func (h *hangingDeploy) Deploy(ctx context.Context, cx tomcatmgr.Context, war string, progress func(int64, int64)) error {
	t0 := time.Now()
	err := h.Manager.Deploy(ctx, cx, war, progress)
	if err != nil {
		return err
	}
	<-ctx.Done()
	h.waited = time.Since(t0)
	return ctx.Err()
}

// With Fallback the nodes out of rotation are backup servers while they get the new version.
func TestFallbackWritesBackupOutOfRotation(t *testing.T) {
	c := deployertest.New(three, "001")
	spec := testSpec(three)
	spec.NoDrain, spec.Fallback = true, true
	e := newEngine(t, c, spec)
	seen := map[string]lb.State{}
	c.OnDeploy = func(node string) { seen[node] = c.State(node) }
	require.NoError(t, release(t, e, "002"))
	for _, n := range three {
		assert.Equal(t, lb.State{Weight: 1, Down: true, Backup: true}, seen[n], "%s during its deploy", n)
		assert.Equal(t, lb.State{Weight: 1}, c.State(n), "%s back in rotation", n)
	}
}
