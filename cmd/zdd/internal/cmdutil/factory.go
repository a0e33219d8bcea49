// Package cmdutil holds what zdd's commands share: the Factory of lazily built dependencies,
// usage errors, and argument checks that turn mistakes into exit code 2 with a hint.
package cmdutil

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/spf13/pflag"

	"github.com/saitodrom/zdd/cmd/zdd/internal/configload"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/outcome"
)

// Factory gives commands their dependencies. Every dependency is a function called only when
// a command runs, so `--help` and completion touch no file and no server.
type Factory struct {
	// IOStreams are the standard streams.
	IOStreams *iostreams.IOStreams
	// ConfigOptions is filled by the root command's --config and --set flags and by BindFlag,
	// before any command runs.
	ConfigOptions *configload.Options
	// LoadConfig resolves the configuration without reading password files or validating it
	// (for `zdd config show` and `zdd config validate`).
	LoadConfig func() (*config.Config, error)
	// Config resolves the configuration, reads password files, validates it and checks the
	// files it names (see Check); its error lists every problem. The result is computed once.
	// Every command that reads the state directory or acts on the cluster uses it.
	Config func() (*config.Config, error)
}

// New returns a Factory on the given streams.
func New(streams *iostreams.IOStreams) *Factory {
	f := &Factory{IOStreams: streams, ConfigOptions: &configload.Options{Flags: map[string]*pflag.Flag{}}}
	f.LoadConfig = func() (*config.Config, error) { return configload.Load(*f.ConfigOptions) }
	var once sync.Once
	var cfg *config.Config
	var err error
	f.Config = func() (*config.Config, error) {
		once.Do(func() { cfg, err = f.validConfig() })
		return cfg, err
	}
	return f
}

// BindFlag makes a command-line flag set the configuration key: `--lock-wait` for
// "strategy.lock_wait". The flag wins over the environment and the file when it is given.
func (f *Factory) BindFlag(key string, flag *pflag.Flag) {
	if !config.IsKey(key) {
		panic(fmt.Sprintf("cmdutil: BindFlag: unknown configuration key %q", key))
	}
	f.ConfigOptions.Flags[key] = flag
}

func (f *Factory) validConfig() (*config.Config, error) {
	cfg, err := f.LoadConfig()
	if err != nil {
		return nil, err
	}
	if problems := Check(cfg); len(problems) > 0 {
		return nil, outcome.WithHint(outcome.Classify(outcome.ErrPreflight,
			&ProblemsError{Path: f.ConfigOptions.ResolvePath(), Problems: problems}),
			"`zdd config validate` lists the problems with a hint for each")
	}
	if err := prepareStateDir(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Check reads cfg's password files, validates it and checks the files it names (identity,
// known_hosts and its entry for every load balancer, tomcat.ca_file, migrations.dir: see
// config.Config.CheckFiles) and the state directory (one that others may write in is a
// problem, see checkStateDir), returning every problem. A password whose file could not be
// read is reported once, at its password_file key.
func Check(cfg *config.Config) []config.Problem {
	problems := cfg.ReadSecretFiles()
	failedFiles := map[string]bool{}
	for _, p := range problems {
		failedFiles[strings.TrimSuffix(p.Key, "_file")] = true
	}
	for _, p := range cfg.Validate() {
		if !failedFiles[p.Key] {
			problems = append(problems, p)
		}
	}
	problems = append(problems, cfg.CheckFiles()...)
	return append(problems, checkStateDir(cfg)...)
}

// ProblemsError is a configuration that does not validate.
type ProblemsError struct {
	// Path is the configuration file.
	Path string
	// Problems are every problem found.
	Problems []config.Problem
}

// Error lists every problem, one per line after a summary line.
func (e *ProblemsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "config: %s has %d problem(s)", e.Path, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// RunOr runs run, or runF instead when the test that built the command gave one: the end of
// every command's RunE (each NewCmd* takes a runF that replaces its logic in tests).
func RunOr[O any](ctx context.Context, opts *O, runF, run func(context.Context, *O) error) error {
	if runF != nil {
		return runF(ctx, opts)
	}
	return run(ctx, opts)
}
