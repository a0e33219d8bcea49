package nginx

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/lb/remote"
)

// procs is the Nginx master and its children as seen at one moment.
type procs struct {
	master  int
	workers map[int]bool
}

// workersCmd prints the master pid, then one child pid per line.
func workersCmd(h Host) string {
	return `p=$(cat -- ` + remote.Quote(h.PidFile) + `) && kill -0 "$p" && echo "$p" && { ps -o pid= --ppid "$p" || true; }`
}

func (b *Balancer) procs(ctx context.Context, h Host) (procs, error) {
	out, err := h.Runner.Run(ctx, workersCmd(h), nil)
	if err != nil {
		return procs{}, fmt.Errorf("find the nginx master from %s: %w", h.PidFile, err)
	}
	fields := strings.Fields(string(out))
	if len(fields) == 0 {
		return procs{}, fmt.Errorf("find the nginx master from %s: no pid", h.PidFile)
	}
	p := procs{workers: map[int]bool{}}
	for i, f := range fields {
		n, err := strconv.Atoi(f)
		if err != nil {
			return procs{}, fmt.Errorf("find the nginx workers: unexpected output %q", out)
		}
		if i == 0 {
			p.master = n
		} else {
			p.workers[n] = true
		}
	}
	return p, nil
}

// logSize returns the size of the error log (0 when there is none).
func (b *Balancer) logSize(ctx context.Context, h Host) int64 {
	if h.ErrorLog == "" {
		return 0
	}
	out, err := h.Runner.Run(ctx, "wc -c < "+remote.Quote(h.ErrorLog), nil)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	return n
}

// logErrors returns the [emerg] and [alert] lines written to the error log
// after offset.
func (b *Balancer) logErrors(ctx context.Context, h Host, offset int64) string {
	if h.ErrorLog == "" {
		return ""
	}
	cmd := fmt.Sprintf("tail -c +%d -- %s | grep -E '\\[(emerg|alert|crit)\\]' | tail -n 5 || true", offset+1, remote.Quote(h.ErrorLog))
	out, _ := h.Runner.Run(ctx, cmd, nil)
	return strings.TrimSpace(string(out))
}

// reload runs the reload command and waits until the master has started a
// worker that did not exist before: the sign that the new configuration was
// applied. A master that keeps its old workers rejected the configuration.
func (b *Balancer) reload(ctx context.Context, h Host) error {
	before, err := b.procs(ctx, h)
	if err != nil {
		return err
	}
	offset := b.logSize(ctx, h)
	if _, err := h.Runner.Run(ctx, h.ReloadCommand, nil); err != nil {
		return fmt.Errorf("reload command %q: %w", h.ReloadCommand, err)
	}
	wctx, cancel := context.WithTimeout(ctx, b.opts.ReloadTimeout)
	defer cancel()
	tick := time.NewTicker(b.opts.PollInterval)
	defer tick.Stop()
	for {
		now, err := b.procs(wctx, h)
		if err == nil && now.master == before.master && hasNew(before.workers, now.workers) {
			if msg := b.logErrors(ctx, h, offset); msg != "" {
				return fmt.Errorf("reload logged errors: %s", msg)
			}
			return nil
		}
		if err == nil && now.master != before.master {
			return fmt.Errorf("nginx master changed from %d to %d during reload", before.master, now.master)
		}
		select {
		case <-wctx.Done():
			msg := b.logErrors(ctx, h, offset)
			if msg == "" {
				msg = "nothing in the error log"
			}
			return fmt.Errorf("reload did not take effect within %v (master %d kept its workers; the configuration was probably rejected): %s",
				b.opts.ReloadTimeout, before.master, msg)
		case <-tick.C:
		}
	}
}

func hasNew(before, now map[int]bool) bool {
	for p := range now {
		if !before[p] {
			return true
		}
	}
	return false
}

// checkLoaded confirms that the youngest worker started no earlier than the
// upstream file was last written (one-second resolution): the file is live.
func (b *Balancer) checkLoaded(ctx context.Context, h Host) error {
	cmd := `p=$(cat -- ` + remote.Quote(h.PidFile) + `) && kill -0 "$p" && stat -c %Y -- ` +
		remote.Quote(h.UpstreamFile) + ` && date +%s && ps -o etimes= --ppid "$p"`
	out, err := h.Runner.Run(ctx, cmd, nil)
	if err != nil {
		return fmt.Errorf("nginx: verify on %s: cannot read nginx processes: %w", h.Name, err)
	}
	f := strings.Fields(string(out))
	nums := make([]int64, len(f))
	for i, s := range f {
		if nums[i], err = strconv.ParseInt(s, 10, 64); err != nil || len(f) < 3 {
			return fmt.Errorf("nginx: verify on %s: unexpected output %q", h.Name, out)
		}
	}
	age := nums[1] - nums[0]
	youngest := nums[2]
	for _, e := range nums[3:] {
		youngest = min(youngest, e)
	}
	if youngest > age {
		return fmt.Errorf("nginx: verify on %s: %w: %s was written %ds ago but the newest worker is %ds old (not reloaded)",
			h.Name, lb.ErrNotLive, h.UpstreamFile, age, youngest)
	}
	return nil
}
