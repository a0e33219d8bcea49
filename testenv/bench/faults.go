package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/saitodrom/zdd/connect"
	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/lb/remote"
	"github.com/saitodrom/zdd/watch"
)

// Targets of issue 12 for a node that dies or freezes during a release.
const maxService = 2 * time.Second

// Names of the fault rows (issue 12). They run in the full benchmark only, or when named in
// Options.Only.
const (
	RowFaultKill   = "zdd deploy, n3 killed mid-release (round-robin)"
	RowFaultFreeze = "zdd deploy, oldest member frozen (SIGSTOP) during another node's deploy"
	RowFaultNginx  = "zdd deploy, nginx -t fails on lb2 at the first routing change"
	RowFaultSSH    = "zdd deploy, SSH connection to lb1 cut at the deploy step"
)

// FaultRows are the names of the fault rows, in the order they run.
var FaultRows = []string{RowFaultKill, RowFaultFreeze, RowFaultNginx, RowFaultSSH}

// faultSelected tells whether a fault row runs: named in Only, or the full (not Short) run.
func (o *Options) faultSelected(name string) bool {
	if len(o.Only) > 0 {
		return o.selected(name)
	}
	return !o.Short
}

// Fault holds the figures of a fault row.
type Fault struct {
	// Exit is the release's exit code (docs/exit-codes.md).
	Exit int `json:"exit"`
	// Error is the first line of the release's error; empty when it succeeded.
	Error string `json:"error,omitempty"`
	// ZddLost is the number of lost sessions zdd counted and reported (the release record's).
	ZddLost int `json:"lost_sessions_counted_by_zdd"`
	// Retried is the number of lost sessions whose counter advanced by two: a request in
	// flight on the failed node that Nginx retried on another, counted twice by the page.
	Retried int `json:"lost_in_flight_retried"`
	// Service is the time from the fault until the last failed request of the users (a
	// request fails on an error answer, a transport error or its 10 s timeout), in seconds: 0
	// when none failed after it.
	Service float64 `json:"service_on_healthy_nodes_s"`
}

// faultRun is what a release with an injected fault left: its error, when the fault was
// injected, the engine's events, and how long the release took.
type faultRun struct {
	err      error
	injected time.Time
	events   []deployer.Event
	wall     time.Duration
	zddLost  int
	service  time.Duration // from the fault until the last failed request (0: none)
}

// releaseWithFault releases 001 (not measured), calls arm (when not nil) to put a standing
// fault in place, then releases 002 under load with inject called once, from the engine's
// event sink, when at accepts an event: the hook of deployer's fault tests.
func (b *bench) releaseWithFault(ctx context.Context, e *deployer.Engine, arm func(), at func(deployer.Event) bool, inject func() error) (*watch.Report, time.Time, *faultRun, error) {
	if _, err := b.release(ctx, e, "001", b.wars["001"]); err != nil {
		return nil, time.Time{}, nil, fmt.Errorf("setup release 001: %w", err)
	}
	if arm != nil {
		arm()
	}
	fr := &faultRun{}
	var mu sync.Mutex
	var once sync.Once
	var injectErr error
	fired := false
	e.Sink = deployer.SinkFunc(func(ev deployer.Event) {
		mu.Lock()
		defer mu.Unlock()
		fr.events = append(fr.events, ev)
		b.tr.Emit(ev)
		if at(ev) {
			once.Do(func() {
				b.opts.Log("  injecting the fault at %s %s %s", ev.Type, ev.Kind, ev.Node)
				fr.injected, fired = time.Now(), true
				b.tr.mark(fr.injected)
				injectErr = inject()
			})
		}
	})
	r, t0, err := b.underLoad(ctx, func(ctx context.Context) error {
		t := time.Now()
		defer func() { fr.wall = time.Since(t) }()
		plan, err := b.plan(ctx, e, "002", b.wars["002"])
		if err != nil {
			return err
		}
		fr.err = e.Start(ctx, plan, who)
		return nil
	})
	if err != nil {
		return nil, t0, nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	if !fired {
		return nil, t0, nil, fmt.Errorf("the fault was never injected (release: %v)", fr.err)
	}
	if injectErr != nil {
		return nil, t0, nil, fmt.Errorf("inject the fault: %w", injectErr)
	}
	var last time.Time
	for _, f := range r.Failures {
		if at := r.Start.Add(f.At); !f.Lost && at.After(last) {
			last = at
			b.opts.Log("  failed %s after the fault: user %d: %s", at.Sub(fr.injected).Round(time.Millisecond), f.User, f.What)
		}
	}
	if last.After(fr.injected) {
		fr.service = last.Sub(fr.injected)
	}
	if rel, err := e.Journal.Current(); err == nil && rel != nil {
		fr.zddLost = rel.LostSessions
	}
	b.opts.Log("  release: exit %d after %s: %v", outcome.Code(fr.err), fr.wall.Round(time.Millisecond), fr.err)
	return r, t0, fr, nil
}

// faultRow fills the figures every fault row has; to is the version new sessions must end on.
func (b *bench) faultRow(name string, r *watch.Report, t0 time.Time, fr *faultRun, to string) Row {
	row := loadRow(name, string(b.env.Mode), r, t0, fr.wall, to)
	row.Zdd, row.Targets = true, nil
	row.Fault = &Fault{Exit: outcome.Code(fr.err), ZddLost: fr.zddLost, Service: fr.service.Seconds(), Retried: retriedInFlight(r)}
	if fr.err != nil {
		row.Fault.Error = firstLine(fr.err.Error())
		row.Note = "release: " + row.Fault.Error
	}
	return row
}

// retriedInFlight counts the lost sessions whose counter advanced by two: a request in flight
// on the failed node that Nginx retried on another, so the page counted it twice. Only the
// report's first 100 failures are listed; the others count as not retried.
func retriedInFlight(r *watch.Report) int {
	n := 0
	for _, f := range r.Failures {
		i := strings.Index(f.What, ": count ")
		var got, after int
		if f.Lost && i >= 0 {
			if _, err := fmt.Sscanf(f.What[i:], ": count %d after %d", &got, &after); err == nil && got == after+2 {
				n++
			}
		}
	}
	return n
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// exitTarget is the target "exit N naming node" (node empty: the exit code only).
func exitTarget(fr *faultRun, code int, node string) Target {
	goal := fmt.Sprintf("exit %d", code)
	met := outcome.Code(fr.err) == code
	if node != "" {
		goal += " naming " + node
		met = met && fr.err != nil && strings.Contains(fr.err.Error(), node)
	}
	return target(goal, met)
}

// lostTarget: the sessions users lost, beyond requests in flight that were retried, are at
// most those zdd counted (issue 12: "lost sessions only those held by the dead node alone,
// with synchronous replication 0, plus any fallback window, counted").
func lostTarget(row *Row) Target {
	return target("lost beyond in-flight retries <= counted by zdd",
		row.Lost-row.Fault.Retried <= row.Fault.ZddLost)
}

// faultKill kills n3, alone in rotation while the canary n1,n2 gets 002, as the canary's
// deploy starts; the engine must route n1,n2 back at once and roll back without n3. n3 is
// restarted afterwards.
func (b *bench) faultKill(ctx context.Context) (Row, error) {
	const victim = "n3"
	e, _, err := b.engine()
	if err != nil {
		return Row{}, err
	}
	killed := false
	defer func() {
		if killed {
			b.opts.Log("  restarting %s", victim)
			if err := b.env.Start(ctx, victim); err != nil {
				b.opts.Log("  restart %s: %v", victim, err)
			}
		}
	}()
	r, t0, fr, err := b.releaseWithFault(ctx, e, nil, func(ev deployer.Event) bool {
		return ev.Type == deployer.EventProgress && ev.Kind == "deploy" && ev.Node == "n1"
	}, func() error {
		killed = true
		return b.env.Kill(ctx, victim)
	})
	if err != nil {
		return Row{}, err
	}
	row := b.faultRow(RowFaultKill, r, t0, fr, "001")
	row.Targets = []Target{target("failed = 0", row.Failed == 0),
		target(fmt.Sprintf("service on healthy nodes <= %s", maxService), fr.service <= maxService),
		lostTarget(&row), exitTarget(fr, 4, victim)}
	return row, nil
}

// faultFreeze freezes (SIGSTOP) the oldest cluster member as another node's deploy starts:
// that deploy waits for the frozen member's session state, and must be abandoned, not waited
// out (60 s); the rollback must skip the frozen node. SIGCONT afterwards.
func (b *bench) faultFreeze(ctx context.Context) (Row, error) {
	oldest, err := b.oldestMember(ctx)
	if err != nil {
		return Row{}, err
	}
	pid := 0
	for _, s := range b.env.Status() {
		if s.Name == oldest && s.Running {
			pid = s.Pid
		}
	}
	if pid == 0 {
		return Row{}, fmt.Errorf("%s is not running", oldest)
	}
	e, _, err := b.engine()
	if err != nil {
		return Row{}, err
	}
	frozen := false
	defer func() {
		if frozen {
			if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
				b.opts.Log("  SIGCONT %s (pid %d): %v", oldest, pid, err)
			}
		}
	}()
	r, t0, fr, err := b.releaseWithFault(ctx, e, nil, func(ev deployer.Event) bool {
		return ev.Type == deployer.EventProgress && ev.Kind == "deploy" && ev.Node != "" && ev.Node != oldest
	}, func() error {
		frozen = true
		return syscall.Kill(pid, syscall.SIGSTOP)
	})
	if err != nil {
		return Row{}, err
	}
	row := b.faultRow(RowFaultFreeze, r, t0, fr, "001")
	row.Note = fmt.Sprintf("frozen: %s; %s", oldest, row.Note)
	for _, ev := range fr.events {
		if ev.Type == deployer.EventWarning && strings.Contains(ev.Message, "abandoned after") {
			row.figure("deploy_abandoned_after_s", ev.Time.Sub(fr.injected).Seconds())
		}
	}
	row.Targets = []Target{target("failed <= in flight to the frozen node (1 per user)", row.Failed <= b.opts.Users),
		lostTarget(&row), exitTarget(fr, 4, oldest)}
	return row, nil
}

// oldestMember returns the oldest cluster member: the first member in the view of the other
// nodes (a node never lists itself).
func (b *bench) oldestMember(ctx context.Context) (string, error) {
	first := func(node string) (string, error) {
		c, ok := b.cluster.Managers[node].(deployer.ClusterViewer)
		if !ok {
			return "", fmt.Errorf("the Manager of %s has no cluster view", node)
		}
		ms, err := c.ClusterMembers(ctx)
		if err != nil {
			return "", err
		}
		if len(ms) == 0 {
			return "", fmt.Errorf("%s sees no cluster member", node)
		}
		for _, n := range b.env.Nodes {
			if n.TribesPort == ms[0].Port {
				return n.Name, nil
			}
		}
		return "", fmt.Errorf("no node has the tribes port of %s", ms[0].Addr())
	}
	if v, err := first("n2"); err != nil || v == "n1" {
		return v, err
	}
	return first("n1")
}

// faultNginx makes lb2's configuration test fail on its second run (the first is the
// preflight, the second the install of the release's first routing change): the change must
// be reverted and the release rolled back (exit 3) with every node in rotation.
func (b *bench) faultNginx(ctx context.Context) (Row, error) {
	if len(b.cfg.LB.Hosts) < 2 {
		return Row{}, errors.New("needs two load-balancer hosts")
	}
	cfg := *b.cfg
	cfg.LB.Hosts = append(cfg.LB.Hosts[:0:0], b.cfg.LB.Hosts...)
	count := filepath.Join(b.opts.WorkDir, fmt.Sprintf("nginx-tests-%d", time.Now().UnixNano()))
	cfg.LB.Hosts[1].TestCommand = `n=$(cat ` + count + ` 2>/dev/null || echo 0); n=$((n+1)); echo $n > ` + count +
		`; if [ $n -eq 2 ]; then echo 'nginx: [emerg] injected failure' >&2; exit 1; fi; ` + b.cfg.LB.Hosts[1].TestCommand
	injected, err := connect.Dial(ctx, &cfg, connect.Options{})
	if err != nil {
		return Row{}, err
	}
	defer injected.Close()
	e, _, err := b.engine()
	if err != nil {
		return Row{}, err
	}
	r, t0, fr, err := b.releaseWithFault(ctx, e, func() {
		e.Router, e.Preflight = injected.Router, injected.Router.Check
	}, func(ev deployer.Event) bool {
		return ev.Type == deployer.EventStepStarted && ev.Kind == "route"
	}, func() error { return nil })
	if err != nil {
		return Row{}, err
	}
	row := b.faultRow(RowFaultNginx, r, t0, fr, "001")
	row.Targets = []Target{target("failed = 0", row.Failed == 0), target("lost = 0", row.Lost == 0), exitTarget(fr, 3, "")}
	return row, nil
}

// faultSSH kills the sshd process serving zdd's connection to lb1 as the first deploy step
// starts: the routing changes after it must re-dial, and the release finish (exit 0).
func (b *bench) faultSSH(ctx context.Context) (Row, error) {
	if len(b.cluster.Runners) == 0 {
		return Row{}, errors.New("no load-balancer connection")
	}
	rn := b.cluster.Runners[0]
	e, _, err := b.engine()
	if err != nil {
		return Row{}, err
	}
	r, t0, fr, err := b.releaseWithFault(ctx, e, nil, func(ev deployer.Event) bool {
		return ev.Type == deployer.EventStepStarted && ev.Kind == "deploy"
	}, func() error { return cutSSH(ctx, rn) })
	if err != nil {
		return Row{}, err
	}
	row := b.faultRow(RowFaultSSH, r, t0, fr, "002")
	row.Targets = []Target{target("failed = 0", row.Failed == 0), target("lost = 0", row.Lost == 0), exitTarget(fr, 0, "")}
	return row, nil
}

// cutSSH kills the sshd process serving rn's connection (the parent of the remote shell).
func cutSSH(ctx context.Context, rn remote.Runner) error {
	out, err := rn.Run(ctx, "echo $PPID", nil)
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		return fmt.Errorf("pid of the sshd child of %s: %w", rn.Host(), err)
	}
	return syscall.Kill(pid, syscall.SIGKILL)
}

// RowNames lists the names Options.Only accepts (RowScale3 selects both scale rows).
func RowNames() []string {
	return append([]string{RowScale3, RowNaive, RowZddRR, RowFloorA, RowFloorB, RowRollback, RowRollbackHard, RowBig}, append(FaultRows, RowZddSticky)...)
}
