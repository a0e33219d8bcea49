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
)

// frozenProber is a node whose health page, once frozen is set, never answers (a SIGSTOPped
// JVM accepts the connection and answers nothing): each request ends at its deadline.
type frozenProber struct {
	Prober
	node   string
	frozen *atomic.Bool
}

func (p frozenProber) Health(ctx context.Context, url string) (int, error) {
	if p.frozen.Load() && url == "http://"+p.node+"/app/health.jsp" {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	return p.Prober.Health(ctx, url)
}

// A canary node in rotation freezes during the canary's pause while the other answers: the
// sentinel counts its timeouts (another node answered), and the rollback's first routing
// change takes only the frozen node out, with no node going in (so no gate runs before it).
func TestFrozenNodeInRotationIsTakenOutFirst(t *testing.T) {
	c := deployertest.New(three, "001")
	spec := testSpec(three)
	spec.NoDrain, spec.Fallback, spec.Pause = true, true, time.Minute
	e := newEngine(t, c, spec)
	var frozen atomic.Bool
	e.Prober = frozenProber{Prober: e.Prober, node: "n1", frozen: &frozen}
	var frozenAt time.Time
	e.Sink = SinkFunc(func(ev Event) {
		if ev.Type == EventStepStarted && ev.Kind == "pause" {
			frozenAt = time.Now()
			frozen.Store(true)
		}
	})
	err := release(t, e, "002")
	took := time.Since(frozenAt)
	require.ErrorIs(t, err, outcome.ErrNeedsAttention)
	var down *NodeDownError
	require.ErrorAs(t, err, &down)
	assert.Equal(t, "n1", down.Node)
	assert.Less(t, took, SentinelMisses*(SentinelInterval+SentinelTimeout)+2*time.Second, "noticed within the sentinel's bound")
	assert.Equal(t, []string{"route in:[n3] out:[n1 n2]", "deploy n1 002", "deploy n2 002", "route in:[n1 n2] out:[n3]",
		"route in:[] out:[n1]", // the frozen node out at once
		"route in:[n3] out:[n1 n2]", "undeploy n2 002", "route in:[n2 n3] out:[n1]"}, c.Changes())
	assert.True(t, c.State("n1").Down)
	assert.False(t, c.State("n1").Backup, "a node found down is written down, not backup")
	assert.Equal(t, []string{"001", "002"}, c.Versions("n1"), "the frozen node is skipped (it may still have 002)")
}
