package cmdutil

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/outcome"
)

// FlagError is a usage error after which the command's usage is printed. It is always
// classified outcome.ErrUsage (exit 2).
type FlagError struct{ err error }

// Error implements error.
func (e *FlagError) Error() string { return e.err.Error() }

// Unwrap returns the underlying error.
func (e *FlagError) Unwrap() error { return e.err }

// FlagErrorf returns a usage error (exit 2) after which the command's usage is printed.
func FlagErrorf(format string, args ...any) error {
	return UsageError(fmt.Errorf(format, args...), "")
}

// UsageError classifies err as a usage error (exit 2) with hint, after which the command's
// usage is printed.
func UsageError(err error, hint string) error {
	e := outcome.Classify(outcome.ErrUsage, &FlagError{err: err})
	if hint != "" {
		e = outcome.WithHint(e, hint)
	}
	return e
}

// IsFlagError reports whether err calls for the usage to be printed.
func IsFlagError(err error) bool {
	var fe *FlagError
	return errors.As(err, &fe)
}

// FlagErrorFunc is the root command's flag error handler: a usage error, with "did you mean"
// for a mistyped flag.
func FlagErrorFunc(cmd *cobra.Command, err error) error {
	// On a command group, a word before the bad flag is a mistyped command (`zdd rollbak --yes`):
	// that is the error to report, not the flag, which belongs to the command meant.
	if args := cmd.Flags().Args(); cmd.HasAvailableSubCommands() && len(args) > 0 {
		return NoArgs(cmd, args)
	}
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return UsageError(err, "")
	}
	var names []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	cmd.InheritedFlags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	if s := config.Closest(name, names); s != "" {
		return UsageError(err, fmt.Sprintf("did you mean --%s?", s))
	}
	return UsageError(err, fmt.Sprintf("run `%s --help` for the flags", cmd.CommandPath()))
}

// NoArgs is a cobra.PositionalArgs for commands that take no arguments. On a command with
// subcommands, an argument is an unknown command, reported with "did you mean".
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.HasAvailableSubCommands() {
		if cmd.SuggestionsMinimumDistance <= 0 {
			cmd.SuggestionsMinimumDistance = 2
		}
		err := fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			return UsageError(err, fmt.Sprintf("did you mean `%s %s`?", cmd.CommandPath(), s[0]))
		}
		return UsageError(err, fmt.Sprintf("run `%s --help` for the commands", cmd.CommandPath()))
	}
	return UsageError(fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args[0]), "")
}

// Closest returns the candidate nearest to s by edit distance, or "" when none is close
// (see config.Closest).
func Closest(s string, candidates []string) string { return config.Closest(s, candidates) }

// TypeUsageErrors makes every usage error cobra can return from the tree under c a typed
// *FlagError (exit 2, usage printed), so that the exit code never depends on an error's text:
// flag parse errors go through FlagErrorFunc (set it on the root), argument validators
// (cobra.ExactArgs and the like) are wrapped, and required flags and flag groups are checked
// in a PersistentPreRunE on c, before cobra checks them with untyped errors. Call it on the
// root after every command is added; commands must not set PersistentPreRunE of their own.
func TypeUsageErrors(c *cobra.Command) {
	for _, sub := range c.Commands() {
		typeArgs(sub)
	}
	c.Args = typedArgs(c.Args)
	c.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if err := cmd.ValidateRequiredFlags(); err != nil {
			return UsageError(err, fmt.Sprintf("run `%s --help` for the flags", cmd.CommandPath()))
		}
		if err := cmd.ValidateFlagGroups(); err != nil {
			return UsageError(err, fmt.Sprintf("run `%s --help` for the flags", cmd.CommandPath()))
		}
		return nil
	}
}

func typeArgs(c *cobra.Command) {
	for _, sub := range c.Commands() {
		typeArgs(sub)
	}
	c.Args = typedArgs(c.Args)
}

// typedArgs wraps an argument validator so that its error is a usage error; nil stays nil
// (cobra then accepts any argument on a command without subcommands).
func typedArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	if v == nil {
		return nil
	}
	return func(cmd *cobra.Command, args []string) error {
		err := v(cmd, args)
		if err == nil || IsFlagError(err) {
			return err
		}
		return UsageError(err, fmt.Sprintf("run `%s --help` for its arguments", cmd.CommandPath()))
	}
}
