// Package version implements `zdd version`.
package version

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/build"
	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
)

// Options are the inputs of `zdd version`.
type Options struct {
	IO      *iostreams.IOStreams
	Version string
	Commit  string
	Date    string
}

// NewCmdVersion returns `zdd version`. runF, if not nil, replaces the command's logic (tests).
func NewCmdVersion(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Version: build.Version, Commit: build.Commit, Date: build.Date}
	return &cobra.Command{
		Use:   "version",
		Short: "Print zdd's version",
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return Run(opts)
		},
	}
}

// Run prints "zdd version V (commit C, built D)".
func Run(opts *Options) error {
	_, err := fmt.Fprintf(opts.IO.Out, "zdd version %s (commit %s, built %s)\n", opts.Version, opts.Commit, opts.Date)
	return err
}
