package incidentcmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/state"
)

// LockOptions are the inputs of `zdd lock status` and `zdd lock release`.
type LockOptions struct {
	Deps
	// Force removes a live lease (recorded in the history).
	Force bool
}

// NewCmdLock returns `zdd lock` with `status` and `release`.
func NewCmdLock(f *cmdutil.Factory, runF func(context.Context, *LockOptions, string) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lock",
		Short: "Show or release the release lock (one release at a time per cluster)",
	}
	run := func(sub string, opts *LockOptions) func(*cobra.Command, []string) error {
		return func(c *cobra.Command, args []string) error {
			if err := opts.prepare(c, args); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), opts, sub)
			}
			if sub == "status" {
				return RunLockStatus(c.Context(), opts)
			}
			return RunLockRelease(c.Context(), opts)
		}
	}
	st := &LockOptions{Deps: newDeps(f)}
	status := &cobra.Command{Use: "status", Short: "Show who holds the release lock, since when, running what", Args: cmdutil.NoArgs, RunE: run("status", st)}
	addOutputFlag(status, &st.Output)
	rel := &LockOptions{Deps: newDeps(f)}
	release := &cobra.Command{Use: "release", Short: "Remove an expired lease; with --force, anyone's lease (recorded in history)",
		Long: `Remove the release lock. Without --force only an expired lease is removed: a live lease
belongs to a running release and is refused (exit 5). --force removes it whoever holds it, and
records who did it in the history; use it only when its holder is gone for sure.`,
		Args: cmdutil.NoArgs, RunE: run("release", rel)}
	release.Flags().BoolVar(&rel.Force, "force", false, "remove the lease even when it is live (recorded in history)")
	cmd.AddCommand(status, release)
	return cmd
}

// LockStatus is `zdd lock status --output json`.
type LockStatus struct {
	Held  bool         `json:"held"`
	Live  bool         `json:"live"`
	Lease *state.Lease `json:"lease,omitempty"`
}

// RunLockStatus prints the lease.
func RunLockStatus(_ context.Context, opts *LockOptions) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	l, err := opts.locker(cfg).Read()
	if err != nil {
		return err
	}
	st := LockStatus{Held: l != nil, Live: l.Live(time.Now()), Lease: l}
	if st.Lease != nil {
		st.Lease.Token = "" // identifies the holder's process; not for display
	}
	if opts.Output == "json" {
		return json.NewEncoder(opts.IO.Out).Encode(st)
	}
	switch {
	case l == nil:
		fmt.Fprintln(opts.IO.Out, "unlocked")
	case st.Live:
		fmt.Fprintf(opts.IO.Out, "locked by %s\n", l)
	default:
		fmt.Fprintf(opts.IO.Out, "expired lease (the next release takes it) of %s\n", l)
	}
	return nil
}

// RunLockRelease removes the lease: an expired one, or with Force any one (recorded).
func RunLockRelease(_ context.Context, opts *LockOptions) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	locker := opts.locker(cfg)
	var was *state.Lease
	if opts.Force {
		was, err = locker.ForceRelease()
		if err == nil {
			err = (&state.Journal{Dir: cfg.State.Dir, Policy: cfg.State.Policy()}).RecordLockRelease(opts.Who, was)
		}
	} else {
		was, err = locker.ReleaseStale()
	}
	if err != nil {
		return err
	}
	if was == nil {
		return outcome.Classify(outcome.ErrNothingToDo, errors.New("lock: no lease is held"))
	}
	fmt.Fprintf(opts.IO.Out, "released the lease of %s\n", was)
	return nil
}
