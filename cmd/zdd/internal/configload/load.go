// Package configload resolves zdd's configuration with viper: command-line flags over ZDD_*
// environment variables over the file over config.Default. It is the only package that reads
// the environment for configuration; library packages get the resulting *config.Config.
package configload

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"gopkg.in/yaml.v3"

	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/outcome"
)

// DefaultPath is the configuration file used when neither --config nor ZDD_CONFIG is given.
const DefaultPath = "./zdd.yaml"

// PathEnv is the environment variable naming the configuration file.
const PathEnv = "ZDD_CONFIG"

// Options say where the configuration comes from besides the environment.
type Options struct {
	// Path is the --config flag's value; "" means $ZDD_CONFIG, and then DefaultPath.
	Path string
	// Set holds "key=value" overrides from --set; they win over every other source.
	Set []string
	// Flags binds command-line flags to configuration keys ("strategy.lock_wait" ->
	// --lock-wait). A flag counts only when it was given on the command line.
	Flags map[string]*pflag.Flag
}

// ResolvePath returns the configuration file that Load reads.
func (o *Options) ResolvePath() string {
	if o.Path != "" {
		return o.Path
	}
	if p, ok := os.LookupEnv(PathEnv); ok && p != "" {
		return p
	}
	return DefaultPath
}

// Load reads and resolves the configuration, and expands "~/" in its path keys (ExpandHome).
// It neither reads password files nor validates:
// see config.Config.ReadSecretFiles and Validate. Every error is classified: a bad --set is
// outcome.ErrUsage, anything else outcome.ErrPreflight.
func Load(opts Options) (*config.Config, error) {
	path := opts.ResolvePath()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, outcome.WithHint(outcome.Classify(outcome.ErrPreflight,
			fmt.Errorf("config: no configuration file at %s", path)),
			"`zdd testenv up` writes one for the local test cluster; otherwise pass --config FILE or set "+PathEnv)
	}
	if err != nil {
		return nil, outcome.Classify(outcome.ErrPreflight, fmt.Errorf("config: read %s: %w", path, err))
	}
	fileCfg, err := config.ParseYAML(data, path)
	if err != nil {
		return nil, outcome.Classify(outcome.ErrPreflight, err)
	}
	v, overridden, err := newViper(data, opts)
	if err != nil {
		return nil, err
	}
	cfg := config.Default()
	if err := v.Unmarshal(&cfg, viper.DecodeHook(decodeHook()), func(dc *mapstructure.DecoderConfig) {
		dc.TagName = "yaml"
		dc.ErrorUnused = true
	}); err != nil {
		return nil, outcome.Classify(outcome.ErrPreflight, fmt.Errorf("config: %w", err))
	}
	// viper lower-cases map keys read from the file; HAProxy server names are case-sensitive.
	if !overridden["database.haproxy.servers"] {
		cfg.Database.HAProxy.Servers = fileCfg.Database.HAProxy.Servers
	}
	cfg.FillDefaults()
	if err := ExpandHome(&cfg, os.UserHomeDir); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// ExpandHome replaces a leading "~/" (or a lone "~") with the current user's home directory
// in every path key of cfg (config.Config.Paths), whichever source set it. It runs once, in
// Load; "~user/" is left as it is, for Validate to refuse with a hint. home is
// os.UserHomeDir outside tests; its failure is an error only when a path needs it.
func ExpandHome(cfg *config.Config, home func() (string, error)) error {
	for _, p := range cfg.Paths() {
		rest, ok := strings.CutPrefix(*p.Value, "~/")
		if !ok && *p.Value != "~" {
			continue
		}
		dir, err := home()
		if err != nil || dir == "" {
			return outcome.WithHint(outcome.Classify(outcome.ErrPreflight,
				fmt.Errorf("config: %s: cannot expand ~/ in %q: the home directory is unknown: %v", p.Key, *p.Value, err)),
				"set HOME, or write the absolute path")
		}
		*p.Value = filepath.Join(dir, rest)
	}
	return nil
}

// newViper layers defaults, the file, the environment, flags and --set, and reports which keys
// the environment, flags or --set override.
func newViper(data []byte, opts Options) (*viper.Viper, map[string]bool, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	overridden := map[string]bool{}
	for key, value := range defaults() {
		v.SetDefault(key, value)
	}
	for _, key := range config.Keys() {
		env := config.EnvVar(key)
		if err := v.BindEnv(key, env); err != nil {
			return nil, nil, outcome.Classify(outcome.ErrPreflight, fmt.Errorf("config: bind %s: %w", env, err))
		}
		if os.Getenv(env) != "" {
			overridden[key] = true
		}
	}
	if err := v.ReadConfig(strings.NewReader(string(data))); err != nil {
		return nil, nil, outcome.Classify(outcome.ErrPreflight, fmt.Errorf("config: %w", err))
	}
	for key, flag := range opts.Flags {
		if !config.IsKey(key) {
			return nil, nil, fmt.Errorf("configload: flag --%s bound to unknown key %q", flag.Name, key)
		}
		if err := v.BindPFlag(key, flag); err != nil {
			return nil, nil, fmt.Errorf("configload: bind --%s: %w", flag.Name, err)
		}
		if flag.Changed {
			overridden[key] = true
		}
	}
	for _, kv := range opts.Set {
		key, value, err := parseSet(kv)
		if err != nil {
			return nil, nil, err
		}
		v.Set(key, value)
		overridden[key] = true
	}
	return v, overridden, nil
}

// parseSet splits a --set argument and checks its key.
func parseSet(kv string) (string, string, error) {
	key, value, ok := strings.Cut(kv, "=")
	if !ok {
		return "", "", outcome.WithHint(outcome.Classify(outcome.ErrUsage,
			fmt.Errorf("--set %q: missing '='", kv)), "write --set key=value, e.g. --set strategy.canary_size=2")
	}
	if !config.IsKey(key) {
		err := outcome.Classify(outcome.ErrUsage, fmt.Errorf("--set: unknown key %q", key))
		if s := config.SuggestKey(key); s != "" {
			return "", "", outcome.WithHint(err, fmt.Sprintf("did you mean --set %s=%s?", s, value))
		}
		return "", "", outcome.WithHint(err, "`zdd config show` lists every key")
	}
	return key, value, nil
}

// defaults flattens config.Default into key -> value for every scalar key, durations as text.
func defaults() map[string]any {
	out := map[string]any{}
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			fv := v.Field(i)
			switch {
			case fv.Type() == reflect.TypeOf(time.Duration(0)):
				out[prefix+name] = config.FormatDuration(time.Duration(fv.Int()))
			case fv.Kind() == reflect.Struct:
				walk(fv, prefix+name+".")
			case fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map:
				// lists and maps have no default
			default:
				out[prefix+name] = fv.Interface()
			}
		}
	}
	walk(reflect.ValueOf(config.Default()), "")
	return out
}

var durationType = reflect.TypeOf(time.Duration(0))

// decodeHook converts text from the environment and flags: durations must carry a unit, and a
// list or map ("nodes", "lb.hosts", "database.haproxy.servers") is a YAML document.
func decodeHook() mapstructure.DecodeHookFuncType {
	return func(from reflect.Type, to reflect.Type, data any) (any, error) {
		switch {
		case to == durationType:
			switch d := data.(type) {
			case string:
				return time.ParseDuration(d)
			case time.Duration:
				return d, nil
			case int, int64, float64:
				if reflect.ValueOf(d).IsZero() {
					return time.Duration(0), nil
				}
				return nil, fmt.Errorf("duration %v has no unit (write e.g. %vs)", d, d)
			}
		case from.Kind() == reflect.String && (to.Kind() == reflect.Slice || to.Kind() == reflect.Map):
			out := reflect.New(to)
			dec := yaml.NewDecoder(strings.NewReader(data.(string)))
			dec.KnownFields(true)
			if err := dec.Decode(out.Interface()); err != nil {
				return nil, fmt.Errorf("not a YAML %s: %w", to.Kind(), err)
			}
			return out.Elem().Interface(), nil
		case to == reflect.TypeOf(config.Secret("")) && from.Kind() == reflect.String:
			return config.Secret(reflect.ValueOf(data).String()), nil
		}
		return data, nil
	}
}
