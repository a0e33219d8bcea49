package nginx

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/lb/remote"
)

// change is the planned change on one host.
type change struct {
	host     Host
	old, new []byte
}

// Apply sets the given node states on every host in one change per host:
// all hosts get them or every host is put back (see the package doc).
func (b *Balancer) Apply(ctx context.Context, states map[string]lb.State) error {
	if len(states) == 0 {
		return nil
	}
	if err := lb.CheckStates(states, MinWeight, MaxWeight); err != nil {
		return fmt.Errorf("nginx: %w (nothing changed)", err)
	}
	addrs, err := b.toAddrs(states)
	if err != nil {
		return err
	}
	plan, err := b.prepare(ctx, addrs)
	if err != nil || len(plan) == 0 {
		return err
	}
	// Every host is installed, then every host reloaded, each phase on all hosts at once: the
	// moment when one load balancer routes by the old file and another by the new one is as
	// short as the reloads' skew (a client that alternates between them sees both routings).
	if i, err := onAll(plan, func(c change) error { return b.install(ctx, c) }); err != nil {
		return b.rollback(ctx, plan, 0, plan[i].host.Name, "install", err)
	}
	if i, err := onAll(plan, func(c change) error { return b.reload(ctx, c.host) }); err != nil {
		return b.rollback(ctx, plan, len(plan), plan[i].host.Name, "reload", err)
	}
	return nil
}

// onAll runs f for every change concurrently and returns the first error (in plan order)
// with its index.
func onAll(plan []change, f func(change) error) (int, error) {
	errs := make([]error, len(plan))
	var wg sync.WaitGroup
	for i, c := range plan {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(c)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return i, err
		}
	}
	return 0, nil
}

// prepare renders the new file of every host; hosts whose file would not
// change are left out. Nothing is written.
func (b *Balancer) prepare(ctx context.Context, addrs map[string]lb.State) ([]change, error) {
	var plan []change
	for _, h := range b.opts.Hosts {
		f, err := b.read(ctx, h)
		if err != nil {
			return nil, err
		}
		out, err := f.Render(addrs, b.opts.Upstreams)
		if err != nil {
			return nil, fmt.Errorf("%w (on %s; nothing changed)", err, h.Name)
		}
		if err := checkRendered(out, addrs, b.opts.Upstreams); err != nil {
			return nil, fmt.Errorf("nginx: render for %s: %w (bug; nothing changed)", h.Name, err)
		}
		if !bytes.Equal(out, f.Bytes()) {
			plan = append(plan, change{host: h, old: f.Bytes(), new: out})
		}
	}
	return plan, nil
}

// checkRendered parses the rendered file again and checks the states.
func checkRendered(out []byte, addrs map[string]lb.State, ups []string) error {
	f, err := Parse(out)
	if err != nil {
		return err
	}
	got, err := f.States(ups)
	if err != nil {
		return err
	}
	for a, want := range addrs {
		g := got[a]
		if g.Down != want.Down || g.Backup != want.Backup || (want.Weight != 0 && g.Weight != want.Weight) {
			return fmt.Errorf("server %s rendered %v, want %v", a, g, want)
		}
	}
	return nil
}

// install keeps the old file, swaps the new one in (atomically, through a temporary file
// beside it) and tests the main configuration, in one remote command. On a failed test the
// caller puts the old file back.
func (b *Balancer) install(ctx context.Context, c change) error {
	h := c.host
	dir, base := path.Split(h.UpstreamFile)
	q := remote.Quote(h.UpstreamFile)
	script := `set -e; t=$(mktemp ` + remote.Quote(dir+"."+base+".zdd-XXXXXX") + `); trap 'rm -f "$t"' EXIT; cat > "$t"; ` +
		`cp -p -- ` + q + ` ` + remote.Quote(h.UpstreamFile+".zdd-prev") + `; chmod --reference=` + q + ` "$t"; ` +
		`mv -f "$t" ` + q + `; trap - EXIT; ` + h.TestCommand
	if _, err := h.Runner.Run(ctx, script, c.new); err != nil {
		return fmt.Errorf("install the new upstream file and run the test command %q: %w", h.TestCommand, err)
	}
	return nil
}

// rollback writes the old file back on every host of plan and reloads the
// first reloaded hosts of them (those that may have loaded the new file).
// It runs on a fresh context so that a cancelled ctx still restores.
func (b *Balancer) rollback(ctx context.Context, plan []change, reloaded int, host, step string, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.opts.ReloadTimeout+30*time.Second)
	defer cancel()
	var errs []error
	for i, c := range plan {
		if err := remote.WriteFile(ctx, c.host.Runner, c.host.UpstreamFile, c.old); err != nil {
			errs = append(errs, fmt.Errorf("nginx: restore %s on %s: %w", c.host.UpstreamFile, c.host.Name, err))
			continue
		}
		if i < reloaded {
			if err := b.reload(ctx, c.host); err != nil {
				errs = append(errs, fmt.Errorf("nginx: reload the restored file on %s: %w", c.host.Name, err))
			}
		}
	}
	if len(errs) > 0 {
		return &lb.RollbackFailedError{Err: fmt.Errorf("nginx: %s on %s: %w", step, host, cause), Rollback: errs}
	}
	return fmt.Errorf("nginx: %w", &lb.RolledBackError{Host: host, Step: step, Err: cause})
}

// Verify checks on every host that the upstream file holds the states and
// that Nginx has loaded it (a worker started after the file was written).
func (b *Balancer) Verify(ctx context.Context, states map[string]lb.State) error {
	addrs, err := b.toAddrs(states)
	if err != nil {
		return err
	}
	errs := make([]error, len(b.opts.Hosts))
	var wg sync.WaitGroup
	for i, h := range b.opts.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = b.verifyHost(ctx, h, addrs)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// verifyHost checks one host: its file holds the states and Nginx has loaded it.
func (b *Balancer) verifyHost(ctx context.Context, h Host, addrs map[string]lb.State) error {
	out, err := h.Runner.Run(ctx, verifyCmd(h), nil)
	if err != nil {
		return fmt.Errorf("nginx: verify on %s: cannot read nginx processes and %s: %w", h.Name, h.UpstreamFile, err)
	}
	procs, src, ok := strings.Cut(string(out), verifyMarker+"\n")
	if !ok {
		return fmt.Errorf("nginx: verify on %s: unexpected output %q", h.Name, out)
	}
	f, err := Parse([]byte(src))
	if err != nil {
		return fmt.Errorf("nginx: %s on %s: %w", h.UpstreamFile, h.Name, err)
	}
	got, err := f.States(b.opts.Upstreams)
	if err != nil {
		return fmt.Errorf("%w: %w", lb.ErrNotLive, err)
	}
	for _, a := range lb.SortedNodes(addrs) {
		want := addrs[a]
		g, ok := got[a]
		if !ok {
			return fmt.Errorf("nginx: verify on %s: %w: no server %s", h.Name, lb.ErrUnknownNode, a)
		}
		if g.Down != want.Down || g.Backup != want.Backup || (want.Weight != 0 && g.Weight != want.Weight) {
			return fmt.Errorf("nginx: verify on %s: %w: server %s is %v, want %v", h.Name, lb.ErrNotLive, a, g, want)
		}
	}
	return checkLoaded(h, procs)
}
