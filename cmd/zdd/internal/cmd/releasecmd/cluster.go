// Package releasecmd implements the release commands: `zdd plan`, `zdd deploy`, `zdd promote`,
// `zdd drain` and `zdd status`.
//
// Each command has an Options struct and a Run function that never sees cobra; the cluster is
// reached through a DialFunc (connect.Dial in production, fakes in tests), so the logic, the
// output selection and the exit codes are tested without servers.
//
// # Output
//
// Events go to a deployer.Sink chosen once per run (see newReporter): with --output json,
// deployer.JSONSink on stdout (one object per event, the summary last); otherwise, on stderr,
// progress bars for upload and drain progress when stderr is a terminal, or deployer.TextSink's
// plain timestamped lines when it is not. In text mode one short result line goes to stdout.
package releasecmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/connect"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// Cluster is what the release commands use of the cluster. Dial builds it from the
// configuration; tests build it from fakes. Nil function fields mean "not configured".
type Cluster struct {
	// Spec is the engine's view of the configuration.
	Spec *deployer.Spec
	// Managers maps each node name to its Tomcat Manager.
	Managers map[string]deployer.Manager
	// Router is the load-balancer pair.
	Router lb.Balancer
	// Prober reaches the nodes' applications directly, for the gates.
	Prober deployer.Prober
	// Migrator runs schema migrations; nil when no database is configured.
	Migrator deployer.Migrator
	// CheckLB tests every load balancer's configuration and parses its upstream file,
	// changing nothing.
	CheckLB func(ctx context.Context) error
	// FreeSpace checks that dir's file system has need bytes free.
	FreeSpace func(dir string, need int64) error
	// CheckDB checks that the database writer is reachable and writable.
	CheckDB func(ctx context.Context) error
	// DBStatus describes the database writer and the migration level, for `zdd status`.
	DBStatus func(ctx context.Context) (DatabaseStatus, error)
	// Close releases the connections.
	Close func() error
}

// DatabaseStatus is the database part of `zdd status`.
type DatabaseStatus struct {
	// Writer names the server that takes writes.
	Writer string `json:"writer,omitempty"`
	// Level is the newest migration applied.
	Level string `json:"level,omitempty"`
	// Pending lists the migrations not applied yet.
	Pending []string `json:"pending,omitempty"`
}

// DialFunc connects to the cluster described by cfg.
type DialFunc func(ctx context.Context, cfg *config.Config) (*Cluster, error)

// Dial connects with connect.Dial (Manager clients, the load-balancer hosts over SSH with
// their host keys verified, the SSH agent at $SSH_AUTH_SOCK when ssh.agent is on).
func Dial(ctx context.Context, cfg *config.Config) (*Cluster, error) {
	c, err := connect.Dial(ctx, cfg, connect.Options{AgentSocket: os.Getenv("SSH_AUTH_SOCK")})
	if err != nil {
		return nil, outcome.WithHint(outcome.Classify(outcome.ErrPreflight, err),
			"nothing was changed; check the lb and ssh sections of the configuration (`zdd config validate`) and that every load-balancer host is reachable")
	}
	cl := &Cluster{Spec: c.Spec, Managers: c.Managers, Router: c.Router,
		Prober: deployer.NewHTTPProber(cfg.Tomcat.RequestTimeout), CheckLB: c.Router.Check,
		FreeSpace: connect.FreeSpace, Close: c.Close}
	if err := dialDatabase(cfg, cl); err != nil {
		c.Close()
		return nil, err
	}
	return cl, nil
}

func (c *Cluster) close() {
	if c.Close != nil {
		_ = c.Close()
	}
}

// spec returns a copy of the cluster's Spec, with Migrations set when a Migrator is configured.
func (c *Cluster) spec() *deployer.Spec {
	s := *c.Spec
	s.Nodes = append([]deployer.NodeSpec(nil), c.Spec.Nodes...)
	s.Migrations = c.Migrator != nil
	return &s
}

// engine returns the release engine on c, journaling to the state directory.
func (c *Cluster) engine(cfg *config.Config, spec *deployer.Spec, sink deployer.Sink) *deployer.Engine {
	return &deployer.Engine{Spec: spec, Managers: c.Managers, Router: c.Router, Prober: c.Prober,
		Migrator: c.Migrator, Journal: &deployer.Journal{Dir: cfg.State.Dir}, Sink: sink}
}

// preflight returns the engine's Preflight: the load balancers' configuration test, free space
// in the state directory for twice the WAR, and the database writer. It changes nothing.
func (c *Cluster) preflight(cfg *config.Config, warSize int64) func(context.Context) error {
	return func(ctx context.Context) error {
		var errs []error
		if c.CheckLB != nil {
			errs = append(errs, c.CheckLB(ctx))
		}
		if c.FreeSpace != nil {
			errs = append(errs, c.FreeSpace(cfg.State.Dir, 2*warSize))
		}
		if c.CheckDB != nil {
			errs = append(errs, c.CheckDB(ctx))
		}
		return errors.Join(errs...)
	}
}

// Deps are what every release command takes from the factory.
type Deps struct {
	// IO are the standard streams.
	IO *iostreams.IOStreams
	// Config resolves and validates the configuration.
	Config func() (*config.Config, error)
	// Dial connects to the cluster.
	Dial DialFunc
	// Who is this process, for the release lock and the journal (set when the command runs).
	Who deployer.Lease
}

func newDeps(f *cmdutil.Factory) Deps {
	return Deps{IO: f.IOStreams, Config: f.Config, Dial: Dial}
}

// lock takes the release lock, waiting up to cfg.Strategy.LockWait.
func (d *Deps) lock(ctx context.Context, cfg *config.Config) (*deployer.Held, error) {
	l := &deployer.Locker{Dir: cfg.State.Dir, TTL: cfg.Strategy.LeaseTTL}
	return l.Acquire(ctx, d.Who, cfg.Strategy.LockWait)
}

// whoAmI describes this process for the lock: user, host, pid and the command line (without
// the values of secret --set keys).
func whoAmI(cmd *cobra.Command, args []string) deployer.Lease {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return deployer.Lease{Holder: name, Host: host, PID: os.Getpid(), Command: commandLine(cmd, args)}
}

// commandLine renders the command as run: its path, the flags given and the arguments.
func commandLine(cmd *cobra.Command, args []string) string {
	parts := []string{cmd.CommandPath()}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				parts = append(parts, "--"+f.Name+"="+redactSet(f.Name, v))
			}
			return
		}
		parts = append(parts, "--"+f.Name+"="+f.Value.String())
	})
	return strings.Join(append(parts, args...), " ")
}

// redactSet hides the value of a --set whose key may hold a secret.
func redactSet(flag, v string) string {
	key, _, ok := strings.Cut(v, "=")
	if flag != "set" || !ok {
		return v
	}
	if k := strings.ToLower(key); strings.Contains(k, "password") || strings.Contains(k, "dsn") || strings.Contains(k, "secret") {
		return key + "=<redacted>"
	}
	return v
}

// withTimeout bounds ctx by timeout (none when zero).
func withTimeout(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, timeout)
}

// finalError classifies err for the exit code: an error after the context ended (Ctrl-C or
// --timeout) that carries no stronger class is an interruption (exit 130), and a preflight
// failure without a hint gets one that names the next step.
func finalError(ctx context.Context, command string, timeout time.Duration, err error) error {
	if err == nil {
		return nil
	}
	stopped := outcome.Code(err) == outcome.Code(outcome.ErrPreflight) ||
		(errors.Is(err, context.Canceled) && !errors.Is(err, outcome.ErrInterrupted)) // a bare cancellation says nothing
	if ctx.Err() != nil && stopped {
		why := "interrupted"
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			why = fmt.Sprintf("--timeout %s expired", timeout)
		}
		return outcome.WithHint(outcome.Classify(outcome.ErrInterrupted, fmt.Errorf("%s: %s: %w", command, why, err)),
			"`zdd status` shows where the cluster is")
	}
	if outcome.Code(err) == outcome.Code(outcome.ErrPreflight) && outcome.Hint(err) == "" {
		return outcome.WithHint(outcome.Classify(outcome.ErrPreflight, err), preflightHint(err, command))
	}
	return err
}

// preflightHint names the next step for a failure before anything changed.
func preflightHint(err error, command string) string {
	switch {
	case errors.Is(err, tomcatmgr.ErrAuth):
		return "nothing was changed; check tomcat.user and its password (ZDD_TOMCAT_PASSWORD or tomcat.password_file); zdd never retries a refused login, since repeated failures lock the user"
	case errors.Is(err, tomcatmgr.ErrForbidden):
		return "nothing was changed; the Manager user needs the roles manager-script and manager-jmx, and the Manager must accept this host's address"
	case errors.Is(err, tomcatmgr.ErrUnreachable), errors.Is(err, tomcatmgr.ErrTimeout):
		return "nothing was changed; start the node (or fix its manager_url), check it with `zdd status`, then run `zdd " + command + "` again"
	case errors.Is(err, tomcatmgr.ErrInvalid):
		return "nothing was changed; pass the WAR built by your pipeline (a zip archive with WEB-INF/web.xml)"
	}
	return "nothing was changed; fix the cause above and run `zdd " + command + "` again"
}
