package wiring

import (
	"os"
	"os/user"

	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/connect"
	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/schema"
	"github.com/saitodrom/zdd/deployer/state"
)

// Identity names who runs this process and where: the OS user (user.Current, else $USER) and
// the host name. It is the one source of identity for the release lease, the journals (release
// and migration) and the history.
func Identity() (name, host string) {
	name = os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ = os.Hostname()
	return name, host
}

// WhoAmI describes this process for the lease and the journal: Identity, the pid and the
// command line (without secrets: see cmdutil.CommandLine).
func WhoAmI(cmd *cobra.Command, args []string) state.Lease {
	name, host := Identity()
	return state.Lease{Holder: name, Host: host, PID: os.Getpid(), Command: cmdutil.CommandLine(cmd, args)}
}

// NewMigrations builds the schema migrator of cfg (connect.NewMigrations) recording Identity
// in the migration journal; managers nil means connect builds the Manager clients; progress,
// if set, receives the events of a run.
func NewMigrations(cfg *config.Config, managers map[string]deployer.Manager, progress func(schema.Event)) (*connect.Migrations, error) {
	who, from := Identity()
	return connect.NewMigrations(cfg, connect.MigrateOptions{Managers: managers, Progress: progress, Who: who, From: from})
}
