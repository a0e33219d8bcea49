// Package exitcodes implements the help topic `zdd help exit-codes`.
package exitcodes

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/deployer/outcome"
)

// NewCmdExitCodes returns the help topic "exit-codes": a command without Run, listed under
// "Additional help topics", whose help is the exit-code table.
func NewCmdExitCodes(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "exit-codes",
		Short: "Exit codes and what a pipeline should do for each",
	}
	cmd.SetHelpFunc(func(c *cobra.Command, _ []string) {
		_ = Print(c.OutOrStdout())
	})
	return cmd
}

// Print writes the exit-code table.
func Print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "zdd exits with one of these codes; a pipeline decides on the code, never on the text.")
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "CODE\tNAME\tMEANING")
	for _, info := range outcome.Table() {
		fmt.Fprintf(tw, "%d\t%s\t%s\n", info.Code, info.Name, info.Meaning)
		fmt.Fprintf(tw, "\t\tpipeline: %s\n", info.Pipeline)
	}
	return tw.Flush()
}
