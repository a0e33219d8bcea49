// Package releasecmd implements the release commands: `zdd plan`, `zdd deploy`, `zdd promote`,
// `zdd drain` and `zdd status`.
//
// Each command has an Options struct and a Run function that never sees cobra; the cluster is
// reached through a DialFunc (connect.Dial in production, fakes in tests), so the logic, the
// output selection and the exit codes are tested without servers.
//
// # Output
//
// Events go to a deployer.Sink chosen once per run (see newReporter): with --output json,
// deployer.JSONSink on stdout (one object per event, the summary last); otherwise, on stderr,
// progress bars for upload and drain progress when stderr is a terminal, or deployer.TextSink's
// plain timestamped lines when it is not. In text mode one short result line goes to stdout.
package releasecmd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/cmd/zdd/internal/wiring"
	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// Cluster is what the release commands use of the cluster (see wiring.Cluster).
type Cluster = wiring.Cluster

// DatabaseStatus is the database part of `zdd status`.
type DatabaseStatus = wiring.DatabaseStatus

// DialFunc connects to the cluster described by cfg.
type DialFunc = wiring.DialFunc

// Dial connects to the cluster (wiring.Dial).
var Dial DialFunc = wiring.Dial

// Deps are what every release command takes from the factory.
type Deps struct {
	// IO are the standard streams.
	IO *iostreams.IOStreams
	// Config resolves and validates the configuration.
	Config func() (*config.Config, error)
	// Dial connects to the cluster.
	Dial DialFunc
	// Who is this process, for the release lock and the journal (set when the command runs).
	Who state.Lease
}

func newDeps(f *cmdutil.Factory) Deps {
	return Deps{IO: f.IOStreams, Config: f.Config, Dial: Dial}
}

// start dials the cluster, builds the engine with every seam and takes the release lease,
// waiting up to strategy.lock_wait (see wiring.Start).
func (d *Deps) start(ctx context.Context, cfg *config.Config, sink deployer.Sink, warSize int64) (*wiring.Run, error) {
	return wiring.Start(ctx, cfg, wiring.Options{Dial: d.Dial, Who: d.Who, Sink: sink, Lock: true, WARSize: warSize})
}

// startUnlocked is start without the lease: the caller takes it with Run.Lock once its input
// is checked against the cluster.
func (d *Deps) startUnlocked(ctx context.Context, cfg *config.Config, sink deployer.Sink, warSize int64) (*wiring.Run, error) {
	return wiring.Start(ctx, cfg, wiring.Options{Dial: d.Dial, Who: d.Who, Sink: sink, WARSize: warSize})
}

// whoAmI describes this process for the lock (wiring.WhoAmI).
func whoAmI(cmd *cobra.Command, args []string) state.Lease { return wiring.WhoAmI(cmd, args) }

// prepare is the common start of the RunE of a command that takes the release lease (deploy,
// promote, drain): the --output check, --lock-wait bound to strategy.lock_wait, and who runs it.
func (d *Deps) prepare(f *cmdutil.Factory, cmd *cobra.Command, args []string, output string) error {
	if err := checkOutput(output); err != nil {
		return err
	}
	f.BindFlag("strategy.lock_wait", cmd.Flags().Lookup("lock-wait"))
	d.Who = whoAmI(cmd, args)
	return nil
}

// withTimeout bounds ctx by timeout (none when zero).
func withTimeout(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, timeout)
}

// finalError classifies err for the exit code: an error after the context ended (Ctrl-C or
// --timeout) that carries no stronger class is an interruption (exit 130), and a preflight
// failure without a hint gets one that names the next step.
func finalError(ctx context.Context, command string, timeout time.Duration, err error) error {
	if err == nil {
		return nil
	}
	stopped := outcome.Code(err) == outcome.Code(outcome.ErrPreflight) ||
		(errors.Is(err, context.Canceled) && !errors.Is(err, outcome.ErrInterrupted)) // a bare cancellation says nothing
	if ctx.Err() != nil && stopped {
		why := "interrupted"
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			why = fmt.Sprintf("--timeout %s expired", timeout)
		}
		return outcome.WithHint(outcome.Classify(outcome.ErrInterrupted, fmt.Errorf("%s: %s: %w", command, why, err)),
			"`zdd status` shows where the cluster is")
	}
	if outcome.Code(err) == outcome.Code(outcome.ErrPreflight) && outcome.Hint(err) == "" {
		return outcome.WithHint(outcome.Classify(outcome.ErrPreflight, err), preflightHint(err, command))
	}
	return err
}

// preflightHint names the next step for a failure before anything changed.
func preflightHint(err error, command string) string {
	switch {
	case errors.Is(err, tomcatmgr.ErrAuth):
		return "nothing was changed; check tomcat.user and its password (ZDD_TOMCAT_PASSWORD or tomcat.password_file); zdd never retries a refused login, since repeated failures lock the user"
	case errors.Is(err, tomcatmgr.ErrForbidden):
		return "nothing was changed; the Manager user needs the roles manager-script and manager-jmx, and the Manager must accept this host's address"
	case errors.Is(err, tomcatmgr.ErrUnreachable), errors.Is(err, tomcatmgr.ErrTimeout):
		return "nothing was changed; start the node (or fix its manager_url), check it with `zdd status`, then run `zdd " + command + "` again"
	case errors.Is(err, tomcatmgr.ErrInvalid):
		return "nothing was changed; pass the WAR built by your pipeline (a zip archive with WEB-INF/web.xml)"
	}
	return "nothing was changed; fix the cause above and run `zdd " + command + "` again"
}
