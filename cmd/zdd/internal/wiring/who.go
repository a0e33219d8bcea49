package wiring

import (
	"os"
	"os/user"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/saitodrom/zdd/deployer"
)

// WhoAmI describes this process for the lease and the journal: user, host, pid and the
// command line (without the values of secret --set keys).
func WhoAmI(cmd *cobra.Command, args []string) deployer.Lease {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return deployer.Lease{Holder: name, Host: host, PID: os.Getpid(), Command: CommandLine(cmd, args)}
}

// CommandLine renders the command as run: its path, the flags given and the arguments.
func CommandLine(cmd *cobra.Command, args []string) string {
	parts := []string{cmd.CommandPath()}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				parts = append(parts, "--"+f.Name+"="+RedactSet(f.Name, v))
			}
			return
		}
		parts = append(parts, "--"+f.Name+"="+f.Value.String())
	})
	return strings.Join(append(parts, args...), " ")
}

// RedactSet hides the value v of a --set (flag "set") whose key may hold a secret.
func RedactSet(flag, v string) string {
	key, _, ok := strings.Cut(v, "=")
	if flag != "set" || !ok {
		return v
	}
	if k := strings.ToLower(key); strings.Contains(k, "password") || strings.Contains(k, "dsn") || strings.Contains(k, "secret") {
		return key + "=<redacted>"
	}
	return v
}
