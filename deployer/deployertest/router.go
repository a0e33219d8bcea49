package deployertest

import (
	"context"
	"fmt"

	"github.com/saitodrom/zdd/lb"
)

// Router is the load balancer; it implements lb.Balancer as lb/nginx does over its hosts
// (deployertest/conformance checks both): a node it does not route to is refused with
// lb.ErrUnknownNode and a weight outside 1..1000 with lb.ErrInvalidState, changing nothing; a
// node taken down with weight 0 keeps its weight; Verify compares with what it routes now.
type Router struct{ c *Cluster }

// minWeight and maxWeight are Nginx's range (lb/nginx MinWeight, MaxWeight).
const minWeight, maxWeight = 1, 1000

// States returns every node's state.
func (r *Router) States(ctx context.Context) (map[string]lb.State, error) {
	var out map[string]lb.State
	err := r.c.call(ctx, States, "", plainTimeout(States, ""), func() error {
		out = map[string]lb.State{}
		for k, v := range r.c.States {
			out[k] = v
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// known refuses a node the load balancer does not route to; c.mu must be held.
func (r *Router) known(op Op, states map[string]lb.State) error {
	for _, n := range lb.SortedNodes(states) {
		if _, ok := r.c.States[n]; !ok {
			return fmt.Errorf("deployertest: %s: %w: node %s is not in the upstreams", op, lb.ErrUnknownNode, n)
		}
	}
	return nil
}

// Apply sets the states in one change and records "route in:[..] out:[..]".
func (r *Router) Apply(ctx context.Context, states map[string]lb.State) error {
	return r.c.call(ctx, Apply, "", plainTimeout(Apply, ""), func() error {
		if err := r.known(Apply, states); err != nil {
			return err
		}
		if err := lb.CheckStates(states, minWeight, maxWeight); err != nil {
			return fmt.Errorf("deployertest: apply: %w", err)
		}
		var in, out []string
		for _, n := range lb.SortedNodes(states) {
			s := states[n]
			if s.Weight == 0 {
				s.Weight = r.c.States[n].Weight
			}
			if !s.Down {
				s.Backup = false
			}
			r.c.States[n] = s
			if s.Down {
				out = append(out, n)
			} else {
				in = append(in, n)
			}
		}
		r.c.record("route in:%v out:%v", in, out)
		return nil
	})
}

// Verify checks that the load balancer routes the given nodes as asked (a weight of 0 is not
// compared), lb.ErrNotLive naming the first that differs.
func (r *Router) Verify(ctx context.Context, states map[string]lb.State) error {
	return r.c.call(ctx, Verify, "", plainTimeout(Verify, ""), func() error {
		if err := r.known(Verify, states); err != nil {
			return err
		}
		for _, n := range lb.SortedNodes(states) {
			want, got := states[n], r.c.States[n]
			if got.Down != want.Down || got.Backup != want.Backup || (want.Weight != 0 && got.Weight != want.Weight) {
				return fmt.Errorf("deployertest: verify: %w: node %s is %v, want %v", lb.ErrNotLive, n, got, want)
			}
		}
		return nil
	})
}

// WeightRange is Nginx's.
func (r *Router) WeightRange() (int, int) { return minWeight, maxWeight }
