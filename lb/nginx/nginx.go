// Package nginx implements lb.Balancer for open-source Nginx, which cannot
// change upstream weights at run time: it rewrites the upstream file on every
// load-balancer host (through a remote.Runner), tests the main configuration,
// reloads gracefully and checks that the reload took effect.
//
// # One change on several hosts
//
// Apply works in three phases so that the hosts (an HA pair) end up all
// changed or all as before:
//
//  1. prepare: read and parse the upstream file of every host, with the ages
//     of its master's workers, and render the new one. A file that does not
//     parse, an unknown node or upstream, a bad weight or a host whose Nginx
//     is not running stops here; nothing was written. A host whose file
//     already holds the target is left out, unless the file was written after
//     its newest worker started (Nginx may run something else, e.g. after a
//     revert): that host is only tested and reloaded, so that applying the
//     same states again converges and a second run is a no-op.
//  2. install: on each host, save the old file as <file>.zdd-prev, swap the
//     new file in (temporary file + rename) and run the test command, which
//     must test the MAIN configuration (it includes the live upstream file).
//     A failure puts the old file back on this host and on every host
//     already installed, with its old modification time (none was reloaded,
//     so each runs what it ran and Verify reads it so); no host was reloaded.
//  3. reload: on each host, run the reload command and wait until the Nginx
//     master has started new workers (a reload that fails in the master
//     still exits 0). A failure puts the old file back on EVERY host and
//     reloads the hosts that may have taken the new file.
//
// Verify reads what each host runs: the upstream file, which Nginx runs when
// its newest worker started no earlier than the file was written (see
// live.go). Errors name the host, the configured command (the test or reload
// command) and its output, never the generated script around it.
//
// Servers are matched by address: a change to 127.0.0.1:18081 applies to
// every upstream block that lists that address (sticky setups list a node in
// several blocks, as primary in its own and as backup in the others; there
// every line is rendered from the states of all the nodes, see sticky.go).
package nginx

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/lb/remote"
)

// Host is one Nginx load balancer.
type Host struct {
	// Name labels the host in errors: lb1.
	Name string
	// Runner runs commands on the host (remote.SSH or remote.Local).
	Runner remote.Runner
	// UpstreamFile is the absolute path of the file with the upstream blocks.
	UpstreamFile string
	// TestCommand is a shell command line that tests the main configuration,
	// e.g. "nginx -t -c /etc/nginx/nginx.conf". It is run as written.
	TestCommand string
	// ReloadCommand is a shell command line that reloads Nginx gracefully,
	// e.g. "nginx -s reload -c /etc/nginx/nginx.conf". It is run as written.
	ReloadCommand string
	// PidFile is the absolute path of the master's pid file; the reload is
	// confirmed by new worker processes of that master.
	PidFile string
	// ErrorLog, when set, is the error log whose new [emerg]/[alert] lines
	// are quoted in the error when a reload does not take effect.
	ErrorLog string
}

// Options configure a Balancer.
type Options struct {
	// Hosts are the load balancers changed together; at least one.
	Hosts []Host
	// Upstreams restricts reading and changes to these upstream blocks;
	// empty means every block in the file. A name missing from a file is an
	// error.
	Upstreams []string
	// Nodes maps the node names callers use (n1) to server addresses in the
	// upstream file (127.0.0.1:18081). When nil, callers use addresses.
	Nodes map[string]string
	// ReloadTimeout bounds the wait for new workers after a reload. Zero
	// means 15 s.
	ReloadTimeout time.Duration
	// PollInterval is the pause between checks for new workers. Zero means
	// 100 ms.
	PollInterval time.Duration
}

// Balancer is an lb.Balancer over one or more Nginx hosts.
type Balancer struct {
	opts Options
}

var _ lb.Balancer = (*Balancer)(nil)

// New checks opts and returns a Balancer. It does not connect.
func New(opts Options) (*Balancer, error) {
	if len(opts.Hosts) == 0 {
		return nil, errors.New("nginx: no load-balancer host configured")
	}
	for i, h := range opts.Hosts {
		if h.Name == "" || h.Runner == nil {
			return nil, fmt.Errorf("nginx: host %d: name and runner are required", i+1)
		}
		for _, p := range []string{h.UpstreamFile, h.PidFile} {
			if err := remote.CheckPath(p); err != nil {
				return nil, fmt.Errorf("nginx: host %s: %w", h.Name, err)
			}
		}
		if h.ErrorLog != "" {
			if err := remote.CheckPath(h.ErrorLog); err != nil {
				return nil, fmt.Errorf("nginx: host %s: %w", h.Name, err)
			}
		}
		if h.TestCommand == "" || h.ReloadCommand == "" {
			return nil, fmt.Errorf("nginx: host %s: test and reload commands are required", h.Name)
		}
	}
	if opts.ReloadTimeout <= 0 {
		opts.ReloadTimeout = 15 * time.Second
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 100 * time.Millisecond
	}
	return &Balancer{opts: opts}, nil
}

// WeightRange returns 1..1000.
func (b *Balancer) WeightRange() (int, int) { return MinWeight, MaxWeight }

// toAddrs maps node names to server addresses.
func (b *Balancer) toAddrs(states map[string]lb.State) (map[string]lb.State, error) {
	if b.opts.Nodes == nil {
		return states, nil
	}
	out := make(map[string]lb.State, len(states))
	for _, n := range lb.SortedNodes(states) {
		a, ok := b.opts.Nodes[n]
		if !ok {
			return nil, fmt.Errorf("nginx: %w: node %s is not in the node list", lb.ErrUnknownNode, n)
		}
		out[a] = states[n]
	}
	return out, nil
}

// toNodes maps server addresses back to node names (unmapped addresses stay).
func (b *Balancer) toNodes(states map[string]lb.State) map[string]lb.State {
	if b.opts.Nodes == nil {
		return states
	}
	byAddr := map[string]string{}
	for n, a := range b.opts.Nodes {
		byAddr[a] = n
	}
	out := make(map[string]lb.State, len(states))
	for a, s := range states {
		if n, ok := byAddr[a]; ok {
			out[n] = s
		} else {
			out[a] = s
		}
	}
	return out
}

// read reads and parses the upstream file of h.
func (b *Balancer) read(ctx context.Context, h Host) (*File, error) {
	src, err := remote.ReadFile(ctx, h.Runner, h.UpstreamFile)
	if err != nil {
		return nil, fmt.Errorf("nginx: read upstream file on %s: %w", h.Name, err)
	}
	f, err := Parse(src)
	if err != nil {
		return nil, fmt.Errorf("nginx: %s on %s: %w (file left untouched)", h.UpstreamFile, h.Name, err)
	}
	return f, nil
}

// States reads every host's upstream file and returns the node states; the
// hosts must agree.
func (b *Balancer) States(ctx context.Context) (map[string]lb.State, error) {
	var first map[string]lb.State
	files, _, err := onEach(b.opts.Hosts, func(h Host) (*File, error) { return b.read(ctx, h) })
	if err != nil {
		return nil, err
	}
	for i, h := range b.opts.Hosts {
		st, err := files[i].States(b.opts.Upstreams)
		if err != nil {
			return nil, fmt.Errorf("%w (on %s)", err, h.Name)
		}
		if i == 0 {
			first = st
			continue
		}
		if d := diff(first, st); d != "" {
			return nil, fmt.Errorf("nginx: %s and %s disagree: %s (hint: apply a state to make them agree)",
				b.opts.Hosts[0].Name, h.Name, d)
		}
	}
	return b.toNodes(first), nil
}

// diff describes the first difference between two state maps, "" if none.
func diff(want, got map[string]lb.State) string {
	for _, a := range lb.SortedNodes(want) {
		if g, ok := got[a]; !ok || g != want[a] {
			if !ok {
				return fmt.Sprintf("%s is %v on one and missing on the other", a, want[a])
			}
			return fmt.Sprintf("%s is %v, not %v", a, g, want[a])
		}
	}
	for _, a := range lb.SortedNodes(got) {
		if _, ok := want[a]; !ok {
			return fmt.Sprintf("%s is missing on one", a)
		}
	}
	return ""
}
