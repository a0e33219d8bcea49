package configcmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/outcome"
)

// ValidateOptions are the inputs of `zdd config validate`.
type ValidateOptions struct {
	IO *iostreams.IOStreams
	// LoadConfig resolves the configuration (not validated).
	LoadConfig func() (*config.Config, error)
	// Path returns the configuration file's path, for messages.
	Path func() string
}

// NewCmdValidate returns `zdd config validate`. runF, if not nil, replaces the logic (tests).
func NewCmdValidate(f *cmdutil.Factory, runF func(*ValidateOptions) error) *cobra.Command {
	opts := &ValidateOptions{IO: f.IOStreams, LoadConfig: f.LoadConfig, Path: f.ConfigOptions.ResolvePath}
	return &cobra.Command{
		Use:   "validate",
		Short: "Check the configuration and list every problem",
		Long: `Check the resolved configuration, including password files, without contacting any
server. Every problem is printed on stdout with its key and a hint; the exit code is 1
when there is any.`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return RunValidate(opts)
		},
	}
}

// RunValidate prints every problem and returns an outcome.ErrPreflight error if there is any.
func RunValidate(opts *ValidateOptions) error {
	cfg, err := opts.LoadConfig()
	if err != nil {
		return err
	}
	problems := cmdutil.Check(cfg)
	for _, p := range problems {
		fmt.Fprintf(opts.IO.Out, "%s: %s\n", p.Key, p.Message)
		if p.Hint != "" {
			fmt.Fprintf(opts.IO.Out, "  hint: %s\n", p.Hint)
		}
	}
	if len(problems) > 0 {
		return outcome.Classify(outcome.ErrPreflight,
			fmt.Errorf("config: %s has %d problem(s)", opts.Path(), len(problems)))
	}
	_, err = fmt.Fprintf(opts.IO.Out, "%s: ok (%d nodes, %d load balancers)\n",
		opts.Path(), len(cfg.Nodes), len(cfg.LB.Hosts))
	return err
}
