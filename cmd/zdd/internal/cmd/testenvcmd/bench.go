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
	"github.com/saitodrom/zdd/testenv"
	"github.com/saitodrom/zdd/testenv/bench"
	"github.com/saitodrom/zdd/testenv/load"
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
	return cmd
}

// RunLoad sends the load and prints the report; the error is non-nil when anything failed.
func RunLoad(ctx context.Context, opts *LoadOptions) error {
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
	r := load.Run(ctx, load.Options{URLs: urls, Users: opts.Users, NewSessionEvery: opts.NewSessionEvery, Alternate: opts.Alternate})
	if opts.Output == "json" {
		if err := json.NewEncoder(opts.IO.Out).Encode(r); err != nil {
			return err
		}
	} else {
		writeLoadText(opts.IO.Out, r)
	}
	return r.Err()
}

// writeLoadText prints the summary, the versions second by second, and the first failures.
func writeLoadText(w io.Writer, r *load.Report) {
	fmt.Fprintln(w, r.String())
	for _, v := range load.Versions(r.NewSessionVersions) {
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
(wall time and peak RSS), and the engine against 50 simulated Managers versus 3. Each figure is
printed beside its target with met or MISSED. It undeploys the sample application and leaves
the cluster in round-robin mode. Takes several minutes; --short is the CI form.
See docs/bench.md.`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Dir = *dir
			if opts.Output != "text" && opts.Output != "json" && opts.Output != "markdown" {
				return cmdutil.FlagErrorf("--output must be text, json or markdown, not %q", opts.Output)
			}
			return RunBench(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Short, "short", false, "fewer users and shorter load (CI)")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "text", "text, json or markdown")
	cmd.Flags().StringVar(&opts.JSONFile, "json-file", "bench.json", "also write the result as JSON here (empty: don't)")
	return cmd
}

// RunBench runs the benchmark; its error is non-nil when a zdd release failed a request or
// lost a session (a missed time or memory target is printed, not an error).
func RunBench(ctx context.Context, opts *BenchOptions) error {
	env, err := testenv.Load(opts.Dir)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	logf := func(format string, args ...any) {
		fmt.Fprintf(opts.IO.ErrOut, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	res, err := bench.Run(ctx, bench.Options{Env: env, Short: opts.Short, ZDD: self, Log: logf})
	if res == nil {
		return err
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
	default:
		res.WriteText(opts.IO.Out)
	}
	if f := res.ReleaseFailures(); len(f) > 0 {
		err = errors.Join(err, fmt.Errorf("bench: a zdd release failed requests or lost sessions: %s", strings.Join(f, "; ")))
	}
	return err
}
