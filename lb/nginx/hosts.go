package nginx

import (
	"context"

	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/lb/remote"
)

// HostState is one host's node states, or why they could not be read.
type HostState struct {
	// Host is the host's name (lb1).
	Host string
	// States are the node states in the host's upstream file (nil when Err is set).
	States map[string]lb.State
	// Err is why the host could not be read or parsed.
	Err error
}

// HostStates reads every host's upstream file, all at once, and returns each host's node
// states or error, in configuration order. Unlike States it does not require the hosts to
// agree or every host to answer; it is for reports (`zdd status`) that show every part that
// can be read. It changes nothing.
func (b *Balancer) HostStates(ctx context.Context) []HostState {
	out, _, _ := onEach(b.opts.Hosts, func(h Host) (HostState, error) { return b.hostState(ctx, h), nil })
	return out
}

// hostState reads one host's node states, or why they could not be read.
func (b *Balancer) hostState(ctx context.Context, h Host) HostState {
	hs := HostState{Host: h.Name}
	if u, ok := h.Runner.(*remote.Unreachable); ok {
		hs.Err = u.Err // the dial's error says it all
		return hs
	}
	f, err := b.read(ctx, h)
	if err != nil {
		hs.Err = err
		return hs
	}
	st, err := f.States(b.opts.Upstreams)
	if err != nil {
		hs.Err = err
		return hs
	}
	hs.States = b.toNodes(st)
	return hs
}
