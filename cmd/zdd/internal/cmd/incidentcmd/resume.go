package incidentcmd

import (
	"context"

	"github.com/saitodrom/zdd/deployer/state"

	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
)

// ResumeOptions are the inputs of `zdd resume` and `zdd abort`.
type ResumeOptions struct {
	Deps
	// Abort undoes the release instead of finishing it.
	Abort bool
	// Hard, Yes and NoDrain are `zdd abort`'s, for a paused release (as `zdd rollback --hard
	// --yes --no-drain`).
	Hard, Yes, NoDrain bool
}

// NewCmdResume returns `zdd resume`. runF, if not nil, replaces the logic (tests).
func NewCmdResume(f *cmdutil.Factory, runF func(context.Context, *ResumeOptions) error) *cobra.Command {
	return newCmdResumeAbort(f, runF, false)
}

// NewCmdAbort returns `zdd abort`. runF, if not nil, replaces the logic (tests).
func NewCmdAbort(f *cmdutil.Factory, runF func(context.Context, *ResumeOptions) error) *cobra.Command {
	return newCmdResumeAbort(f, runF, true)
}

func newCmdResumeAbort(f *cmdutil.Factory, runF func(context.Context, *ResumeOptions) error, abort bool) *cobra.Command {
	opts := &ResumeOptions{Deps: newDeps(f), Abort: abort}
	cmd := &cobra.Command{
		Use:   "resume",
		Short: "Finish the release interrupted by a crash, from the step where it stopped",
		Long: `Finish the release that stopped without ending (zdd was killed, or the machine or the CI job
died): the journal in state.dir says which step it was in, and that step runs again (every step
is safe to run twice), then the rest. Its lease must have expired or been released.
Nothing to resume exits 6; running it again after it finished does nothing (exit 6).`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.prepare(cmd, args); err != nil {
				return err
			}
			return cmdutil.RunOr(cmd.Context(), opts, runF, RunResume)
		},
	}
	if abort {
		cmd.Use, cmd.Short = "abort", "Undo the release interrupted by a crash (or paused): every node back on the previous version"
		cmd.Long = `Undo the release that stopped without ending (killed, paused, or left needing attention by a
failed rollback): the rollback steps are computed from what each node runs now, as after a
failed gate, so every node ends on the version the release started from, in rotation. Its
lease must have expired or been released. Running it again finds nothing to do (exit 6).

A paused release (its canary batch serves the new version) is aborted as ` + "`zdd rollback`" + ` rolls it
back: the previous code is deployed again as a higher version, so the canary's users keep their
sessions; without the previous WAR it refuses (exit 1). --hard takes the new version off the
canary at once instead (its sessions are lost, and counted); --yes skips the question;
--no-drain leaves the old versions deployed.`
		cmd.Flags().BoolVar(&opts.Hard, "hard", false, "paused release: take the new version off the canary now (its sessions are lost)")
		cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "paused release: do not ask for confirmation on a terminal")
		cmd.Flags().BoolVar(&opts.NoDrain, "no-drain", false, "paused release: leave the old versions deployed after it (`zdd drain` retires them)")
	}
	addOutputFlag(cmd, &opts.Output)
	return cmd
}

// RunResume resumes or aborts the interrupted release.
func RunResume(ctx context.Context, opts *ResumeOptions) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	if opts.Abort {
		if rel, err := (&state.Journal{Dir: cfg.State.Dir}).Current(); err == nil && rel != nil && rel.Status == state.StatusPaused {
			return runRollback(ctx, &RollbackOptions{Deps: opts.Deps, Hard: opts.Hard, Yes: opts.Yes, NoDrain: opts.NoDrain}, "abort")
		}
	}
	sum := &summarySink{next: opts.sink()}
	run, err := opts.start(ctx, cfg, sum)
	if err != nil {
		return err
	}
	defer run.Close()
	e := run.Engine
	what := "resume"
	if opts.Abort {
		what = "abort"
		err = e.Abort(ctx, opts.locker(cfg), opts.Who)
	} else {
		err = e.Resume(ctx, opts.locker(cfg), opts.Who)
	}
	err = interrupted(ctx, err)
	if opts.Abort {
		opts.resultUndo(sum)
	} else {
		opts.result(sum, what)
	}
	return err
}
