// Package fanout calls a function for every item of a list at once: one call per node or
// load-balancer host, where each call is a network round trip (under load 1-4 s on a 2-core
// machine) and the calls are independent. It is the one fan-out of the engine and the
// adapters; it imports nothing of zdd.
package fanout

import "golang.org/x/sync/errgroup"

// Each calls f for every item at once and returns, in the items' order, each result and each
// error. It returns once every call has returned; a failed call does not cancel the others.
func Each[I, R any](items []I, f func(I) (R, error)) ([]R, []error) {
	return EachLimit(items, 0, f)
}

// EachLimit is Each with at most limit calls running at the same time (no limit when limit
// is zero or less), for fan-outs over many items (session ids) rather than a few hosts.
func EachLimit[I, R any](items []I, limit int, f func(I) (R, error)) ([]R, []error) {
	out := make([]R, len(items))
	errs := make([]error, len(items))
	var g errgroup.Group
	if limit > 0 {
		g.SetLimit(limit)
	}
	for i, it := range items {
		g.Go(func() error {
			out[i], errs[i] = f(it)
			return nil
		})
	}
	_ = g.Wait()
	return out, errs
}

// First returns the index and error of the first non-nil error of errs, or -1 and nil.
func First(errs []error) (int, error) {
	for i, err := range errs {
		if err != nil {
			return i, err
		}
	}
	return -1, nil
}
