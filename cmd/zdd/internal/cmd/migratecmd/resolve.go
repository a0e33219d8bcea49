package migratecmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/deployer/schema"
)

// ResolveOptions are the inputs of `zdd migrate resolve`.
type ResolveOptions struct {
	IO        *iostreams.IOStreams
	NewRunner NewRunnerFunc
	Phase     string
	Name      string
	How       schema.Resolution
}

// NewCmdResolve returns `zdd migrate resolve`. runF, if not nil, replaces the logic (tests).
func NewCmdResolve(f *cmdutil.Factory, newRunner NewRunnerFunc, runF func(context.Context, *ResolveOptions) error) *cobra.Command {
	opts := &ResolveOptions{IO: f.IOStreams, NewRunner: newRunner}
	var applied, retry bool
	cmd := &cobra.Command{
		Use:   "resolve --phase expand|contract NAME|--name NAME --applied|--retry",
		Short: "Mark a dirty migration applied or for retry, after checking the database",
		Long: `A migration that started but did not finish (or failed) leaves the schema dirty and every
run refuses. Check on the primary whether the statement took effect (SHOW CREATE TABLE ...),
then mark it --applied (it took effect; the file's current checksum is recorded) or --retry
(it did not; the next up runs it again).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if n := len(args) + btoi(opts.Name != ""); n != 1 {
				return cmdutil.FlagErrorf("resolve takes exactly one migration NAME (e.g. 002_add_email.sql, or --name NAME), got %d", n)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkPhase(opts.Phase); err != nil {
				return err
			}
			switch {
			case applied == retry:
				return cmdutil.FlagErrorf("give exactly one of --applied and --retry")
			case applied:
				opts.How = schema.ResolveApplied
			default:
				opts.How = schema.ResolveRetry
			}
			if len(args) == 1 {
				opts.Name = args[0]
			}
			return cmdutil.RunOr(cmd.Context(), opts, runF, RunResolve)
		},
	}
	addPhaseFlag(cmd, &opts.Phase)
	cmd.Flags().StringVar(&opts.Name, "name", "", "the migration's file name (instead of the NAME argument)")
	cmd.Flags().BoolVar(&applied, "applied", false, "the statement took effect: count the migration as applied")
	cmd.Flags().BoolVar(&retry, "retry", false, "the statement did not take effect: run it again on the next up")
	return cmd
}

// RunResolve marks the dirty entry resolved.
func RunResolve(ctx context.Context, opts *ResolveOptions) error {
	r, err := opts.NewRunner(nil)
	if err != nil {
		return err
	}
	if err := r.Resolve(ctx, opts.Phase, opts.Name, opts.How); err != nil {
		return err
	}
	_, err = fmt.Fprintf(opts.IO.Out, "resolved %s/%s as %s\n", opts.Phase, opts.Name, opts.How)
	return err
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
