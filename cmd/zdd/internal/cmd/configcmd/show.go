package configcmd

import (
	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/deployer/config"
)

// ShowOptions are the inputs of `zdd config show`.
type ShowOptions struct {
	IO *iostreams.IOStreams
	// LoadConfig resolves the configuration (not validated).
	LoadConfig func() (*config.Config, error)
}

// NewCmdShow returns `zdd config show`. runF, if not nil, replaces the command's logic (tests).
func NewCmdShow(f *cmdutil.Factory, runF func(*ShowOptions) error) *cobra.Command {
	opts := &ShowOptions{IO: f.IOStreams, LoadConfig: f.LoadConfig}
	return &cobra.Command{
		Use:   "show",
		Short: "Print the resolved configuration as YAML, secrets redacted",
		Long: `Print the configuration as zdd resolves it (flags over environment over file over
defaults) as YAML on stdout. Passwords are printed as <redacted> when set, and as "" when not.`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return RunShow(opts)
		},
	}
}

// RunShow prints the resolved configuration.
func RunShow(opts *ShowOptions) error {
	cfg, err := opts.LoadConfig()
	if err != nil {
		return err
	}
	out, err := cfg.YAML()
	if err != nil {
		return err
	}
	_, err = opts.IO.Out.Write(out)
	return err
}
