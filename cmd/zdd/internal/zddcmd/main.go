// Package zddcmd runs the zdd command: it builds the command tree, executes it, and maps the
// resulting error to an exit code in one place (outcome.Code), printing
//
//	zdd: error: <message>
//	zdd: hint: <hint>
//
// on stderr, followed by the usage for usage errors. Usage errors are recognised by type
// (cmdutil.FlagError, which the command tree gives every cobra flag, argument and unknown-
// command error: see cmdutil.TypeUsageErrors), never by their text, so a failure whose message
// happens to read like cobra's ("invalid argument") keeps its own exit code.
package zddcmd

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmd/root"
	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/deployer/outcome"
)

// Main runs zdd with args (without the program name) and returns the exit code. ctx is
// cancelled on SIGINT/SIGTERM; a command that stops because of it returns an error wrapping
// context.Canceled (or outcome.ErrInterrupted), which is exit 130.
func Main(ctx context.Context, args []string, streams *iostreams.IOStreams) int {
	return run(ctx, args, streams, nil)
}

// run is Main with a hook that changes the factory and command tree before execution (tests).
func run(ctx context.Context, args []string, streams *iostreams.IOStreams, adjust func(*cmdutil.Factory, *cobra.Command)) int {
	f := cmdutil.New(streams)
	cmd := root.NewCmdRoot(f)
	if adjust != nil {
		adjust(f, cmd)
	}
	cmd.SetArgs(args)
	executed, err := cmd.ExecuteContextC(ctx)
	if err == nil {
		return outcome.Success
	}
	PrintError(streams.ErrOut, err)
	if cmdutil.IsFlagError(err) && executed != nil {
		fmt.Fprintf(streams.ErrOut, "\n%s", executed.UsageString())
	}
	return outcome.Code(err)
}

// PrintError writes err as "zdd: error: ..." lines and its hint as "zdd: hint: ...".
func PrintError(w io.Writer, err error) {
	for _, line := range strings.Split(strings.TrimRight(err.Error(), "\n"), "\n") {
		fmt.Fprintf(w, "zdd: error: %s\n", line)
	}
	if hint := outcome.Hint(err); hint != "" {
		fmt.Fprintf(w, "zdd: hint: %s\n", hint)
	}
}
