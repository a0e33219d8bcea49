package nginx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/lb/remote"
)

// change is the planned change on one host.
type change struct {
	host     Host
	old, new []byte
	// reloadOnly: the file holds the target already but the master has not loaded it since
	// it was written (see live.go); the change tests and reloads it, writing nothing.
	reloadOnly bool
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

// onAll runs f for every change at once and returns the first error (in plan order) with
// its index.
func onAll(plan []change, f func(change) error) (int, error) {
	_, i, err := onEach(plan, func(c change) (struct{}, error) { return struct{}{}, f(c) })
	return i, err
}

// prepare renders the new file of every host; hosts whose file would not change and that
// run it (the master loaded it) are left out, hosts whose file would not change but was not
// loaded get a reload. Nothing is written.
func (b *Balancer) prepare(ctx context.Context, addrs map[string]lb.State) ([]change, error) {
	var plan []change
	lives, _, err := onEach(b.opts.Hosts, func(h Host) (*live, error) { return b.probe(ctx, h) })
	if err != nil {
		return nil, fmt.Errorf("%w (nothing changed)", err)
	}
	for i, h := range b.opts.Hosts {
		v := lives[i]
		f, err := Parse(v.src)
		if err != nil {
			return nil, fmt.Errorf("nginx: %s on %s: %w (file left untouched)", h.UpstreamFile, h.Name, err)
		}
		out, err := f.Render(addrs, b.opts.Upstreams)
		if err != nil {
			return nil, fmt.Errorf("%w (on %s; nothing changed)", err, h.Name)
		}
		if err := checkRendered(out, addrs, b.opts.Upstreams); err != nil {
			return nil, fmt.Errorf("nginx: render for %s: %w (bug; nothing changed)", h.Name, err)
		}
		switch {
		case !bytes.Equal(out, f.Bytes()):
			plan = append(plan, change{host: h, old: f.Bytes(), new: out})
		case !v.loaded():
			plan = append(plan, change{host: h, old: f.Bytes(), new: out, reloadOnly: true})
		}
	}
	return plan, nil
}

// checkRendered parses the rendered file again and checks the states. A sticky file must
// keep a server that is not backup in every block, and rendering the states again must
// change nothing (see sticky.go).
func checkRendered(out []byte, addrs map[string]lb.State, ups []string) error {
	f, err := Parse(out)
	if err != nil {
		return err
	}
	if sel, err := f.selected(ups); err == nil && isSticky(sel) {
		if err := checkSticky(sel); err != nil {
			return err
		}
		again, err := f.Render(addrs, ups)
		if err != nil {
			return err
		}
		if d := firstLineDiff(out, again); d != "" {
			return fmt.Errorf("rendering the states again changes %s", d)
		}
		return nil
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

// installFailed is what the install script prints when the file could not be swapped in
// (before the test command ran).
const installFailed = "zdd-install-failed"

// install keeps the old file, swaps the new one in (atomically, through a temporary file
// beside it) and tests the main configuration, in one remote command; a reload-only change
// only runs the test. On a failed test the caller puts the old file back.
func (b *Balancer) install(ctx context.Context, c change) error {
	h := c.host
	if c.reloadOnly {
		if _, err := h.Runner.Run(ctx, h.TestCommand, nil); err != nil {
			return commandError("test the configuration before reloading it", h.TestCommand, err)
		}
		return nil
	}
	q := remote.Quote(h.UpstreamFile)
	swap := remote.Replace{Path: h.UpstreamFile, Steps: []string{
		`cp -p -- ` + q + ` ` + remote.Quote(h.UpstreamFile+".zdd-prev"), `chmod --reference=` + q + ` "$t"`}}
	script := swap.Group() + ` || { echo ` + installFailed + `; exit 1; }; ` + h.TestCommand
	out, err := h.Runner.Run(ctx, script, c.new)
	if err == nil {
		return nil
	}
	if strings.Contains(string(out), installFailed) {
		return commandError("install the new "+h.UpstreamFile, "", err)
	}
	return commandError("test the new configuration", h.TestCommand, err)
}

// restore writes old back to h's upstream file. With keepTime (a host that was not reloaded):
// a file that still holds old (the swap never happened) is left untouched, and otherwise, when
// old is the content install saved as <file>.zdd-prev just before its swap, the file also gets
// back that copy's modification time. The file is then exactly what it was, and reads as
// loaded only if it was (see live.go).
func restore(ctx context.Context, h Host, old []byte, keepTime bool) error {
	if !keepTime {
		return remote.WriteFile(ctx, h.Runner, h.UpstreamFile, old)
	}
	q, prev := remote.Quote(h.UpstreamFile), remote.Quote(h.UpstreamFile+".zdd-prev")
	script := remote.Replace{Path: h.UpstreamFile, Steps: []string{
		`if cmp -s -- "$t" ` + q + `; then exit 0; fi`, `chmod --reference=` + q + ` "$t"`,
		`if cmp -s -- "$t" ` + prev + `; then touch -r ` + prev + ` -- "$t"; fi`}}.Script()
	if _, err := h.Runner.Run(ctx, script, old); err != nil {
		var ee *remote.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("exit status %d: %s", ee.Code, strings.TrimSpace(ee.Stderr))
		}
		return err
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
		if c.reloadOnly {
			continue // nothing was written; the master runs what it ran
		}
		if err := restore(ctx, c.host, c.old, i >= reloaded); err != nil {
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
