package nginx

import "github.com/saitodrom/zdd/internal/fanout"

// onEach calls f for every item at once (fanout.Each) and returns the results in the items'
// order, with the index and error of the first item (in that order) whose call failed, or -1
// and nil.
func onEach[I, R any](items []I, f func(I) (R, error)) ([]R, int, error) {
	out, errs := fanout.Each(items, f)
	i, err := fanout.First(errs)
	return out, i, err
}
