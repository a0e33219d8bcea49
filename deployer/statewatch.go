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
// is checked every StateCheckEvery; it is abandoned once, StateMisses checks in a row (a check
// that cannot tell counts for neither side), a member the node sees has answered for none of
// the other nodes, or the node's oldest member when the deploy started has left its view
// (Tribes drops an unresponsive member within seconds, but the new context still waits for
// the state it asked of it). DeltaManager asks the oldest
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
	// Left tells that Member, the oldest member when the deploy started (the one DeltaManager
	// asked for state), has since left Node's view: Tribes dropped it as unresponsive, but the
	// new context still waits for its answer.
	Left bool
}

// Error implements error.
func (e *StateTransferError) Error() string {
	who := "a cluster member"
	if e.Oldest {
		who = "its oldest cluster member"
	}
	silent := "no node claims it"
	if len(e.Silent) > 0 {
		silent = strings.Join(e.Silent, ",") + " does not answer"
	}
	if e.Left {
		silent = "it has left the cluster since the deploy started; " + silent
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
		asked := oldestMember(ctx, viewer)
		misses := 0
		t := time.NewTimer(StateGrace - time.Since(start))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			switch st, known := e.silentMember(ctx, node, viewer, asked); {
			case st != nil:
				misses++
				if misses >= StateMisses {
					st.Context, st.Waited = cx.Name(), time.Since(start)
					e.emit(Event{Type: EventWarning, Kind: "deploy", Node: node, Message: st.Error()})
					cancel(st)
					return
				}
			case known:
				misses = 0 // every member accounted for; a read that failed leaves the count
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

// oldestMember returns the address of the oldest member viewer's node sees now, "" when it
// cannot tell: as a deploy starts, the member its new context's DeltaManager will ask for state.
func oldestMember(ctx context.Context, viewer ClusterViewer) string {
	vctx, cancel := context.WithTimeout(ctx, SentinelTimeout)
	defer cancel()
	members, err := viewer.ClusterMembers(vctx)
	if err != nil || len(members) == 0 {
		return ""
	}
	return members[0].Addr()
}

// silentMember returns the member the deploy to node waits for in vain, or nil: asked (the
// oldest member when the deploy started, "" if unknown) when node no longer lists it, else the
// first member node sees that no other node answers for. A member belongs to an answering node
// when that node's own view lacks it (a node never lists itself). known is false when it could
// not tell (a read failed or timed out: a node stalled on replication answers late).
func (e *Engine) silentMember(ctx context.Context, node string, viewer ClusterViewer, asked string) (st *StateTransferError, known bool) {
	vctx, cancel := context.WithTimeout(ctx, SentinelTimeout)
	defer cancel()
	members, err := viewer.ClusterMembers(vctx)
	if err != nil {
		return nil, false
	}
	var others []string
	for _, n := range e.Spec.NodeNames() {
		if n != node {
			others = append(others, n)
		}
	}
	views, silent, ok := e.memberViews(ctx, others)
	if !ok || ctx.Err() != nil {
		return nil, false
	}
	if asked != "" && !slices.ContainsFunc(members, func(m tomcatmgr.Member) bool { return m.Addr() == asked }) {
		return &StateTransferError{Node: node, Member: asked, Silent: silent, Oldest: true, Left: true}, true
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
			return &StateTransferError{Node: node, Member: m.Addr(), Silent: silent, Oldest: i == 0}, true
		}
	}
	return nil, true
}

// stalled returns the *StateTransferError that cancelled ctx, or nil.
func stalled(ctx context.Context) *StateTransferError {
	var st *StateTransferError
	if errors.As(context.Cause(ctx), &st) {
		return st
	}
	return nil
}
