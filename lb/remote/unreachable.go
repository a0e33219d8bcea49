package remote

import (
	"context"
	"fmt"
)

// Unreachable is a Runner for a host that could not be reached (dial refused, host key
// unknown or changed): every Run returns Err, so that a caller which reads several hosts
// (`zdd status`) can show the others and name this one with its error.
type Unreachable struct {
	// Name is what Host returns (e.g. "lb2").
	Name string
	// Err is the dial's error, returned (wrapped) by every Run.
	Err error
}

var _ Runner = (*Unreachable)(nil)

// Host returns the runner's name.
func (u *Unreachable) Host() string { return u.Name }

// Close does nothing.
func (u *Unreachable) Close() error { return nil }

// Run runs nothing and returns the dial's error.
func (u *Unreachable) Run(ctx context.Context, cmd string, stdin []byte) ([]byte, error) {
	return nil, fmt.Errorf("%s is unreachable: %w", u.Name, u.Err)
}
