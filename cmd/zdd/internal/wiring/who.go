package wiring

import (
	"os"
	"os/user"

	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/deployer/state"
)

// WhoAmI describes this process for the lease and the journal: user, host, pid and the
// command line (without secrets: see cmdutil.CommandLine).
func WhoAmI(cmd *cobra.Command, args []string) state.Lease {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return state.Lease{Holder: name, Host: host, PID: os.Getpid(), Command: cmdutil.CommandLine(cmd, args)}
}
