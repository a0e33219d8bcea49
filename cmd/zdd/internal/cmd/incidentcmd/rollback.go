package incidentcmd

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/deployer"
)

// RollbackOptions are the inputs of `zdd rollback`.
type RollbackOptions struct {
	Deps
	// Hard stops the bad version now (its sessions are lost) instead of redeploying.
	Hard bool
	// Yes skips the question on a terminal.
	Yes bool
	// NoDrain leaves the bad version deployed after a default rollback.
	NoDrain bool
	// WAR is the previous code's WAR, for a version zdd has none of (deployed before zdd).
	WAR string
}

// NewCmdRollback returns `zdd rollback`. runF, if not nil, replaces the logic (tests).
func NewCmdRollback(f *cmdutil.Factory, runF func(context.Context, *RollbackOptions) error) *cobra.Command {
	opts := &RollbackOptions{Deps: newDeps(f)}
	cmd := &cobra.Command{
		Use:   "rollback",
		Short: "Take new sessions back to the last good release on every node",
		Long: `Take new sessions back to the last good release: the newest release that completed and
whose WAR (by checksum) was not rolled back, different from the code running now.

By default no session is lost: the last good WAR, from the release store, is deployed again as
a new, higher version with the same out-of-rotation batches as a release, so every new session
gets the previous code while users already on the bad version keep it until their sessions end;
the bad version then drains and is undeployed (--no-drain leaves it for ` + "`zdd drain`" + `).

--hard stops the bad version on every node at once and undeploys it: new sessions fall back to
the previous version still deployed, and every session of the bad version is lost (zdd says how
many).

When the version before the bad one was deployed before zdd (by hand, by another tool), the
store has no WAR of it: give it with --war FILE (checked, refused when it is not a WAR or is the
bad code, and recorded with its checksum in the release store), or use --hard. Without either,
zdd refuses (exit 1), saying what runs where and how many sessions --hard would cost.

A paused release (its canary batch serves the new version) is rolled back the same way: the
previous code is deployed again as a higher version and the canary's users keep their sessions
until they end; --hard takes the new version off the canary instead (its sessions are lost,
and counted). A release whose holder is gone before every node was back is undone.
A release that is draining is taken over: its lease passes to this command and it is recorded
as rolled back. zdd refuses to roll back past a contract migration. It prints what it will do
and asks on a terminal (--yes skips the question; without a terminal it never asks).
Nothing to roll back exits 6.`,
		Example: "  zdd rollback\n  zdd rollback --war app-001.war\n  zdd rollback --hard --yes",
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.prepare(cmd, args); err != nil {
				return err
			}
			if opts.Hard && opts.WAR != "" {
				return cmdutil.FlagErrorf("--hard and --war do not go together: --hard deploys nothing")
			}
			return cmdutil.RunOr(cmd.Context(), opts, runF, RunRollback)
		},
	}
	cmd.Flags().BoolVar(&opts.Hard, "hard", false, "stop the bad version now on every node and undeploy it (its sessions are lost)")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation on a terminal")
	cmd.Flags().BoolVar(&opts.NoDrain, "no-drain", false, "leave the bad version deployed after the rollback (`zdd drain` retires it)")
	cmd.Flags().StringVar(&opts.WAR, "war", "", "the WAR of the previous code, when zdd has none (a version deployed before zdd)")
	addOutputFlag(cmd, &opts.Output)
	return cmd
}

// RunRollback plans the rollback, shows it, asks, and runs it.
func RunRollback(ctx context.Context, opts *RollbackOptions) error {
	return runRollback(ctx, opts, "rollback")
}

// runRollback is `zdd rollback`, and `zdd abort` of a paused release (what names it).
func runRollback(ctx context.Context, opts *RollbackOptions, what string) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	sum := &summarySink{next: opts.sink()}
	run, err := opts.start(ctx, cfg, sum)
	if err != nil {
		return err
	}
	defer run.Close()
	e := run.Engine
	p, err := e.PlanRollbackWaiting(ctx, deployer.RollbackOptions{Hard: opts.Hard, NoDrain: opts.NoDrain, WAR: opts.WAR, Store: e.Store,
		Locker: opts.locker(cfg), Who: opts.Who})
	if err != nil {
		return err
	}
	if opts.Output == "json" {
		e.Sink.Emit(deployer.Event{Schema: deployer.EventSchema, Time: time.Now(), Type: deployer.EventWarning, Message: what + " plan: " + p.Render()})
	} else {
		fmt.Fprint(opts.IO.ErrOut, p.Render())
	}
	question := "roll back now?"
	if what != "rollback" {
		question = what + " now?"
	}
	if err := opts.confirm(question, opts.Yes); err != nil {
		return err
	}
	err = interrupted(ctx, e.Rollback(ctx, p))
	opts.result(sum, what)
	return err
}
