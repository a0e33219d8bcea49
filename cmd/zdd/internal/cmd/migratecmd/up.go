package migratecmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/cmd/zdd/internal/wiring"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/schema"
	"github.com/saitodrom/zdd/deployer/state"
)

// UpOptions are the inputs of `zdd migrate up`.
type UpOptions struct {
	IO        *iostreams.IOStreams
	NewRunner NewRunnerFunc
	Phase     string
	Output    string
	// Lock takes the release lease for the run (one change to the cluster at a time: a release
	// runs its migrations under it too) and returns the context to run with, cancelled when
	// the lease is lost, and the function that releases it. Nil takes none (tests).
	Lock func(ctx context.Context) (context.Context, func(), error)
	who  state.Lease
}

// NewCmdUp returns `zdd migrate up`. runF, if not nil, replaces the logic (tests).
func NewCmdUp(f *cmdutil.Factory, newRunner NewRunnerFunc, runF func(context.Context, *UpOptions) error) *cobra.Command {
	opts := &UpOptions{IO: f.IOStreams, NewRunner: newRunner}
	opts.Lock = func(ctx context.Context) (context.Context, func(), error) { return lockFromFactory(ctx, f, opts.who) }
	cmd := &cobra.Command{
		Use:   "up --phase expand|contract",
		Short: "Apply the pending migrations of a phase on the writer",
		Long: `Apply the pending migrations of a phase, in order, on the writer HAProxy names as active,
holding the release lease (waiting up to strategy.lock_wait for a release; exit 5 after) and
the migration lock (waiting up to database.lock_wait for another run; exit 5 after).
contract is refused while any node still has an older version of the application (` + "`zdd drain`" + `
retires it). On Ctrl-C the running statement finishes and is journaled, then zdd stops
(exit 130). A failed statement is journaled and leaves the schema dirty (exit 4).`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkPhase(opts.Phase); err != nil {
				return err
			}
			if err := checkOutput(opts.Output); err != nil {
				return err
			}
			opts.who = wiring.WhoAmI(cmd, args)
			return cmdutil.RunOr(cmd.Context(), opts, runF, RunUp)
		},
	}
	addPhaseFlag(cmd, &opts.Phase)
	addOutputFlag(cmd, &opts.Output)
	return cmd
}

// UpJSON is the JSON form of `zdd migrate up`.
type UpJSON struct {
	Phase   string        `json:"phase"`
	Applied []AppliedJSON `json:"applied"`
}

// AppliedJSON is one applied migration.
type AppliedJSON struct {
	Name       string `json:"name"`
	ServerID   int    `json:"server_id"`
	DurationMS int64  `json:"duration_ms"`
}

// RunUp applies the phase and prints what was applied, also when it stopped with an error.
func RunUp(ctx context.Context, opts *UpOptions) error {
	r, err := opts.NewRunner(progressPrinter(opts.IO.ErrOut))
	if err != nil {
		return err
	}
	if opts.Lock != nil {
		lctx, release, err := opts.Lock(ctx)
		if err != nil {
			return err
		}
		defer release()
		ctx = lctx
	}
	res, err := r.Apply(ctx, opts.Phase)
	if perr := printApplied(opts, res); perr != nil && err == nil {
		err = perr
	}
	return err
}

func printApplied(opts *UpOptions, res []schema.Result) error {
	if opts.Output == "json" {
		out := UpJSON{Phase: opts.Phase, Applied: []AppliedJSON{}}
		for _, x := range res {
			out.Applied = append(out.Applied, AppliedJSON{Name: x.Migration.Name, ServerID: x.Server.ServerID, DurationMS: x.Duration.Milliseconds()})
		}
		return writeJSON(opts.IO.Out, out)
	}
	for _, x := range res {
		if _, err := fmt.Fprintf(opts.IO.Out, "applied %s/%s on server_id %d in %s\n", x.Migration.Phase, x.Migration.Name,
			x.Server.ServerID, x.Duration.Round(1e6)); err != nil {
			return err
		}
	}
	return nil
}

// lockFromFactory takes the release lease for who with the validated configuration (see
// lockWith), for `zdd migrate up`.
func lockFromFactory(ctx context.Context, f *cmdutil.Factory, who state.Lease) (context.Context, func(), error) {
	cfg, err := f.Config()
	if err != nil {
		return nil, nil, err
	}
	return lockWith(ctx, cfg, who)
}

// lockWith takes the release lease (wiring.Lock) and returns a context cancelled when it is
// lost and the function that gives it back.
func lockWith(ctx context.Context, cfg *config.Config, who state.Lease) (context.Context, func(), error) {
	held, err := wiring.Lock(ctx, cfg, who, nil)
	if err != nil {
		return nil, nil, err
	}
	lctx, stop := state.WhileHeld(ctx, held)
	return lctx, func() { stop(); _ = held.Release() }, nil
}
