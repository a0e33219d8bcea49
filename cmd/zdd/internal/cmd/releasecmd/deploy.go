package releasecmd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/internal/redact"
	"github.com/saitodrom/zdd/internal/tlsconf"
	"github.com/saitodrom/zdd/watch"
	"github.com/saitodrom/zdd/watch/chart"
)

// DeployOptions are the inputs of `zdd deploy`.
type DeployOptions struct {
	Deps
	ReleaseFlags
	// Timeout bounds the whole release; its expiry is handled like Ctrl-C (exit 130). Zero: none.
	Timeout time.Duration
	// Watch are public URLs that a few synthetic session-keeping users request during the
	// release; a failed request or a lost session fails the release like a gate (rolled back).
	Watch []string
	// Chart, with Watch, is a file to write the watch's timeline and the release's steps to,
	// as an SVG chart (package watch/chart), when the release ends. Empty: no chart.
	Chart string
}

// NewCmdDeploy returns `zdd deploy APP.war`. runF, if not nil, replaces the logic (tests).
func NewCmdDeploy(f *cmdutil.Factory, runF func(context.Context, *DeployOptions) error) *cobra.Command {
	opts := &DeployOptions{Deps: newDeps(f)}
	cmd := &cobra.Command{
		Use:   "deploy APP.war",
		Short: "Release a WAR to every node with zero downtime",
		Long: `Release a WAR to every node: preflight (every node's Manager, both load balancers,
the database writer, the WAR, free space), then batches of nodes taken out of rotation, given
the new version, checked by the gates and put back, then the drain of the old version.
A failed gate rolls the whole fleet back (exit 3). When the running version was deployed
before zdd, preflight warns that zdd has no WAR of it; --previous-war FILE --previous-version V
registers that WAR (with its checksum) so that ` + "`zdd rollback`" + ` can go back to it softly. See ` + "`zdd plan`" + ` for the steps and
` + "`zdd help exit-codes`" + ` for what each exit code means.`,
		Example: "  zdd deploy target/app.war\n  zdd deploy app.war --version 042 --output json --lock-wait 10m --timeout 30m",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.WAR = args[0]
			opts.VersionSet = cmd.Flags().Changed("version")
			if err := opts.prepare(f, cmd, args, opts.Output); err != nil {
				return err
			}
			if opts.Chart != "" && len(opts.Watch) == 0 {
				return cmdutil.FlagErrorf("--chart draws what --watch recorded: give --watch URL too")
			}
			return cmdutil.RunOr(cmd.Context(), opts, runF, RunDeploy)
		},
	}
	addReleaseFlags(cmd, &opts.ReleaseFlags)
	addLockWaitFlag(cmd)
	cmd.Flags().StringArrayVar(&opts.Watch, "watch", nil, "a public URL (a page that keeps a session) that a few synthetic users request during the release; a failed request or lost session rolls it back (repeatable)")
	cmd.Flags().StringVar(&opts.Chart, "chart", "", "with --watch: write the release's timeline (requests, failures, sessions per version, steps) to this SVG file when it ends")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 0, "bound the whole release; at expiry zdd stops as on Ctrl-C (routing safe, exit 130)")
	return cmd
}

// addLockWaitFlag adds --lock-wait, bound to strategy.lock_wait when the command runs.
func addLockWaitFlag(cmd *cobra.Command) {
	cmd.Flags().Duration("lock-wait", 0, "wait this long for another release's lock (default strategy.lock_wait; 0 fails at once with exit 5)")
}

// RunDeploy runs a release and returns its classified error.
func RunDeploy(ctx context.Context, opts *DeployOptions) (err error) {
	ctx, cancel := withTimeout(ctx, opts.Timeout)
	defer cancel()
	started := time.Now()
	rep := newReporter(opts.IO, opts.Output)
	var plan *plan.Plan
	app := ""
	var running []string // nil until read: the summary then says so instead of "nothing"
	defer func() {
		err = finalError(ctx, "deploy", opts.Timeout, err)
		if plan != nil {
			rep.finish(err, plan.App, plan.From, plan.To, started)
		} else {
			rep.finish(err, app, running, opts.Version, started)
		}
	}()
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	app = cfg.App.Name
	events, err := recordForChart(opts, rep)
	if err != nil {
		return err
	}
	if err := opts.checkVersion(cfg); err != nil {
		return err
	}
	war, err := warInfo(opts.WAR)
	if err != nil {
		return err
	}
	// run.Ctx is a context of its own: finalError must see only Ctrl-C and --timeout on ctx;
	// it also ends when `zdd rollback` takes the lease over (from a draining release).
	run, err := opts.startUnlocked(ctx, cfg, rep, war.Size)
	if err != nil {
		return err
	}
	defer run.Close()
	runCtx, e := run.Ctx, run.Engine
	e.Spec.NoDrain = opts.NoDrain
	if plan, running, err = buildPlan(runCtx, e, opts.Version, war); err != nil {
		return err
	}
	prev, err := checkPrevious(runCtx, e, opts.PreviousFlags, war, func(msg string) {
		rep.Emit(deployer.Event{Schema: deployer.EventSchema, Time: time.Now(), Type: deployer.EventWarning, Message: msg})
	})
	if err != nil {
		return err
	}
	// The lease only once the version (and --previous-war) is known to be good: a refusal changes nothing, not even
	// the lease's generation. The preflight step checks the versions again under the lease.
	if err := run.Lock(cfg, opts.Who, rep); err != nil {
		return err
	}
	runCtx = run.Ctx
	if opts.Version == "" && !opts.VersionSet {
		// Another release may have run while this one waited for the lease: the next version
		// is computed again from what the nodes run now.
		if plan, running, err = buildPlan(runCtx, e, "", war); err != nil {
			return err
		}
	}
	if prev != nil {
		if _, err := e.RegisterPrevious(opts.PreviousVersion, *prev, run.Held.Lease()); err != nil {
			return err
		}
	}
	stop, err := watchRelease(runCtx, cfg, opts, e, plan, events)
	if err != nil {
		return err
	}
	defer stop()
	return e.Start(runCtx, plan, run.Held.Lease())
}

// recordForChart checks --chart and, when it is given, records the run's events for it. The
// check comes before anything is read or changed: a release that cannot leave its chart is refused.
func recordForChart(opts *DeployOptions, rep *reporter) (*chart.Recorder, error) {
	if opts.Chart == "" {
		return nil, nil
	}
	if err := chart.CheckWritable(opts.Chart); err != nil {
		return nil, outcome.WithHint(outcome.Classify(outcome.ErrPreflight, fmt.Errorf("--chart: %w", err)),
			"give --chart a file in an existing, writable directory")
	}
	events := &chart.Recorder{}
	rep.also = events
	return events, nil
}

// watchRelease starts --watch, if given, and feeds its failed requests to the engine (e.Watch).
// The returned stop ends the watch and writes --chart from its report and events.
func watchRelease(ctx context.Context, cfg *config.Config, opts *DeployOptions, e *deployer.Engine, p *plan.Plan, events *chart.Recorder) (stop func(), err error) {
	if len(opts.Watch) == 0 {
		return func() {}, nil
	}
	tlsCfg, err := tlsconf.Client(cfg.Tomcat.CAFile)
	if err != nil {
		return nil, outcome.Classify(outcome.ErrPreflight, fmt.Errorf("--watch: tomcat.ca_file: %w", err))
	}
	w := watch.Watch(ctx, watch.WatchOptions{URLs: opts.Watch, TLS: tlsCfg})
	e.Watch = watchErrors(ctx, w)
	return func() {
		r := w.Stop()
		if events != nil {
			writeChart(opts, p, r, events.Events())
		}
	}, nil
}

// writeChart writes the chart of --chart. The release has ended: a failure to write is
// reported on stderr and does not change the release's outcome.
func writeChart(opts *DeployOptions, plan *plan.Plan, r *watch.Report, events []deployer.Event) {
	title := fmt.Sprintf("zdd deploy %s %s -> %s, watching %s", plan.App, strings.Join(plan.From, ","), plan.To, redact.URL(opts.Watch[0]))
	for _, e := range events {
		if e.Type == deployer.EventSummary && e.Summary != nil {
			title += ": " + e.Summary.Outcome
		}
	}
	if err := chart.WriteFile(opts.Chart, chart.FromReport(title, r, events)); err != nil {
		fmt.Fprintf(opts.IO.ErrOut, "zdd: error: --chart: %v\n", err)
	}
}

// watchErrors turns the watcher's first failure into the engine's Watch error.
func watchErrors(ctx context.Context, w *watch.Watcher) <-chan error {
	ch := make(chan error, 1)
	go func() {
		select {
		case f := <-w.Failed():
			what := "request failed"
			if f.Lost {
				what = "session lost"
			}
			ch <- fmt.Errorf("%s at %s: %s", what, f.At.Round(time.Millisecond), f.What)
		case <-ctx.Done():
		}
	}()
	return ch
}
