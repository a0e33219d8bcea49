package migratecmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/deployer/schema"
)

// PlanOptions are the inputs of `zdd migrate plan`.
type PlanOptions struct {
	IO        *iostreams.IOStreams
	NewRunner NewRunnerFunc
	Phase     string
	Output    string
}

// NewCmdPlan returns `zdd migrate plan`. runF, if not nil, replaces the logic (tests).
func NewCmdPlan(f *cmdutil.Factory, newRunner NewRunnerFunc, runF func(context.Context, *PlanOptions) error) *cobra.Command {
	opts := &PlanOptions{IO: f.IOStreams, NewRunner: newRunner}
	cmd := &cobra.Command{
		Use:   "plan --phase expand|contract",
		Short: "List the migrations `migrate up` would run, in order, without running them",
		Long: `List the pending migrations of a phase in the order ` + "`zdd migrate up`" + ` would run them.
Proves the writer and reads the journal; changes nothing and takes no lock. It fails as up
would on a dirty journal or a changed file. For contract it also says (on stderr) when up
would be refused because a node still has an older version of the application.`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkPhase(opts.Phase); err != nil {
				return err
			}
			if err := checkOutput(opts.Output); err != nil {
				return err
			}
			return cmdutil.RunOr(cmd.Context(), opts, runF, RunPlan)
		},
	}
	addPhaseFlag(cmd, &opts.Phase)
	addOutputFlag(cmd, &opts.Output)
	return cmd
}

// PlanJSON is the JSON form of `zdd migrate plan`.
type PlanJSON struct {
	Phase   string   `json:"phase"`
	Pending []string `json:"pending"`
	// ContractRefused says why up --phase contract would be refused now; empty if it would not.
	ContractRefused string `json:"contract_refused,omitempty"`
}

// RunPlan prints the pending migrations of the phase.
func RunPlan(ctx context.Context, opts *PlanOptions) error {
	r, err := opts.NewRunner(nil)
	if err != nil {
		return err
	}
	migs, err := r.Plan(ctx, opts.Phase)
	if err != nil {
		return err
	}
	out := PlanJSON{Phase: opts.Phase, Pending: []string{}}
	for _, m := range migs {
		out.Pending = append(out.Pending, m.Name)
	}
	if opts.Phase == string(schema.Contract) && len(migs) > 0 {
		if err := r.ContractAllowed(ctx); err != nil {
			out.ContractRefused = oneLine(err.Error())
			fmt.Fprintf(opts.IO.ErrOut, "migrate: up --phase contract would be refused now: %s\n", out.ContractRefused)
		}
	}
	if opts.Output == "json" {
		return writeJSON(opts.IO.Out, out)
	}
	if len(migs) == 0 {
		fmt.Fprintf(opts.IO.ErrOut, "migrate: %s: nothing to run\n", opts.Phase)
	}
	for _, m := range migs {
		fmt.Fprintf(opts.IO.Out, "%s/%s\n", m.Phase, m.Name)
	}
	return nil
}
