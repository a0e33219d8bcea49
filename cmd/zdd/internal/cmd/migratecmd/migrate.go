// Package migratecmd implements `zdd migrate status|plan|up|resolve`: the expand/contract schema
// migrations of deployer/schema, run against the writer behind HAProxy.
//
// Results go to stdout (text, or JSON with --output json); progress lines go to stderr. Errors
// carry the outcome classes of connect.Classify: exit 5 when another run holds the migration
// lock, 4 when a statement failed (the journal is dirty), 1 when the run was refused before any
// statement. On Ctrl-C the running statement finishes and is journaled, then zdd exits 130.
package migratecmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/wiring"
	"github.com/saitodrom/zdd/deployer/schema"
)

// Runner is what the commands need of the migrator; *connect.Migrations implements it. Every
// error is already classified with deployer/outcome.
type Runner interface {
	// Status reads the files and the journal; it changes nothing.
	Status(ctx context.Context) (*schema.Report, error)
	// Plan returns what Apply would run, in order; it changes nothing.
	Plan(ctx context.Context, phase string) ([]schema.Migration, error)
	// Apply runs the pending migrations of phase and returns what it applied.
	Apply(ctx context.Context, phase string) ([]schema.Result, error)
	// Resolve marks a dirty journal entry applied or for retry.
	Resolve(ctx context.Context, phase, name string, how schema.Resolution) error
	// ContractAllowed refuses while a node still has an older version of the application.
	ContractAllowed(ctx context.Context) error
}

// NewRunnerFunc builds the Runner; progress, if not nil, receives the events of Apply.
type NewRunnerFunc func(progress func(schema.Event)) (Runner, error)

// NewCmdMigrate returns `zdd migrate` with its subcommands.
func NewCmdMigrate(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Run expand/contract schema migrations on the database writer",
		Long: `Run the schema migrations of migrations.dir on the writer HAProxy names as active.

Migrations come in two phases: expand (additive, backward compatible; runs before a new
version is deployed) and contract (removes what only the old version needed; refused while
any node still has an older version of the application). Each .sql file holds one
statement; a journal table records every attempt, and a run that failed half-way leaves the
schema dirty until ` + "`zdd migrate resolve`" + ` marks it applied or for retry.`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	newRunner := runnerFromFactory(f)
	cmd.AddCommand(NewCmdStatus(f, newRunner, nil))
	cmd.AddCommand(NewCmdPlan(f, newRunner, nil))
	cmd.AddCommand(NewCmdUp(f, newRunner, nil))
	cmd.AddCommand(NewCmdResolve(f, newRunner, nil))
	return cmd
}

// runnerFromFactory builds the migrator from the validated configuration, lazily.
func runnerFromFactory(f *cmdutil.Factory) NewRunnerFunc {
	return func(progress func(schema.Event)) (Runner, error) {
		cfg, err := f.Config()
		if err != nil {
			return nil, err
		}
		return wiring.NewMigrations(cfg, nil, progress)
	}
}

// addOutputFlag adds --output text|json.
func addOutputFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVarP(p, "output", "o", "text", "result format: text or json")
}

func checkOutput(o string) error {
	if o != "text" && o != "json" {
		return cmdutil.FlagErrorf("--output %q: want text or json", o)
	}
	return nil
}

// addPhaseFlag adds the required --phase expand|contract.
func addPhaseFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVar(p, "phase", "", "migration phase: expand or contract (required)")
}

func checkPhase(p string) error {
	if p == "" {
		return cmdutil.FlagErrorf("--phase is required: expand or contract")
	}
	if _, err := schema.ParsePhase(p); err != nil {
		return cmdutil.FlagErrorf("--phase %q: want expand or contract", p)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// progressPrinter returns an event callback that writes one line per event to w.
func progressPrinter(w io.Writer) func(schema.Event) {
	return func(e schema.Event) { fmt.Fprintf(w, "migrate: %s\n", oneLine(e.String())) }
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }
