package testenvcmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/testenv"
	"github.com/saitodrom/zdd/testenv/bench"
	"github.com/saitodrom/zdd/watch"
	"github.com/saitodrom/zdd/watch/chart"
)

// LoadOptions are the options of `zdd testenv load`.
type LoadOptions struct {
	IO              *iostreams.IOStreams
	Dir             string
	URLs            []string
	Users           int
	NewSessionEvery int
	Duration        time.Duration
	Alternate       bool
	Output          string
	// Chart is a file to write the load's timeline to as an SVG chart (package watch/chart);
	// Events, the JSON events of a release that ran during the load, drawn as its steps.
	Chart, Events string
}

func newCmdLoad(f *cmdutil.Factory, dir *string) *cobra.Command {
	opts := &LoadOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "load [URL...]",
		Short: "Send session-keeping load and report failed requests and lost sessions (exit 1 if any)",
		Long: `load runs virtual users, each with its own cookie jar, that request the sample application's
page back to back and start a new session every --new-session-every requests. It records every
failed request (non-2xx or transport error), every lost session (the session id changed, the
per-session counter did not advance by one, or the version changed under a session) and which
version served new and existing sessions, second by second. The default URLs are both load
balancers' /app/ of the running testenv. It exits 1 when anything failed or was lost.`,
		Example: "  zdd testenv load --duration 60s &  zdd deploy app-002.war; wait",
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir, opts.URLs = *dir, args
			if opts.Output != "text" && opts.Output != "json" {
				return cmdutil.FlagErrorf("--output must be text or json, not %q", opts.Output)
			}
			return RunLoad(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.Users, "users", 20, "number of virtual users")
	cmd.Flags().IntVar(&opts.NewSessionEvery, "new-session-every", 50, "a user starts a new session after this many requests")
	cmd.Flags().DurationVar(&opts.Duration, "duration", 30*time.Second, "how long to send load (Ctrl-C ends it early)")
	cmd.Flags().BoolVar(&opts.Alternate, "alternate", false, "every request goes to the next URL (the worst case for a pair of load balancers)")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "text", "text or json")
	cmd.Flags().StringVar(&opts.Chart, "chart", "", "write the timeline to this SVG file at the end (checked writable before the load starts)")
	cmd.Flags().StringVar(&opts.Events, "events", "", "with --chart: the JSON events of a release run during the load (zdd deploy -o json > FILE), drawn as its steps")
	return cmd
}

// RunLoad sends the load and prints the report; the error is non-nil when anything failed.
func RunLoad(ctx context.Context, opts *LoadOptions) error {
	if opts.Events != "" && opts.Chart == "" {
		return cmdutil.FlagErrorf("--events are drawn on the chart: give --chart FILE too")
	}
	if opts.Chart != "" {
		if err := chart.CheckWritable(opts.Chart); err != nil {
			return fmt.Errorf("--chart: %w", err)
		}
	}
	urls := opts.URLs
	if len(urls) == 0 {
		env, err := testenv.Load(opts.Dir)
		if err != nil {
			return err
		}
		for _, l := range env.LBs {
			urls = append(urls, l.URL+"/"+env.App+"/")
		}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, opts.Duration)
	defer cancel()
	fmt.Fprintf(opts.IO.ErrOut, "load: %d users on %s for %s\n", opts.Users, strings.Join(urls, ", "), opts.Duration)
	r := watch.Run(ctx, watch.Options{URLs: urls, Users: opts.Users, NewSessionEvery: opts.NewSessionEvery, Alternate: opts.Alternate})
	if opts.Output == "json" {
		if err := json.NewEncoder(opts.IO.Out).Encode(r); err != nil {
			return err
		}
	} else {
		writeLoadText(opts.IO.Out, r)
	}
	if opts.Chart != "" {
		title := fmt.Sprintf("zdd testenv load: %d users on %s", opts.Users, strings.Join(urls, ", "))
		if err := writeLoadChart(opts, title, r); err != nil {
			return errors.Join(r.Err(), err)
		}
	}
	return r.Err()
}

// writeLoadChart writes the chart of --chart, with the steps of --events when given; when
// the events cannot be read, the chart is written without them and the error returned.
func writeLoadChart(opts *LoadOptions, title string, r *watch.Report) error {
	events, everr := readEvents(opts.Events)
	if err := chart.WriteFile(opts.Chart, chart.FromReport(title, r, events)); err != nil {
		return errors.Join(everr, err)
	}
	fmt.Fprintf(opts.IO.ErrOut, "load: wrote %s\n", opts.Chart)
	return everr
}

// readEvents reads the --events file (none: no events).
func readEvents(path string) ([]deployer.Event, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--events: %w", err)
	}
	defer f.Close()
	events, err := chart.ReadEvents(f)
	if err != nil {
		return nil, fmt.Errorf("--events %s: %w", path, err)
	}
	return events, nil
}

// writeLoadText prints the summary, the versions second by second, and the first failures.
func writeLoadText(w io.Writer, r *watch.Report) {
	fmt.Fprintln(w, r.String())
	for _, v := range watch.Versions(r.NewSessionVersions) {
		fmt.Fprintf(w, "version %s: first new session at %s, last at %s\n", v,
			r.FirstNewVersion[v].Round(time.Millisecond), r.LastNewVersion[v].Round(time.Millisecond))
	}
	fmt.Fprintln(w, "second  requests  failed  lost  new sessions by version  existing sessions by version")
	for _, s := range r.Timeline {
		fmt.Fprintf(w, "%6d  %8d  %6d  %4d  %-23s  %s\n", s.At, s.Requests, s.Failed, s.Lost, counts(s.New), counts(s.Existing))
	}
	for i, f := range r.Failures {
		if i == 20 {
			fmt.Fprintf(w, "... %d more failures\n", r.Failed+r.LostSessions-20)
			break
		}
		kind := "failed"
		if f.Lost {
			kind = "lost"
		}
		fmt.Fprintf(w, "%s %s user %d: %s\n", f.At.Round(time.Millisecond), kind, f.User, f.What)
	}
}

func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s:%d", k, m[k]))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// BenchOptions are the options of `zdd testenv bench`.
type BenchOptions struct {
	IO       *iostreams.IOStreams
	Dir      string
	Short    bool
	Output   string
	JSONFile string
	// Rows names the rows to measure (bench.Row* names, or "faults" for every fault row);
	// empty measures every row.
	Rows []string
	// From, when set, reads a result written by --json-file instead of running.
	From string
	// Update names Markdown files whose generated regions get the result (docs/bench.md,
	// README.md).
	Update []string
	// Charts is a directory to write one SVG chart per row under load into (docs/bench);
	// the Update files then embed them. Empty: no charts.
	Charts string
}

func newCmdBench(f *cmdutil.Factory, dir *string) *cobra.Command {
	opts := &BenchOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure releases side by side on the local cluster, with the targets met or missed",
		Long: `bench measures, in one run on the running testenv, under session-keeping load: the naive
way (deploy?update=true node after node), zdd's release in round-robin and sticky mode, the
floor (zdd's own Manager and load-balancer calls with no checks; and all nodes at once),
zdd rollback (default and --hard), a 200 MB WAR released by this binary as a child process
(wall time and peak RSS), the engine against 50 simulated Managers versus 3, and faults during
a release (not with --short): n3 killed while alone in rotation, the oldest cluster member
frozen during another node's deploy, nginx -t failing on lb2, zdd's SSH connection to lb1 cut.
Each figure is printed beside its target with met or MISSED. It undeploys the sample
application, restarts or thaws what a fault row stopped, and leaves the cluster in
round-robin mode. Takes several minutes; --short is the CI form.

--update FILE rewrites the generated regions of FILE (docs/bench.md, README.md) with the
result; --charts DIR writes one SVG chart per row under load (the load second by second and
the steps that ran) into DIR, and --update embeds them; --from bench.json does so (or prints)
from an earlier run without measuring.
See docs/bench.md.`,
		Example: `  zdd testenv bench --update docs/bench.md --update README.md
  zdd testenv bench --rows faults
  zdd testenv bench --charts docs/bench --update docs/bench.md --update README.md
  zdd testenv bench --from bench.json --json-file "" --update docs/bench.md --update README.md`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Dir = *dir
			if opts.Output != "text" && opts.Output != "json" && opts.Output != "markdown" && opts.Output != "evidence" {
				return cmdutil.FlagErrorf("--output must be text, json, markdown or evidence, not %q", opts.Output)
			}
			if opts.From != "" && (opts.Short || len(opts.Rows) > 0) {
				return cmdutil.FlagErrorf("--from reads an earlier result: --short and --rows apply to a run")
			}
			if err := checkRows(opts.Rows); err != nil {
				return err
			}
			return RunBench(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Short, "short", false, "fewer users and shorter load (CI)")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "text", "text, json, markdown (docs/bench.md's table) or evidence (README's)")
	cmd.Flags().StringVar(&opts.JSONFile, "json-file", "bench.json", "also write the result as JSON here (empty: don't)")
	cmd.Flags().StringArrayVar(&opts.Rows, "rows", nil, `measure only this row (its name as printed, or "faults" for every fault row); repeatable`)
	cmd.Flags().StringVar(&opts.From, "from", "", "read the result from this JSON file (written by --json-file) instead of measuring")
	cmd.Flags().StringArrayVar(&opts.Update, "update", nil, "rewrite the generated regions of this Markdown file with the result; repeatable")
	cmd.Flags().StringVar(&opts.Charts, "charts", "", "write one SVG chart per row under load into this directory (docs/bench), embedded by --update")
	return cmd
}

// RunBench runs the benchmark; its error is non-nil when a zdd release failed a request or
// lost a session (a missed time or memory target is printed, not an error).
func RunBench(ctx context.Context, opts *BenchOptions) error {
	logf := func(format string, args ...any) {
		fmt.Fprintf(opts.IO.ErrOut, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	if opts.Charts != "" {
		if err := bench.CheckChartDir(opts.Charts); err != nil {
			return fmt.Errorf("--charts: %w", err)
		}
	}
	res, err := benchResult(ctx, opts, logf)
	if res == nil {
		return err
	}
	if opts.Charts != "" {
		if cerr := res.WriteCharts(opts.Charts); cerr != nil {
			return errors.Join(err, cerr)
		}
		logf("wrote the charts into %s", opts.Charts)
	}
	for _, path := range opts.Update {
		if uerr := res.UpdateFile(path); uerr != nil {
			return errors.Join(err, uerr)
		}
		logf("updated %s", path)
	}
	if opts.JSONFile != "" {
		b, jerr := json.MarshalIndent(res, "", "  ")
		if jerr == nil {
			jerr = os.WriteFile(opts.JSONFile, append(b, '\n'), 0o644)
		}
		if jerr != nil {
			return errors.Join(err, jerr)
		}
		logf("wrote %s", opts.JSONFile)
	}
	switch opts.Output {
	case "json":
		if jerr := json.NewEncoder(opts.IO.Out).Encode(res); jerr != nil {
			return jerr
		}
	case "markdown":
		res.WriteMarkdown(opts.IO.Out)
	case "evidence":
		res.WriteEvidence(opts.IO.Out)
	default:
		res.WriteText(opts.IO.Out)
	}
	if f := res.ReleaseFailures(); len(f) > 0 {
		err = errors.Join(err, fmt.Errorf("bench: a zdd release failed requests or lost sessions: %s", strings.Join(f, "; ")))
	}
	return err
}

// benchResult runs the benchmark, or reads the result of --from.
func benchResult(ctx context.Context, opts *BenchOptions, logf func(string, ...any)) (*bench.Result, error) {
	if opts.From != "" {
		b, err := os.ReadFile(opts.From)
		if err != nil {
			return nil, err
		}
		var res bench.Result
		if err := json.Unmarshal(b, &res); err != nil {
			return nil, fmt.Errorf("bench: read %s: %w (give a file that --json-file wrote)", opts.From, err)
		}
		return &res, nil
	}
	env, err := testenv.Load(opts.Dir)
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	return bench.Run(ctx, bench.Options{Env: env, Short: opts.Short, ZDD: self, Log: logf, Only: expandRows(opts.Rows)})
}

// expandRows replaces "faults" by the fault rows' names.
func expandRows(rows []string) []string {
	var out []string
	for _, r := range rows {
		if r == "faults" {
			out = append(out, bench.FaultRows...)
		} else {
			out = append(out, r)
		}
	}
	return out
}

// checkRows refuses a --rows value that names no row.
func checkRows(rows []string) error {
	known := map[string]bool{"faults": true}
	for _, n := range bench.RowNames() {
		known[n] = true
	}
	for _, r := range rows {
		if !known[r] {
			return cmdutil.FlagErrorf("--rows %q names no row; the rows are \"faults\" and:\n  %s", r, strings.Join(bench.RowNames(), "\n  "))
		}
	}
	return nil
}
