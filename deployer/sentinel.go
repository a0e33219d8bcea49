package deployer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/saitodrom/zdd/internal/fanout"
	"github.com/saitodrom/zdd/lb"
)

// refused tells a connection refused or reset (a dead port answers at once) from a timeout.
func refused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// The sentinel's bound: it asks each node in rotation for its health page every
// SentinelInterval, each request bounded by SentinelTimeout, and declares a node down after
// SentinelMisses misses in a row (a refused connection, a reset, no answer in time). A node
// that dies is therefore noticed within about SentinelMisses*SentinelInterval (a dead port
// refuses at once) and one that freezes within SentinelMisses*(SentinelInterval+SentinelTimeout).
const (
	SentinelInterval = 500 * time.Millisecond
	SentinelTimeout  = 1500 * time.Millisecond
	SentinelMisses   = 2
)

// NodeDownError is a node in rotation that stopped answering during a release: the engine
// cancels the current step and rolls back without it (exit 4, naming the node).
type NodeDownError struct {
	// Node is the node that stopped answering.
	Node string
	// Err is the last failed request.
	Err error
}

// Error implements error.
func (e *NodeDownError) Error() string {
	return fmt.Sprintf("node %s in rotation stopped answering: %v", e.Node, e.Err)
}

// Unwrap returns the last failed request.
func (e *NodeDownError) Unwrap() error { return e.Err }

// sentinel watches the nodes in rotation while a release or its rollback runs. Any answer,
// whatever its status, counts as alive: only a failed or unanswered request is a miss (a node
// without the application answers 404, and a failing page is the gates' business). It asks
// every node each round, so that a round where no node answers in time (zdd's own machine
// starved, its network down) is not taken for a dead node.
type sentinel struct {
	e      *Engine
	cancel context.CancelCauseFunc
	mu     sync.Mutex
	in     []string // nodes in rotation, as the last routing change left them
	dead   map[string]error
	fired  bool
	// deployed are the nodes this run called Deploy on.
	deployed map[string]bool
	// states is every node's routing as the load balancers reported it when the run started,
	// updated by each routing change the run applied; nil when unknown (see liveStates).
	states map[string]lb.State
	// ready is closed once the first read of the load balancers' states answered or gave up:
	// until then neither the watch nor a routing change uses in or states.
	ready chan struct{}
	wg    sync.WaitGroup
}

// waitReady returns once the sentinel's first read of the states ended.
func (s *sentinel) waitReady() { <-s.ready }

// startSentinel watches the nodes in rotation now (as the load balancer reports them, every
// node when it cannot tell) until the returned stop is called. The first node that goes down
// cancels ctx with a *NodeDownError as its cause. The states are read in the background (an
// SSH round trip, 1-4 s under load, that the first step need not wait for: a hard rollback's
// stop runs meanwhile); the watch and the first routing change wait for that read.
func (e *Engine) startSentinel(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	s := &sentinel{e: e, cancel: cancel, dead: map[string]error{}, deployed: map[string]bool{}, in: e.Spec.NodeNames(),
		ready: make(chan struct{})}
	watchCtx, stopWatch := context.WithCancel(context.WithoutCancel(ctx))
	s.wg.Add(1)
	go func() {
		sctx, cancelStates := context.WithTimeout(watchCtx, 5*time.Second)
		states, err := e.Router.States(sctx)
		cancelStates()
		if err == nil {
			s.mu.Lock()
			s.in = inRotation(e.Spec.NodeNames(), states)
			s.states = states
			s.mu.Unlock()
		}
		close(s.ready)
		s.loop(watchCtx) // calls s.wg.Done
	}()
	e.sentinel = s
	return ctx, func() {
		stopWatch()
		s.wg.Wait()
		cancel(nil)
		e.sentinel = nil
	}
}

// inRotation returns the nodes of order that states has in rotation.
func inRotation(order []string, states map[string]lb.State) []string {
	var out []string
	for _, n := range order {
		if st, ok := states[n]; ok && !st.Down {
			out = append(out, n)
		}
	}
	return out
}

// routed records the nodes in rotation after a routing change applied states.
func (e *Engine) routed(states map[string]lb.State) {
	s := e.sentinel
	if s == nil {
		return
	}
	s.waitReady()
	s.mu.Lock()
	defer s.mu.Unlock()
	in := map[string]bool{}
	for _, n := range s.in {
		in[n] = true
	}
	for n, st := range states {
		in[n] = !st.Down
		if s.states != nil {
			s.states[n] = st
		}
	}
	s.in = nil
	for _, n := range e.Spec.NodeNames() {
		if in[n] {
			s.in = append(s.in, n)
		}
	}
}

// unreachable returns the nodes the sentinel found down, in configuration order.
func (e *Engine) unreachable() []string {
	s := e.sentinel
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, n := range e.Spec.NodeNames() {
		if _, ok := s.dead[n]; ok {
			out = append(out, n)
		}
	}
	return out
}

func (s *sentinel) loop(ctx context.Context) {
	defer s.wg.Done()
	misses := map[string]int{}
	t := time.NewTicker(SentinelInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		watched := slices.Clone(s.in)
		var all []string
		for _, n := range s.e.Spec.NodeNames() {
			if _, dead := s.dead[n]; !dead {
				all = append(all, n)
			}
		}
		s.mu.Unlock()
		errs := s.poll(ctx, all)
		// A node that answered tells an unanswered request from a starved machine (where
		// every request times out): a timeout counts as a miss only when another node
		// answered in the same round. A refused connection always counts.
		answered := len(errs) < len(all)
		for _, n := range watched {
			err, failed := errs[n]
			if !failed || (!answered && !refused(err)) {
				misses[n] = 0
				continue
			}
			misses[n]++
			if misses[n] >= SentinelMisses && ctx.Err() == nil {
				s.down(n, err)
			}
		}
	}
}

// poll asks every node for its health page at once and returns the failures.
func (s *sentinel) poll(ctx context.Context, nodes []string) map[string]error {
	_, errs := fanout.Each(nodes, func(n string) (struct{}, error) {
		pctx, cancel := context.WithTimeout(ctx, SentinelTimeout)
		defer cancel()
		url := strings.TrimRight(s.e.node(n).URL, "/") + "/" + s.e.Spec.App + s.e.Spec.HealthPath
		_, err := s.e.Prober.Health(pctx, url)
		return struct{}{}, err
	})
	out := map[string]error{}
	for i, n := range nodes {
		if errs[i] != nil {
			out[n] = errs[i]
		}
	}
	return out
}

// down records n as down; the first one cancels the release.
func (s *sentinel) down(n string, err error) {
	s.mu.Lock()
	if _, ok := s.dead[n]; ok {
		s.mu.Unlock()
		return
	}
	s.dead[n] = err
	s.in = slices.DeleteFunc(s.in, func(x string) bool { return x == n })
	first := !s.fired
	s.fired = true
	s.mu.Unlock()
	s.e.emit(Event{Type: EventWarning, Node: n, Message: fmt.Sprintf("%s in rotation stopped answering its health page (%d misses): %v", n, SentinelMisses, err)})
	if first {
		s.cancel(&NodeDownError{Node: n, Err: err})
	}
}

// markUnreachable records n as unreachable for the rest of the run, without cancelling it.
func (e *Engine) markUnreachable(n string, err error) {
	s := e.sentinel
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.dead[n]; !ok {
		s.dead[n] = err
		s.in = slices.DeleteFunc(s.in, func(x string) bool { return x == n })
	}
}
