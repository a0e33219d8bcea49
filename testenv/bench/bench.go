// Package bench measures, on the local test cluster and in one run, what a release costs in
// failed requests, lost sessions and time: the naive way (`deploy?update=true` node after
// node), zdd's release in both load-balancer modes, two floors (zdd's own Manager and
// load-balancer calls with no checks, and a parallel deploy to every node), zdd's rollback
// (default and hard), a 200 MB WAR (wall time and zdd's peak RSS as a separate process), and
// the engine's cost per node against 50 simulated Manager endpoints versus 3; and, in the full
// run only, faults injected during a zdd release (issue 12): a node in rotation killed, the
// oldest cluster member frozen, a failing `nginx -t`, a cut SSH connection.
//
// Every figure is printed beside its target from issues 8 and 12 with "met" or "MISSED";
// nothing is tuned to hide a miss. `zdd testenv bench` runs it; docs/bench.md holds the latest
// full run, and WriteEvidence / UpdateFile generate its table and the README's Evidence section.
package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/testenv"
)

// Options configures a run.
type Options struct {
	// Env is the running test cluster; its mode is switched to sticky for one row and back.
	Env *testenv.Env
	// Short uses fewer users and shorter load (for CI).
	Short bool
	// Users is the number of session-keeping users. Zero means 20 (6 when Short).
	Users int
	// Settle is how long the load runs before and after each measured action. Zero means 3 s
	// (1 s when Short).
	Settle time.Duration
	// ZDD is the zdd binary to run as a separate process for the 200 MB row; empty leaves that
	// row not measured.
	ZDD string
	// BigMB is the size of the padding of the big WAR. Zero means 200.
	BigMB int
	// SimNodes is the size of the large simulated cluster. Zero means 50.
	SimNodes int
	// Only, when not empty, names the rows to measure (the Row* constants, see RowNames;
	// RowScale3 selects both scale rows); the others are left out of the result. When empty,
	// every row is measured, except the fault rows (FaultRows) when Short.
	Only []string
	// SkipScale leaves the simulated-cluster rows out (CI measures the real cluster only).
	SkipScale bool
	// SimDeploy is how long a simulated deploy takes. Zero means 500 ms.
	SimDeploy time.Duration
	// WorkDir holds the WARs and the journals of the run. Empty means a new temporary directory,
	// removed at the end.
	WorkDir string
	// Log receives progress lines; nil discards them.
	Log func(format string, args ...any)
}

// Target is one goal of the issue, with the figure it applies to and whether it was met.
type Target struct {
	// Goal is the target, e.g. "failed = 0" or "wall <= 1.5x floor (a)".
	Goal string `json:"goal"`
	// Met tells whether the figure meets it.
	Met bool `json:"met"`
}

// Row is one line of the table.
type Row struct {
	// Name says what was measured.
	Name string `json:"name"`
	// Zdd tells a row that measures zdd (CI fails when such a release row failed or lost).
	Zdd bool `json:"zdd"`
	// Release tells the rows of a zdd release (not a rollback): CI's zero-failure rule.
	Release bool `json:"release"`
	// Measured is false when the row could not be measured; Note says why.
	Measured bool `json:"measured"`
	// Mode is the load-balancer mode, when under load.
	Mode string `json:"mode,omitempty"`
	// Requests, Failed and Lost come from the load checker (-1: no load during this row).
	Requests int `json:"requests"`
	Failed   int `json:"failed"`
	Lost     int `json:"lost_sessions"`
	// Wall is the wall time of the action, in seconds.
	Wall float64 `json:"wall_s"`
	// NewAfter is the time from the start of the action until every node in rotation gave new
	// sessions the new (or, for a rollback, the previous) code, in seconds; -1 when unknown.
	NewAfter float64 `json:"new_sessions_switched_s"`
	// Figures holds other figures of the row (e.g. "peak_rss_mb", "ratio", "per_node_overhead_ms").
	Figures map[string]float64 `json:"figures,omitempty"`
	// Targets are the goals that apply to the row.
	Targets []Target `json:"targets,omitempty"`
	// Fault holds a fault row's figures (issue 12); nil for the fault-free rows.
	Fault *Fault `json:"fault,omitempty"`
	// Note explains the row.
	Note string `json:"note,omitempty"`
	// Trace is the row's load timeline and steps, for its chart; nil for a row without load.
	Trace *Trace `json:"trace,omitempty"`
	// Chart is the file name of the row's chart in Result.ChartDir (see WriteCharts).
	Chart string `json:"chart,omitempty"`
}

// Result is a whole run.
type Result struct {
	// Date is when the run started (UTC).
	Date time.Time `json:"date"`
	// Machine describes where it ran.
	Machine string `json:"machine"`
	// Short, Users and Settle are the load's settings.
	Short  bool    `json:"short"`
	Users  int     `json:"users"`
	Settle float64 `json:"settle_s"`
	// Rows are the measurements, in order.
	Rows []Row `json:"rows"`
	// Duration is how long the whole run took, in seconds.
	Duration float64 `json:"duration_s"`
	// ChartDir is where WriteCharts wrote the rows' charts; empty: none written.
	ChartDir string `json:"-"`
	// linkBase is the directory of the Markdown file being written, for the charts' links.
	linkBase string
}

// Missed lists the targets that were not met, as "row: goal".
func (r *Result) Missed() []string {
	var out []string
	for _, row := range r.Rows {
		for _, t := range row.Targets {
			if !t.Met {
				out = append(out, row.Name+": "+t.Goal)
			}
		}
	}
	return out
}

// ReleaseFailures lists the zdd release rows that failed a request or lost a session: what CI
// refuses.
func (r *Result) ReleaseFailures() []string {
	var out []string
	for _, row := range r.Rows {
		if row.Release && row.Measured && (row.Failed != 0 || row.Lost != 0) {
			out = append(out, fmt.Sprintf("%s: %d failed, %d lost sessions", row.Name, row.Failed, row.Lost))
		}
	}
	return out
}

func (o *Options) defaults() {
	if o.Users == 0 {
		o.Users = 20
		if o.Short {
			o.Users = 6
		}
	}
	if o.Settle == 0 {
		o.Settle = 3 * time.Second
		if o.Short {
			o.Settle = time.Second
		}
	}
	if o.BigMB == 0 {
		o.BigMB = 200
	}
	if o.SimNodes == 0 {
		o.SimNodes = 50
	}
	if o.SimDeploy == 0 {
		o.SimDeploy = 500 * time.Millisecond
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
}

func (o *Options) selected(name string) bool {
	if len(o.Only) == 0 {
		return true
	}
	for _, n := range o.Only {
		if n == name {
			return true
		}
	}
	return false
}

// Run measures every row. It returns an error only when the cluster could not be prepared or
// restored; a row that failed to measure is kept with Measured=false and its reason.
func Run(ctx context.Context, opts Options) (*Result, error) {
	opts.defaults()
	res := &Result{Date: time.Now().UTC(), Machine: Machine(), Short: opts.Short, Users: opts.Users, Settle: opts.Settle.Seconds()}
	t0 := time.Now()
	if opts.WorkDir == "" {
		dir, err := os.MkdirTemp("", "zdd-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		opts.WorkDir = dir
	}
	b, err := newBench(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer b.close()
	res.Rows = append(res.Rows, b.scale(ctx)...)
	res.Rows = append(res.Rows, b.clusterRows(ctx)...)
	res.Duration = time.Since(t0).Seconds()
	return res, b.restore(ctx)
}

// Machine describes this machine: host name, CPU model and count, OS.
func Machine() string {
	host, _ := os.Hostname()
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s: %d x %s, %s/%s, %s", host, runtime.NumCPU(), cpu, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// writeWAR builds the sample application into path.
func writeWAR(path string, opts testenv.WAROptions) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := testenv.BuildWAR(f, opts); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// warInfo is the WAR's path, checksum and size, as a release records them.
func warInfo(path string) (plan.WARInfo, error) { return deployer.InspectWAR(path, "") }
