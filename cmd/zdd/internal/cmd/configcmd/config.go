// Package configcmd implements `zdd config show` and `zdd config validate`.
package configcmd

import (
	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
)

// NewCmdConfig returns `zdd config` with its subcommands.
func NewCmdConfig(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show or validate the configuration",
		Long: `Show or validate zdd's configuration.

The configuration comes from, highest first: command-line flags (--set key=value),
ZDD_* environment variables (ZDD_TOMCAT_PASSWORD sets tomcat.password), the file
(--config, $ZDD_CONFIG or ./zdd.yaml), and the defaults. See docs/config.md.`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(NewCmdShow(f, nil))
	cmd.AddCommand(NewCmdValidate(f, nil))
	return cmd
}
