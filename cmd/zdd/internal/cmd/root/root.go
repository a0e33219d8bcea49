// Package root builds the zdd command tree. It is the one place where commands are registered.
package root

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/build"
	"github.com/saitodrom/zdd/cmd/zdd/internal/cmd/configcmd"
	"github.com/saitodrom/zdd/cmd/zdd/internal/cmd/exitcodes"
	"github.com/saitodrom/zdd/cmd/zdd/internal/cmd/incidentcmd"
	"github.com/saitodrom/zdd/cmd/zdd/internal/cmd/migratecmd"
	"github.com/saitodrom/zdd/cmd/zdd/internal/cmd/releasecmd"
	"github.com/saitodrom/zdd/cmd/zdd/internal/cmd/testenvcmd"
	"github.com/saitodrom/zdd/cmd/zdd/internal/cmd/version"
	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/configload"
)

// NewCmdRoot returns the zdd command with every subcommand.
//
// Adding a command: write a package under cmd/zdd/internal/cmd/ with an Options struct and
// `NewCmdX(f *cmdutil.Factory, runF func(*XOptions) error) *cobra.Command` (runF replaces the
// logic in tests; the logic function never sees cobra), then add ONE line to the list below.
// Take dependencies from f (they are lazy, so --help touches nothing), use cmdutil.NoArgs or
// return cmdutil.FlagErrorf for bad arguments (exit 2), return errors classified with
// deployer/outcome, and never call os.Exit: zddcmd.Main maps errors to exit codes.
// A flag that overrides a configuration key is bound with f.BindFlag("strategy.lock_wait", flag).
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "zdd <command>",
		Short: "Zero-downtime releases of Java web applications to a Tomcat cluster",
		Long: `zdd deploys a WAR to a Tomcat cluster behind Nginx without dropping a request or a
session: parallel versions, load-balancer weights, schema migrations and rollback.`,
		Version:       build.Version,
		Args:          cmdutil.NoArgs,
		RunE:          func(cmd *cobra.Command, args []string) error { return cmd.Help() },
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	cmd.SetVersionTemplate(fmt.Sprintf("zdd version {{.Version}} (commit %s, built %s)\n", build.Commit, build.Date))
	cmd.SetIn(f.IOStreams.In) // before InitDefaultCompletionCmd, which captures the output stream
	cmd.SetOut(f.IOStreams.Out)
	cmd.SetErr(f.IOStreams.ErrOut)
	cmd.SetFlagErrorFunc(cmdutil.FlagErrorFunc)
	cmd.SetHelpCommand(newCmdHelp())

	cmd.Flags().Bool("version", false, "print zdd's version") // no -v: left free for later commands

	pf := cmd.PersistentFlags()
	pf.StringVar(&f.ConfigOptions.Path, "config", "",
		fmt.Sprintf("configuration file (default $%s, then %s)", configload.PathEnv, configload.DefaultPath))
	pf.StringArrayVar(&f.ConfigOptions.Set, "set", nil, "override a configuration key: --set strategy.canary_size=2 (repeatable)")

	// The commands, one line each.
	cmd.AddCommand(version.NewCmdVersion(f, nil))
	cmd.AddCommand(configcmd.NewCmdConfig(f))
	cmd.AddCommand(exitcodes.NewCmdExitCodes(f))
	cmd.AddCommand(testenvcmd.NewCmdTestenv(f))
	cmd.AddCommand(releasecmd.NewCmdPlan(f, nil))
	cmd.AddCommand(releasecmd.NewCmdDeploy(f, nil))
	cmd.AddCommand(releasecmd.NewCmdPromote(f, nil))
	cmd.AddCommand(releasecmd.NewCmdDrain(f, nil))
	cmd.AddCommand(releasecmd.NewCmdStatus(f, nil))
	cmd.AddCommand(migratecmd.NewCmdMigrate(f))
	cmd.AddCommand(incidentcmd.NewCmdRollback(f, nil))
	cmd.AddCommand(incidentcmd.NewCmdResume(f, nil))
	cmd.AddCommand(incidentcmd.NewCmdAbort(f, nil))
	cmd.AddCommand(incidentcmd.NewCmdHistory(f, nil))
	cmd.AddCommand(incidentcmd.NewCmdLock(f, nil))

	cmd.InitDefaultCompletionCmd() // cobra's `zdd completion bash|zsh|fish|powershell`
	strictGroups(cmd)
	cmdutil.TypeUsageErrors(cmd) // last: it wraps every command's argument check
	return cmd
}

// newCmdHelp replaces cobra's help command so that an unknown topic is a usage error (exit 2).
func newCmdHelp() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command or topic (try `zdd help exit-codes`)",
		RunE: func(c *cobra.Command, args []string) error {
			target, rest, err := c.Root().Find(args)
			if err != nil || target == nil || len(rest) > 0 {
				return unknownTopic(c, args)
			}
			target.InitDefaultHelpFlag()
			target.InitDefaultVersionFlag()
			return target.Help()
		},
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			var names []string
			parent := c.Root()
			if target, _, err := parent.Find(args); err == nil && target != nil {
				parent = target
			}
			for _, sub := range parent.Commands() {
				if !sub.Hidden && sub.Name() != "help" {
					names = append(names, sub.Name())
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
	}
}

// strictGroups makes every command that only groups subcommands (`zdd config`, `zdd completion`,
// any added later) show its help when run alone and fail with a usage error and "did you mean"
// on an unknown subcommand, instead of cobra's help with exit 0.
func strictGroups(c *cobra.Command) {
	for _, sub := range c.Commands() {
		strictGroups(sub)
	}
	if c.HasSubCommands() && !c.Runnable() {
		c.Args = cmdutil.NoArgs
		c.RunE = func(c *cobra.Command, args []string) error { return c.Help() }
	}
}

func unknownTopic(c *cobra.Command, args []string) error {
	topic := args[len(args)-1]
	err := fmt.Errorf("unknown help topic %q", topic)
	var names []string
	for _, sub := range c.Root().Commands() {
		if !sub.Hidden {
			names = append(names, sub.Name())
		}
	}
	if s := cmdutil.Closest(topic, names); s != "" {
		return cmdutil.UsageError(err, fmt.Sprintf("did you mean `zdd help %s`?", s))
	}
	return cmdutil.UsageError(err, "run `zdd help` for the commands and topics")
}
