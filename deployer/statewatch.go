package deployer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/saitodrom/zdd/tomcatmgr"
)

// ClusterViewer reads the cluster membership a node sees; *tomcatmgr.Client implements it
// (JMX attribute Members of the Tribes channel). The engine calls it, when the node's Manager
// implements it, while a deploy to that node runs, to tell a deploy blocked on a dead member's
// state transfer from a slow one. An error means "cannot tell" and is never fatal.
type ClusterViewer interface {
	// ClusterMembers returns the other members the node's cluster channel sees, oldest first.
	ClusterMembers(ctx context.Context) ([]tomcatmgr.Member, error)
}

// The state-transfer watch: a deploy that has run StateGrace (a deploy takes about a second)
// is checked every StateCheckEvery; it is abandoned once a member the node sees has answered
// for none of the other nodes StateMisses checks in a row. DeltaManager asks the oldest
// member for the sessions when the new context starts and waits stateTransferTimeout (60 s by
// default) for a member that is dead or frozen; synchronous replication to it stalls as well.
const (
	StateGrace      = 2 * time.Second
	StateCheckEvery = time.Second
	StateMisses     = 2
)

// StateTransferError is a deploy abandoned because the node waits for a cluster member that
// does not answer.
type StateTransferError struct {
	// Node is the node the deploy went to; Context the version deployed.
	Node    string
	Context string
	// Member is the silent member's receiver address as Node sees it; Silent are the nodes
	// that did not answer (one of them is that member).
	Member string
	Silent []string
	// Oldest tells whether Member is the oldest member, the one DeltaManager asks for state.
	Oldest bool
	// Waited is how long the deploy had run.
	Waited time.Duration
}

func (e *StateTransferError) Error() string {
	who := "a cluster member"
	if e.Oldest {
		who = "its oldest cluster member"
	}
	silent := "no node claims it"
	if len(e.Silent) > 0 {
		silent = strings.Join(e.Silent, ",") + " does not answer"
	}
	return fmt.Sprintf("deploy of %s on %s abandoned after %s: it waits for %s %s (%s), which would block it for stateTransferTimeout (60 s by default)",
		e.Context, e.Node, e.Waited.Round(100*time.Millisecond), who, e.Member, silent)
}

// watchStateTransfer returns a context for the deploy of cx to node that is cancelled with a
// *StateTransferError when the deploy waits for a silent member; stop ends the watch.
func (e *Engine) watchStateTransfer(ctx context.Context, node string, cx tomcatmgr.Context) (context.Context, func()) {
	viewer, ok := e.Managers[node].(ClusterViewer)
	if !ok || len(e.Spec.Nodes) < 2 {
		return ctx, func() {}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		misses := 0
		t := time.NewTimer(StateGrace)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if st := e.silentMember(ctx, node, viewer); st != nil {
				misses++
				if misses >= StateMisses {
					st.Context, st.Waited = cx.Name(), time.Since(start)
					e.emit(Event{Type: EventWarning, Kind: "deploy", Node: node, Message: st.Error()})
					cancel(st)
					return
				}
			} else {
				misses = 0
			}
			t.Reset(StateCheckEvery)
		}
	}()
	return ctx, func() {
		close(done)
		wg.Wait()
		cancel(nil)
	}
}

// silentMember returns the first member node sees that no other node answers for, or nil
// when every member is accounted for (or it cannot tell). A member belongs to an answering
// node when that node's own view lacks it (a node never lists itself).
func (e *Engine) silentMember(ctx context.Context, node string, viewer ClusterViewer) *StateTransferError {
	vctx, cancel := context.WithTimeout(ctx, SentinelTimeout)
	defer cancel()
	members, err := viewer.ClusterMembers(vctx)
	if err != nil || len(members) == 0 {
		return nil
	}
	var others []string
	for _, n := range e.Spec.NodeNames() {
		if n != node {
			others = append(others, n)
		}
	}
	views, silent, ok := e.memberViews(ctx, others)
	if !ok {
		return nil
	}
	if ctx.Err() != nil {
		return nil
	}
	for i, m := range members {
		claimed := false
		for _, ms := range views {
			if !slices.ContainsFunc(ms, func(x tomcatmgr.Member) bool { return x.Addr() == m.Addr() }) {
				claimed = true
				break
			}
		}
		if !claimed {
			return &StateTransferError{Node: node, Member: m.Addr(), Silent: silent, Oldest: i == 0}
		}
	}
	return nil
}

// stalled returns the *StateTransferError that cancelled ctx, or nil.
func stalled(ctx context.Context) *StateTransferError {
	var st *StateTransferError
	if errors.As(context.Cause(ctx), &st) {
		return st
	}
	return nil
}
