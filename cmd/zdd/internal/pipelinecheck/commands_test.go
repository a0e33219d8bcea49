package pipelinecheck

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmd/root"
	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
)

// sampleValues stand in for the variables the templates pass as arguments, with values of the
// kind the pipelines' README documents, so that typed flags (durations) are parsed for real.
var sampleValues = map[string]string{
	"$ZDD_WAR":             "target/app.war",
	"$ZDD_LOCK_WAIT":       "10m",
	"$ZDD_TIMEOUT":         "50m",
	"$ZDD_RELEASE_VERSION": "002",
}

var variableRef = regexp.MustCompile(`\$\{?[A-Za-z_]`)

// checkInvocation finds inv's command in a fresh zdd command tree and parses its flags and
// arguments as cobra would when zdd runs; it returns the command's path.
func checkInvocation(inv invocation) (string, error) {
	streams, _, _, _ := iostreams.Test()
	cmd := root.NewCmdRoot(cmdutil.New(streams))
	args := make([]string, len(inv.args))
	for i, a := range inv.args {
		if v, ok := sampleValues[a]; ok {
			a = v
		} else if variableRef.MatchString(a) {
			return "", fmt.Errorf("%s: argument %q: a variable the check has no sample value for (add it to sampleValues)", inv, a)
		}
		args[i] = a
	}
	found, rest, err := cmd.Find(args)
	if err != nil {
		return "", fmt.Errorf("%s: %w", inv, err)
	}
	if err := found.ParseFlags(rest); err != nil {
		return "", fmt.Errorf("%s: %s: %w", inv, found.CommandPath(), err)
	}
	// On a command with subcommands (zdd itself, zdd config), an argument is an unknown command.
	if err := found.ValidateArgs(found.Flags().Args()); err != nil {
		return "", fmt.Errorf("%s: %s: %w", inv, found.CommandPath(), err)
	}
	if found.HasSubCommands() {
		return "", fmt.Errorf("%s: %s only groups subcommands", inv, found.CommandPath())
	}
	return strings.TrimPrefix(found.CommandPath(), "zdd "), nil
}

// usedFlags returns the long names of the flags inv sets on its command.
func usedFlags(t *testing.T, inv invocation) map[string]string {
	streams, _, _, _ := iostreams.Test()
	cmd := root.NewCmdRoot(cmdutil.New(streams))
	args := make([]string, len(inv.args))
	for i, a := range inv.args {
		if v, ok := sampleValues[a]; ok {
			a = v
		}
		args[i] = a
	}
	found, rest, err := cmd.Find(args)
	require.NoError(t, err)
	require.NoError(t, found.ParseFlags(rest))
	out := map[string]string{}
	found.Flags().Visit(func(f *pflag.Flag) { out[f.Name] = f.Value.String() })
	return out
}

// TestTemplatesUseExistingCommandsAndFlags is the point of this package: every zdd command a
// template runs exists in the real command tree, with every flag it passes and the arguments
// it takes. A command renamed, a flag removed, or a template mistyped fails here.
func TestTemplatesUseExistingCommandsAndFlags(t *testing.T) {
	for _, tpl := range loadAll(t) {
		t.Run(tpl.name, func(t *testing.T) {
			used := map[string]bool{}
			for _, s := range tpl.scripts {
				invs, err := zddInvocations(s.text)
				require.NoError(t, err, "%s: %s", tpl.name, s.where)
				for _, inv := range invs {
					path, err := checkInvocation(inv)
					if assert.NoError(t, err, "%s: %s", tpl.name, s.where) {
						used[path] = true
					}
				}
			}
			for _, want := range []string{"version", "plan", "deploy", "promote", "rollback"} {
				assert.True(t, used[want], "%s never runs zdd %s", tpl.name, want)
			}
		})
	}
}

// TestTemplatesRunTheReleaseAsTheIssueAsks pins the flags that make a template fit a pipeline:
// JSON events and a lock wait for deploy and promote, a rollback that never asks.
func TestTemplatesRunTheReleaseAsTheIssueAsks(t *testing.T) {
	for _, tpl := range loadAll(t) {
		t.Run(tpl.name, func(t *testing.T) {
			for _, s := range tpl.scripts {
				invs, err := zddInvocations(s.text)
				require.NoError(t, err)
				for _, inv := range invs {
					path, err := checkInvocation(inv)
					require.NoError(t, err)
					flags := usedFlags(t, inv)
					switch path {
					case "deploy", "promote":
						assert.Equal(t, "json", flags["output"], "%s: %s", s.where, inv)
						assert.Equal(t, "10m0s", flags["lock-wait"], "%s: %s", s.where, inv)
						assert.Equal(t, "50m0s", flags["timeout"], "%s: %s", s.where, inv)
					case "rollback":
						assert.Equal(t, "true", flags["yes"], "%s: %s", s.where, inv)
						assert.Equal(t, "json", flags["output"], "%s: %s", s.where, inv)
					}
				}
			}
		})
	}
}

// TestCheckerCatchesMistakes shows that the check above can fail: mistyped commands, flags,
// flag values and argument counts are reported.
func TestCheckerCatchesMistakes(t *testing.T) {
	bad := map[string]string{
		`zdd promot`:                                                "unknown command",
		`zdd deploy "$ZDD_WAR" --lock-wiat 1m`:                      "unknown flag: --lock-wiat",
		`zdd deploy --output json`:                                  "accepts 1 arg",
		`zdd rollback --yes --lock-wait "$ZDD_TIMEOUT"`:             "unknown flag: --lock-wait",
		`zdd deploy app.war --timeout forever`:                      "invalid argument",
		`x=1 zdd config`:                                            "only groups subcommands",
		`zdd deploy "$UNKNOWN_VAR"`:                                 "no sample value",
		`zdd deploy app.war ${V:+--versoin "$ZDD_RELEASE_VERSION"}`: "unknown flag: --versoin",
	}
	for line, want := range bad {
		invs, err := zddInvocations("if true; then\n  " + line + " > out.json || code=$?\nfi\n")
		require.NoError(t, err, line)
		require.Len(t, invs, 1, line)
		_, err = checkInvocation(invs[0])
		require.Error(t, err, line)
		assert.Contains(t, err.Error(), want, line)
	}
}

func TestZddInvocations(t *testing.T) {
	invs, err := zddInvocations(`# zdd not-a-command
x="zdd inside a string"
code=0; zdd deploy "$ZDD_WAR" --output json ${no_drain:+--no-drain} ${V:+--version "$V"} > events.jsonl 2>&1 || code=$?
"$ZDD_BIN_DIR/zdd" version
v="${ZDD_TOOL_VERSION#v}"
if [ "$code" -eq 6 ]; then zdd rollback --yes; fi
echo zdd is not run here
`)
	require.NoError(t, err)
	var got []string
	for _, inv := range invs {
		got = append(got, inv.String())
	}
	assert.Equal(t, []string{
		`zdd deploy $ZDD_WAR --output json --no-drain --version $V`,
		`zdd version`,
		`zdd rollback --yes`,
	}, got)
}

var _ = cobra.Command{}
