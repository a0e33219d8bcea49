package releasecmd

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/state"
)

// PromoteOptions are the inputs of `zdd promote`.
type PromoteOptions struct {
	Deps
	// Output is OutputText or OutputJSON.
	Output string
	// Timeout bounds the rest of the release; zero: none.
	Timeout time.Duration
}

// NewCmdPromote returns `zdd promote`. runF, if not nil, replaces the logic (tests).
func NewCmdPromote(f *cmdutil.Factory, runF func(context.Context, *PromoteOptions) error) *cobra.Command {
	opts := &PromoteOptions{Deps: newDeps(f)}
	cmd := &cobra.Command{
		Use:   "promote",
		Short: "Continue a release paused after its canary (exit 7 of `zdd deploy`)",
		Long: `Continue the release that ` + "`zdd deploy`" + ` paused after the canary batch took traffic
(strategy.pause_after_canary): the rest of the nodes get the new version, then the drain.
With no paused release it exits 6 (nothing to do).`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.prepare(f, cmd, args, opts.Output); err != nil {
				return err
			}
			return cmdutil.RunOr(cmd.Context(), opts, runF, RunPromote)
		},
	}
	addOutputFlag(cmd, &opts.Output)
	addLockWaitFlag(cmd)
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 0, "bound the rest of the release; at expiry zdd stops as on Ctrl-C (exit 130)")
	return cmd
}

// RunPromote continues the paused release.
func RunPromote(ctx context.Context, opts *PromoteOptions) (err error) {
	ctx, cancel := withTimeout(ctx, opts.Timeout)
	defer cancel()
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	if _, err := pausedRelease(cfg); err != nil {
		return err // before the lock and any connection: nothing to do is cheap
	}
	started := time.Now()
	rep := newReporter(opts.IO, opts.Output)
	var rel *state.Release
	defer func() {
		err = finalError(ctx, "promote", opts.Timeout, err)
		if rel != nil {
			rep.finish(err, rel.Plan.App, rel.Plan.From, rel.Plan.To, started)
		} else {
			rep.finish(err, cfg.App.Name, nil, "", started)
		}
	}()
	run, err := opts.start(ctx, cfg, rep, 0)
	if err != nil {
		return err
	}
	defer run.Close()
	// Read again under the lock: another promote or a rollback may have run meanwhile.
	if rel, err = pausedRelease(cfg); err != nil {
		return err
	}
	return run.Engine.Continue(run.Ctx, rel)
}

// pausedRelease returns the journal's release if it is paused, else an outcome.ErrNothingToDo
// error saying what the journal holds.
func pausedRelease(cfg *config.Config) (*state.Release, error) {
	rel, err := (&state.Journal{Dir: cfg.State.Dir}).Current()
	if err != nil {
		return nil, outcome.Classify(outcome.ErrNeedsAttention, err)
	}
	if rel == nil {
		return nil, outcome.WithHint(outcome.Classify(outcome.ErrNothingToDo,
			fmt.Errorf("promote: no release is paused: the journal in %s has no release", cfg.State.Dir)),
			"`zdd deploy` starts a release; state.dir must be the directory the paused release used")
	}
	if rel.Status != state.StatusPaused {
		return nil, outcome.WithHint(outcome.Classify(outcome.ErrNothingToDo,
			fmt.Errorf("promote: no release is paused: the last release %s (%s) is %s", rel.ID, rel.Plan.To, rel.Status)),
			"`zdd status` shows the release and every node")
	}
	return rel, nil
}
