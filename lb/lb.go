// Package lb is the seam between a release and the load balancers that route
// traffic to Tomcat nodes.
//
// # Contract
//
// The release engine (package deployer) calls a Balancer; `zdd status` only
// reads it (States, and per-host reads where the implementation has them).
// The engine calls:
//
//   - [Balancer.States] at preflight, to check that every configured node is
//     known (it changes nothing); when a run starts, to learn which nodes are
//     in rotation for the node-down sentinel (an error: it watches every
//     node); and at every route step, before Apply, for the readmission gate
//     to find the nodes that go back in (an error: every node of the step is
//     gated).
//   - [Balancer.Apply] at each route step of a plan (a release, its rollback,
//     `zdd abort`, `zdd resume`) with the nodes it puts in rotation (their
//     configured weights) and the nodes it takes out (Down) - one change of
//     the configuration, one reload per load-balancer host, so a batch leaves
//     and re-enters rotation together. A node the readmission gate keeps out
//     is sent Down instead. With strategy fallback the nodes taken out are
//     sent as Backup; an implementation that refuses that with
//     [ErrInvalidState] gets the same step again at once without Backup (the
//     only case of two Apply calls for one step).
//   - [Balancer.Verify] right after a successful Apply, with the states
//     applied, to confirm that what the load balancers run matches.
//
// A rollback runs its own route steps on a fresh context after a failed step
// or Ctrl-C; it does not replay remembered states. deployertest's Router is
// the in-memory implementation of this contract; the cases of
// deployer/deployertest/conformance.Balancer hold for it and for lb/nginx.
//
// Apply and Verify must converge: applying states that a host already runs is
// a no-op, and applying them again after a failed or reverted change brings
// every host to them (an implementation that cannot tell what a host runs
// reloads it), so that `zdd abort` and `zdd resume`, run twice, end in the
// same state and the second run changes nothing.
//
// Nodes are named the way the implementation's configuration knows them (for
// Nginx the server address written in the upstream file, e.g. 127.0.0.1:18081,
// or a name mapped to it by the implementation's options).
//
// # Errors
//
//   - [ErrUnknownNode]: a node is not known to the load balancer; nothing was
//     changed. Fix the configuration (node names/addresses).
//   - [ErrInvalidState]: a weight outside the implementation's range (see
//     [Balancer.WeightRange]); nothing was changed.
//   - *[RolledBackError]: the change failed on some host and every host was put
//     back to its previous configuration. Traffic flows as before the call;
//     the release may retry or stop.
//   - *[RollbackFailedError]: the change failed AND putting some host back
//     failed too. The load balancers may disagree with each other: a human
//     must look (the error names the host and the step).
//   - [ErrNotLive]: Verify found that what is live differs from what was
//     asked, or cannot prove that a host runs it (for Nginx: the file was
//     written after the last reload). Apply with the same states fixes that.
//   - any other error (context cancelled, connection refused before anything
//     was written) means nothing was changed.
package lb

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// State is the desired or observed routing state of one node.
type State struct {
	// Weight is the node's share of new traffic relative to the other nodes.
	// It must lie inside the implementation's WeightRange, except that 0
	// with Down set means "take it down, leave its weight as it is". The
	// weight is kept (and ignored by the load balancer) while Down is true.
	Weight int
	// Down takes the node out of rotation: it gets no new traffic.
	Down bool
	// Backup, with Down, keeps the node as a fallback: the load balancer sends it requests
	// only when every node in rotation fails (Nginx: the backup parameter instead of down).
	// An implementation that cannot express it refuses it with ErrInvalidState (Nginx takes it
	// in round-robin and in sticky upstreams, where a block uses its backups only when one
	// node, or none, of it is left in rotation).
	Backup bool
}

// String renders the state as "weight=3" or "weight=3 down".
func (s State) String() string {
	if s.Down && s.Backup {
		return fmt.Sprintf("weight=%d backup", s.Weight)
	}
	if s.Down {
		return fmt.Sprintf("weight=%d down", s.Weight)
	}
	return fmt.Sprintf("weight=%d", s.Weight)
}

// Balancer is a load balancer (possibly several hosts that must agree, such as
// an HA pair) that routes requests to Tomcat nodes. Implementations are safe
// for use by one caller at a time.
type Balancer interface {
	// States returns the current state of every node the load balancer
	// knows, keyed by node. It changes nothing.
	States(ctx context.Context) (map[string]State, error)
	// Apply sets the given nodes to the given states in ONE change on every
	// host: either every host ends up with all of them or every host is put
	// back as it was (see the package documentation for the errors). Nodes
	// not in the map keep their state. An empty map, or states every host
	// already runs, is a no-op.
	Apply(ctx context.Context, states map[string]State) error
	// Verify checks that the given states are what every host runs now
	// (nodes not in the map are not checked). It returns nil when they are,
	// an error wrapping ErrNotLive when they are not or not provably so, and
	// another error when it cannot read a host.
	Verify(ctx context.Context, states map[string]State) error
	// WeightRange is the inclusive range of weights Apply accepts.
	WeightRange() (min, max int)
}

var (
	// ErrUnknownNode means a node given to Apply or Verify is not configured
	// on the load balancer. Nothing was changed.
	ErrUnknownNode = errors.New("unknown node")
	// ErrInvalidState means a state cannot be expressed by the load balancer
	// (weight out of range). Nothing was changed.
	ErrInvalidState = errors.New("invalid state")
	// ErrNotLive means Verify found a difference between the asked and the
	// live state.
	ErrNotLive = errors.New("state not live")
)

// RolledBackError reports a change that failed on Host during Step; every
// host was put back to its previous configuration.
type RolledBackError struct {
	Host string
	Step string
	Err  error
}

// Error implements error.
func (e *RolledBackError) Error() string {
	return fmt.Sprintf("%s on %s: %v (every host was put back to its previous configuration)", e.Step, e.Host, e.Err)
}

// Unwrap returns the cause.
func (e *RolledBackError) Unwrap() error { return e.Err }

// RollbackFailedError reports a change that failed (Err) and a rollback that
// failed too on at least one host (Rollback). The hosts may now disagree.
type RollbackFailedError struct {
	Err      error
	Rollback []error
}

// Error implements error.
func (e *RollbackFailedError) Error() string {
	msgs := make([]string, len(e.Rollback))
	for i, r := range e.Rollback {
		msgs[i] = r.Error()
	}
	return fmt.Sprintf("%v; rollback FAILED: %s (hint: check every load balancer by hand; hosts may disagree)",
		e.Err, strings.Join(msgs, "; "))
}

// Unwrap returns the original cause and the rollback failures.
func (e *RollbackFailedError) Unwrap() []error { return append([]error{e.Err}, e.Rollback...) }

// CheckStates validates every state against [min,max]; the error wraps
// ErrInvalidState and names the first bad node (in sorted order).
func CheckStates(states map[string]State, min, max int) error {
	for _, n := range SortedNodes(states) {
		s := states[n]
		if s.Down && s.Weight == 0 {
			continue
		}
		if s.Weight < min || s.Weight > max {
			return fmt.Errorf("%w: node %s: weight %d outside %d..%d", ErrInvalidState, n, s.Weight, min, max)
		}
	}
	return nil
}

// SortedNodes returns the keys of states in sorted order.
func SortedNodes[V any](states map[string]V) []string {
	out := make([]string, 0, len(states))
	for n := range states {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
