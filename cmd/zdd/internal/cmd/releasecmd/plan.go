package releasecmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/plan"
)

// ReleaseFlags are the flags shared by `zdd plan` and `zdd deploy`.
type ReleaseFlags struct {
	// WAR is the artifact's path.
	WAR string
	// Version is the new version; empty (and VersionSet false) means the next after the
	// highest deployed. A given one must be app.version_width digits above the running ones.
	Version string
	// VersionSet is true when --version was given, even empty (which is refused).
	VersionSet bool
	// NoDrain leaves the old version deployed (`zdd drain` retires it later).
	NoDrain bool
	// Output is OutputText or OutputJSON.
	Output string
	PreviousFlags
}

func addReleaseFlags(cmd *cobra.Command, rf *ReleaseFlags) {
	cmd.Flags().StringVar(&rf.Version, "version", "", "the new version (default: the next after the highest deployed, zero-padded to app.version_width)")
	cmd.Flags().BoolVar(&rf.NoDrain, "no-drain", false, "leave the old version deployed (zdd drain retires it later)")
	addOutputFlag(cmd, &rf.Output)
	addPreviousFlags(cmd, &rf.PreviousFlags)
}

// PlanOptions are the inputs of `zdd plan`.
type PlanOptions struct {
	Deps
	ReleaseFlags
}

// NewCmdPlan returns `zdd plan APP.war`. runF, if not nil, replaces the logic (tests).
func NewCmdPlan(f *cmdutil.Factory, runF func(context.Context, *PlanOptions) error) *cobra.Command {
	opts := &PlanOptions{Deps: newDeps(f)}
	cmd := &cobra.Command{
		Use:   "plan APP.war",
		Short: "Print the steps `zdd deploy` would run, with the rollback of each; changes nothing",
		Long: `Connect to every node and load balancer, read what runs, and print the release plan
exactly as ` + "`zdd deploy`" + ` would run it, each step with what a failure there undoes.
Nothing is changed and no lock is taken. It warns when the running version has no WAR in
zdd's store (it was deployed before zdd) and checks --previous-war/--previous-version, which
` + "`zdd deploy`" + ` registers.`,
		Example: "  zdd plan target/app.war\n  zdd plan app.war --version 042 --output json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.WAR = args[0]
			opts.VersionSet = cmd.Flags().Changed("version")
			if err := checkOutput(opts.Output); err != nil {
				return err
			}
			return cmdutil.RunOr(cmd.Context(), opts, runF, RunPlan)
		},
	}
	addReleaseFlags(cmd, &opts.ReleaseFlags)
	return cmd
}

// PlanJSON is what `zdd plan --output json` prints.
type PlanJSON struct {
	// Schema is deployer.EventSchema.
	Schema int `json:"schema"`
	// Plan is the plan (durations in nanoseconds).
	Plan *plan.Plan `json:"plan"`
	// Text is the plan as the text output shows it, with the rollback of each step.
	Text string `json:"text"`
}

// RunPlan prints the plan on stdout.
func RunPlan(ctx context.Context, opts *PlanOptions) error {
	err := runPlan(ctx, opts)
	return finalError(ctx, "plan", 0, err)
}

func runPlan(ctx context.Context, opts *PlanOptions) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	if err := opts.checkVersion(cfg); err != nil {
		return err
	}
	war, err := warInfo(opts.WAR)
	if err != nil {
		return err
	}
	c, err := opts.Dial(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Disconnect()
	spec := c.EngineSpec()
	spec.NoDrain = opts.NoDrain
	e := c.Engine(cfg, spec, nil, 0)
	plan, _, err := buildPlan(ctx, e, opts.Version, war)
	if err != nil {
		return err
	}
	prev, err := checkPrevious(ctx, e, opts.PreviousFlags, war, func(msg string) { fmt.Fprintln(opts.IO.ErrOut, "warning: "+msg) })
	if err != nil {
		return err
	}
	if prev != nil {
		fmt.Fprintf(opts.IO.ErrOut, "zdd deploy will register %s (sha256 %s) as the code of %s\n", prev.Path, prev.SHA256[:12], opts.PreviousVersion)
	}
	text := plan.Render(spec.NodeNames(), spec.CanarySize)
	if opts.Output == OutputJSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(PlanJSON{Schema: deployer.EventSchema, Plan: plan, Text: text})
	}
	_, err = io.WriteString(opts.IO.Out, text)
	return err
}

// checkVersion refuses a --version that is not app.version_width digits (exit 1), before
// anything is read or changed; whether it sorts above the running versions is checked by
// buildPlan once they are known.
func (rf *ReleaseFlags) checkVersion(cfg *config.Config) error {
	if rf.Version == "" && !rf.VersionSet {
		return nil
	}
	return plan.CheckVersionForm(rf.Version, cfg.App.VersionWidth)
}

// buildPlan reads what every node runs and plans the release of war as version (the next
// version when empty). It returns the versions it found running, also when it fails after
// reading them (nil when it could not read them), so that a refusal can say what runs.
func buildPlan(ctx context.Context, e *deployer.Engine, version string, war plan.WARInfo) (*plan.Plan, []string, error) {
	st, err := e.Observe(ctx)
	if err != nil {
		return nil, nil, outcome.Classify(outcome.ErrPreflight, err)
	}
	running := st.Versions()
	if version == "" {
		if version, err = plan.NextVersion(running, e.Spec.VersionWidth); err != nil {
			return nil, running, err
		}
	} else if err := plan.CheckVersion(version, e.Spec.VersionWidth, running); err != nil {
		return nil, running, err
	}
	st.Age = e.MemberAge(ctx)
	plan, err := plan.BuildPlan(e.Spec, st, version, war)
	return plan, running, err
}

// warInfo checks the WAR and returns its absolute path, checksum and size.
func warInfo(path string) (plan.WARInfo, error) {
	return deployer.InspectWAR(path, "nothing was changed; pass the WAR your build produced (a zip archive with WEB-INF/web.xml), e.g. target/app.war")
}
