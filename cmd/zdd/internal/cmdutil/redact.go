package cmdutil

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/saitodrom/zdd/internal/redact"
)

// CommandLine renders the command as run, for the release lease, the journal and the history:
// its path, the flags given and the arguments, each passed through RedactArg (a --set of a
// secret key keeps only its key; every URL loses its user information), so that nothing a
// command line carried as a credential reaches the state directory.
func CommandLine(cmd *cobra.Command, args []string) string {
	parts := []string{cmd.CommandPath()}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				parts = append(parts, "--"+f.Name+"="+RedactArg(f.Name, v))
			}
			return
		}
		parts = append(parts, "--"+f.Name+"="+RedactArg(f.Name, f.Value.String()))
	})
	for _, a := range args {
		parts = append(parts, RedactArg("", a))
	}
	return strings.Join(parts, " ")
}

// RedactArg returns the value v of flag (empty for a positional argument) without its secrets:
// the value of a flag whose name says it is a secret, and of a `--set key=value` whose key
// does, becomes redact.Text; any URL (scheme://...) loses its user information.
func RedactArg(flag, v string) string {
	if redact.SecretName(flag) {
		return redact.Text
	}
	if flag == "set" {
		if key, val, ok := strings.Cut(v, "="); ok {
			if redact.SecretName(key) {
				return key + "=" + redact.Text
			}
			return key + "=" + redact.URL(val)
		}
	}
	return redact.URL(v)
}
