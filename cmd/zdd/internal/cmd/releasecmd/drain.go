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
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// DrainOptions are the inputs of `zdd drain`.
type DrainOptions struct {
	Deps
	// Output is OutputText or OutputJSON.
	Output string
	// Timeout bounds the drain; zero: none (strategy.drain_timeout still applies).
	Timeout time.Duration
}

// NewCmdDrain returns `zdd drain`. runF, if not nil, replaces the logic (tests).
func NewCmdDrain(f *cmdutil.Factory, runF func(context.Context, *DrainOptions) error) *cobra.Command {
	opts := &DrainOptions{Deps: newDeps(f)}
	cmd := &cobra.Command{
		Use:   "drain",
		Short: "Retire the old versions left by `zdd deploy --no-drain`",
		Long: `Wait (up to strategy.drain_timeout, with progress) for the sessions of every version older
than the newest to end, then undeploy those versions from every node, then run the contract
migrations. Sessions still open at the deadline are kept (and their version with them) unless
strategy.expire_at_drain_deadline is set, which logs those users out.
With no old version deployed it exits 6 (nothing to do).`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.prepare(f, cmd, args, opts.Output); err != nil {
				return err
			}
			return cmdutil.RunOr(cmd.Context(), opts, runF, RunDrain)
		},
	}
	addOutputFlag(cmd, &opts.Output)
	addLockWaitFlag(cmd)
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 0, "bound the whole command; at expiry zdd stops as on Ctrl-C (exit 130)")
	return cmd
}

// RunDrain runs the drain steps as a release record of their own, under the lock.
func RunDrain(ctx context.Context, opts *DrainOptions) (err error) {
	ctx, cancel := withTimeout(ctx, opts.Timeout)
	defer cancel()
	started := time.Now()
	rep := newReporter(opts.IO, opts.Output)
	var rel *state.Release
	app := ""
	defer func() {
		err = finalError(ctx, "drain", opts.Timeout, err)
		if rel != nil {
			rep.finish(err, rel.Plan.App, rel.Plan.From, rel.Plan.To, started)
		} else {
			rep.finish(err, app, nil, "", started)
		}
	}()
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	app = cfg.App.Name
	run, err := opts.start(ctx, cfg, rep, 0)
	if err != nil {
		return err
	}
	defer run.Close()
	if err := noReleaseInProgress(cfg); err != nil {
		return err
	}
	if rel, err = drainRelease(run.Ctx, run.Engine, run.Held.Lease()); err != nil {
		return err
	}
	return run.Engine.Continue(run.Ctx, rel)
}

// noReleaseInProgress refuses to drain while the journal's release is paused or did not finish:
// the old version may still serve on nodes the release has not reached.
func noReleaseInProgress(cfg *config.Config) error {
	rel, err := (&state.Journal{Dir: cfg.State.Dir}).Current()
	if err != nil {
		return outcome.Classify(outcome.ErrNeedsAttention, err)
	}
	if rel == nil {
		return nil
	}
	switch rel.Status {
	case state.StatusPaused:
		return outcome.WithHint(outcome.Classify(outcome.ErrPreflight,
			fmt.Errorf("drain: release %s is paused after its canary; the old version still serves", rel.ID)),
			"nothing was changed; run `zdd promote` (or `zdd rollback`) first")
	case state.StatusRunning, state.StatusInterrupted:
		return outcome.WithHint(outcome.Classify(outcome.ErrPreflight,
			fmt.Errorf("drain: release %s did not finish (it is %s at step %d)", rel.ID, rel.Status, rel.Current+1)),
			"nothing was changed; `zdd status` shows where it stopped; finish or undo it first")
	}
	return nil
}

// drainRelease builds the release record that retires every version below the newest, after
// checking that every node runs the newest.
func drainRelease(ctx context.Context, e *deployer.Engine, who state.Lease) (*state.Release, error) {
	st, err := e.Observe(ctx)
	if err != nil {
		return nil, outcome.Classify(outcome.ErrPreflight, err)
	}
	versions := st.Versions()
	if len(versions) < 2 {
		what := "nothing is deployed"
		if len(versions) == 1 {
			what = "only " + versions[0] + " is deployed"
		}
		return nil, outcome.Classify(outcome.ErrNothingToDo, fmt.Errorf("drain: %s: no old version to retire", what))
	}
	newest, old := versions[len(versions)-1], versions[:len(versions)-1]
	names := e.Spec.NodeNames()
	if has := st.NodesWith(names, newest); len(has) != len(names) {
		return nil, outcome.WithHint(outcome.Classify(outcome.ErrPreflight,
			fmt.Errorf("drain: %s runs on %s only, not on every node (%s)", newest, strings.Join(has, ","), strings.Join(names, ","))),
			"nothing was changed; the old version still serves where the new one is missing: finish or undo that release first (`zdd status`)")
	}
	for _, n := range names {
		for _, a := range st.Apps[n] {
			if a.Version == newest && a.State != tomcatmgr.StateRunning {
				return nil, outcome.WithHint(outcome.Classify(outcome.ErrPreflight,
					fmt.Errorf("drain: %s on %s is %s", a.Name(), n, a.State)),
					"nothing was changed; the newest version must run everywhere before the old one goes")
			}
		}
	}
	steps := plan.SetFailurePolicy(plan.DrainSteps(e.Spec, old))
	rel := &state.Release{ID: newest + "-drain-" + time.Now().UTC().Format("20060102T150405Z"),
		Command: who.Command, Holder: who.Holder, Host: who.Host, Started: time.Now().UTC(),
		Plan: plan.Plan{App: e.Spec.App, From: old, To: newest, Steps: steps}, Status: state.StatusRunning}
	for _, s := range steps {
		rel.Steps = append(rel.Steps, state.StepRecord{Step: s.String()})
	}
	return rel, nil
}
