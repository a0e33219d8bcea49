package nginx

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/lb/remote"
)

// What Nginx runs: open-source Nginx cannot print its running configuration, but a master
// loads the upstream file only when it starts workers (at start and at each reload). So the
// file is what Nginx runs when the file was last written no later than the newest worker of
// the master started; a file written after that (by a revert, or by hand) may differ from
// what runs, and the only way to know is to test and reload it. Apply does exactly that for a
// host whose file already holds the target but was not loaded (so that `zdd abort` and
// `zdd resume` converge after a revert), and Apply's own revert of a host it never reloaded
// puts the file back with its old modification time, so that the host reads as running what
// it ran before.

// liveMarker separates the two parts of probeScript's output.
const liveMarker = "--zdd-upstream-file--"

// noMaster is probeScript's whole output when the master in the pid file is not running.
const noMaster = "no-master"

// probeScript prints, in one round trip, the upstream file's mtime, the time, "workers" and
// the age in seconds of each worker of the master, then liveMarker and the upstream file; or
// only noMaster when the pid file names no running process.
func probeScript(h Host) string {
	q := remote.Quote(h.UpstreamFile)
	return `p=$(cat -- ` + remote.Quote(h.PidFile) + ` 2>/dev/null) && kill -0 "$p" 2>/dev/null || { echo ` + noMaster + `; exit 0; }
stat -c %Y -- ` + q + ` && date +%s && echo workers $(ps -o etimes= --ppid "$p") && echo ` + liveMarker + ` && cat -- ` + q
}

// live is one host's upstream file and its master's workers, read together.
type live struct {
	src     []byte
	written int64   // the file's mtime, in seconds since the epoch (host clock)
	now     int64   // the time when it was read (host clock)
	workers []int64 // the age in seconds of each worker
}

// loaded tells whether the master has loaded the file as it is: its newest worker started no
// earlier than the file was written (one-second resolution).
func (v *live) loaded() bool {
	if len(v.workers) == 0 {
		return false
	}
	return slices.Min(v.workers) <= v.now-v.written
}

// notLoaded describes a file that the master has not loaded; it wraps lb.ErrNotLive.
func (v *live) notLoaded(h Host) error {
	if len(v.workers) == 0 {
		return fmt.Errorf("nginx: verify on %s: %w: the nginx master has no worker processes", h.Name, lb.ErrNotLive)
	}
	return fmt.Errorf("nginx: verify on %s: %w: %s was written %ds ago but the newest worker is %ds old (not reloaded since, "+
		"so nginx may run another configuration; hint: apply the same states again, e.g. `zdd abort` or `zdd resume`: "+
		"zdd then tests and reloads this host)", h.Name, lb.ErrNotLive, h.UpstreamFile, v.now-v.written, slices.Min(v.workers))
}

// probe reads h's upstream file and the ages of its master's workers in one round trip.
func (b *Balancer) probe(ctx context.Context, h Host) (*live, error) {
	out, err := h.Runner.Run(ctx, probeScript(h), nil)
	if err != nil {
		return nil, fmt.Errorf("nginx: on %s: %w", h.Name, commandError("read "+h.UpstreamFile+" and the nginx processes", "", err))
	}
	if strings.TrimSpace(string(out)) == noMaster {
		return nil, fmt.Errorf("nginx: on %s: nginx is not running (no live process in %s) (hint: start nginx on the host)", h.Name, h.PidFile)
	}
	head, src, ok := strings.Cut(string(out), liveMarker+"\n")
	f := strings.Fields(head)
	if !ok || len(f) < 3 || f[2] != "workers" {
		return nil, fmt.Errorf("nginx: on %s: unexpected output from the probe of nginx: %q", h.Name, remote.Brief(string(out)))
	}
	v := &live{src: []byte(src)}
	nums := append(f[:2:2], f[3:]...)
	for i, s := range nums {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("nginx: on %s: unexpected output from the probe of nginx: %q", h.Name, head)
		}
		switch i {
		case 0:
			v.written = n
		case 1:
			v.now = n
		default:
			v.workers = append(v.workers, n)
		}
	}
	return v, nil
}

// Verify checks on every host that what Nginx runs holds the states: the upstream file holds
// them and the master loaded it (it started a worker after the file was written). A host
// whose file was written after its last reload is reported as not live (lb.ErrNotLive): Apply
// with the same states then reloads it.
func (b *Balancer) Verify(ctx context.Context, states map[string]lb.State) error {
	addrs, err := b.toAddrs(states)
	if err != nil {
		return err
	}
	_, _, err = onEach(b.opts.Hosts, func(h Host) (struct{}, error) { return struct{}{}, b.verifyHost(ctx, h, addrs) })
	return err
}

// verifyHost checks one host: its file holds the states and Nginx has loaded it.
func (b *Balancer) verifyHost(ctx context.Context, h Host, addrs map[string]lb.State) error {
	v, err := b.probe(ctx, h)
	if err != nil {
		return err
	}
	f, err := Parse(v.src)
	if err != nil {
		return fmt.Errorf("nginx: %s on %s: %w", h.UpstreamFile, h.Name, err)
	}
	if sel, err := f.selected(b.opts.Upstreams); err == nil && isSticky(sel) {
		if err := verifySticky(h, f, addrs, b.opts.Upstreams); err != nil {
			return err
		}
		if !v.loaded() {
			return v.notLoaded(h)
		}
		return nil
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
	if !v.loaded() {
		return v.notLoaded(h)
	}
	return nil
}

// verifySticky checks that a sticky file holds the states: rendering them into it changes
// nothing, so that every line has the flags the states give it (the backup levels of
// sticky.go), not only the nodes' own states.
func verifySticky(h Host, f *File, addrs map[string]lb.State, ups []string) error {
	out, err := f.Render(addrs, ups)
	if err != nil {
		return fmt.Errorf("nginx: verify on %s: %w", h.Name, err)
	}
	if d := firstLineDiff(f.Bytes(), out); d != "" {
		return fmt.Errorf("nginx: verify on %s: %w: %s differs from the states asked: it is %s (hint: apply the same states again)",
			h.Name, lb.ErrNotLive, h.UpstreamFile, d)
	}
	return nil
}

// firstLineDiff describes the first line that differs between got and want ("" if none):
// `line 12 "server a backup;", want "server a;"`.
func firstLineDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d %q, want %q", i+1, strings.TrimSpace(gl), strings.TrimSpace(wl))
		}
	}
	return ""
}

// commandError describes a failed command for an error message that names the host
// already: what was being done, the command as configured (cmd, when it is a configured one
// such as the test command) and its output, instead of the generated shell script around it.
func commandError(what, cmd string, err error) error {
	var re *remote.RunError
	if errors.As(err, &re) {
		op := ""
		if re.Op != "" {
			op = re.Op + ": "
		}
		return fmt.Errorf("%s: %s%w", what, op, re.Err) // the host is named by the caller
	}
	var ee *remote.ExitError
	if !errors.As(err, &ee) {
		return fmt.Errorf("%s: %w", what, err)
	}
	out := strings.TrimSpace(ee.Stderr)
	if out == "" {
		out = "(no error output)"
	}
	if cmd == "" {
		return fmt.Errorf("%s: exit status %d: %s", what, ee.Code, out)
	}
	return fmt.Errorf("%s: `%s` exited %d: %s", what, cmd, ee.Code, out)
}
