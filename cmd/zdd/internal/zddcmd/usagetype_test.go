package zddcmd

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/deployer/outcome"
)

// addFailing adds `zdd fail` returning err, and `zdd flags` with a required flag and two
// exclusive ones, typed as the root types its own commands.
func addFailing(err error) func(*cmdutil.Factory, *cobra.Command) {
	return func(_ *cmdutil.Factory, root *cobra.Command) {
		root.AddCommand(&cobra.Command{Use: "fail", Args: cmdutil.NoArgs,
			RunE: func(*cobra.Command, []string) error { return err }})
		flags := &cobra.Command{Use: "flags", Args: cobra.ExactArgs(1), RunE: func(*cobra.Command, []string) error { return nil }}
		flags.Flags().String("need", "", "required")
		flags.Flags().Bool("a", false, "")
		flags.Flags().Bool("b", false, "")
		_ = flags.MarkFlagRequired("need")
		flags.MarkFlagsMutuallyExclusive("a", "b")
		root.AddCommand(flags)
		cmdutil.TypeUsageErrors(root)
	}
}

// TestUsageIsRecognisedByTypeNotText: failures whose text reads like cobra's usage errors keep
// their own code and print no usage; cobra's own usage errors exit 2 with usage.
func TestUsageIsRecognisedByTypeNotText(t *testing.T) {
	einval := fmt.Errorf("preflight: set weight on haproxy: %w", syscall.EINVAL) // "invalid argument"
	for _, c := range []struct {
		name string
		err  error
		code int
	}{
		{"classified preflight with EINVAL", outcome.Classify(outcome.ErrPreflight, einval), 1},
		{"unclassified EINVAL", einval, 1},
		{"HAProxy answer", errors.New("haproxy: set server mysql/db1 weight: invalid argument: 'weight' expects an integer"), 1},
		{"a message naming an unknown command", errors.New("nginx: -s: unknown command \"reopen\" accepts 1 arg"), 1},
		{"required flag text", outcome.Classify(outcome.ErrNeedsAttention, errors.New(`required flag(s) "x" not set`)), 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := zddWith(t, "", addFailing(c.err), "fail")
			assert.Equal(t, c.code, r.code, "stderr: %s", r.errOut)
			assert.NotContains(t, r.errOut, "Usage:", "no usage for a failure that is not a usage error")
		})
	}
	for _, c := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"bad flag value", []string{"deploy", "app.war", "--timeout", "soon"}, "invalid argument"},
		{"unknown flag", []string{"deploy", "app.war", "--nope"}, "unknown flag: --nope"},
		{"missing argument", []string{"deploy"}, "accepts 1 arg(s), received 0"},
		{"too many arguments", []string{"plan", "a.war", "b.war"}, "accepts 1 arg(s), received 2"},
		{"unknown command", []string{"deplyo"}, "unknown command"},
		{"required flag", []string{"flags", "x"}, `required flag(s) "need" not set`},
		{"exclusive flags", []string{"flags", "x", "--need", "1", "--a", "--b"}, "if any flags in the group [a b] are set none of the others can be"},
		{"validator of an added command", []string{"flags"}, "accepts 1 arg(s), received 0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := zddWith(t, "", addFailing(nil), c.args...)
			assert.Equal(t, 2, r.code, "stderr: %s", r.errOut)
			assert.Contains(t, r.errOut, c.stderr)
			assert.Contains(t, r.errOut, "Usage:", "usage errors print the usage")
		})
	}
}
