// Package wiring is the one place where zdd's commands turn the resolved configuration into
// a release engine: it dials the cluster (Managers, load balancers, prober, and the schema
// migrator when database.dsn is set), builds the deployer.Engine with every seam (Managers,
// Router, Prober, Migrator, Preflight, Journal, Store, Sink), and takes the release lease for
// the commands that change the cluster, cancelling their run when the lease is lost.
//
// Every command that runs steps (deploy, promote, drain, resume, abort, rollback) goes
// through Start, so none can run without a seam another one has (the migrator of a configured
// database, for example). Tests replace Dial with fakes.
package wiring

import (
	"context"
	"errors"
	"os"

	"github.com/saitodrom/zdd/connect"
	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/lb"
)

// Cluster is what the commands use of the cluster. Dial builds it from the configuration;
// tests build it from fakes. Nil fields mean "not configured".
type Cluster struct {
	// Spec is the engine's view of the configuration.
	Spec *plan.Spec
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
	// Close releases the connections; nil means nothing to close.
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
// their host keys verified, the SSH agent at $SSH_AUTH_SOCK when ssh.agent is on) and, when
// database.dsn is set, builds the schema migrator and the database checks. Its error is
// classified as a preflight failure (nothing changed), with a hint.
func Dial(ctx context.Context, cfg *config.Config) (*Cluster, error) {
	c, err := connect.Dial(ctx, cfg, connect.Options{AgentSocket: os.Getenv("SSH_AUTH_SOCK")})
	if err != nil {
		return nil, outcome.WithHint(outcome.Classify(outcome.ErrPreflight, err),
			"nothing was changed; check the lb and ssh sections of the configuration (`zdd config validate`) and that every load-balancer host is reachable")
	}
	cl := &Cluster{Spec: c.Spec, Managers: c.Managers, Router: c.Router,
		Prober: c.Prober, CheckLB: c.Router.Check,
		FreeSpace: connect.FreeSpace, Close: c.Close}
	if err := dialDatabase(cfg, cl); err != nil {
		_ = c.Close()
		return nil, err
	}
	return cl, nil
}

// Disconnect closes the connections (nil-safe).
func (c *Cluster) Disconnect() {
	if c != nil && c.Close != nil {
		_ = c.Close()
	}
}

// EngineSpec returns a copy of the cluster's Spec, with Migrations set when a Migrator is
// configured.
func (c *Cluster) EngineSpec() *plan.Spec {
	s := *c.Spec
	s.Nodes = append([]plan.NodeSpec(nil), c.Spec.Nodes...)
	s.Migrations = c.Migrator != nil
	return &s
}

// Engine returns the release engine on c with every seam: spec (EngineSpec when nil), the
// Managers, Router, Prober and Migrator of c, the Preflight checks (warSize: the WAR a
// release deploys, 0 for none), the Journal and the release Store in state.dir, and sink.
func (c *Cluster) Engine(cfg *config.Config, spec *plan.Spec, sink deployer.Sink, warSize int64) *deployer.Engine {
	if spec == nil {
		spec = c.EngineSpec()
	}
	return &deployer.Engine{Spec: spec, Managers: c.Managers, Router: c.Router, Prober: c.Prober,
		Migrator: c.Migrator, Preflight: c.Preflight(cfg, warSize), Journal: &state.Journal{Dir: cfg.State.Dir, Policy: cfg.State.Policy()},
		Store: state.NewStore(cfg.State.Dir).WithPolicy(cfg.State.Policy()), Sink: sink}
}

// Preflight returns the engine's Preflight: the load balancers' configuration test, free space
// in the state directory for twice the WAR, and the database writer. It changes nothing.
func (c *Cluster) Preflight(cfg *config.Config, warSize int64) func(context.Context) error {
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

// DialForStatus connects like Dial, except that a load-balancer host that cannot be dialled
// (unreachable, host key unknown or changed) does not fail it: that host's reads return the
// dial's error, so `zdd status` shows every other part and names the host with its error.
func DialForStatus(ctx context.Context, cfg *config.Config) (*Cluster, error) {
	c, err := connect.Dial(ctx, cfg, connect.Options{AgentSocket: os.Getenv("SSH_AUTH_SOCK"), KeepUnreachable: true})
	if err != nil {
		return nil, outcome.WithHint(outcome.Classify(outcome.ErrPreflight, err),
			"check the configuration with `zdd config validate`; zdd status changes nothing")
	}
	cl := &Cluster{Spec: c.Spec, Managers: c.Managers, Router: c.Router, Close: c.Close}
	if err := dialDatabase(cfg, cl); err != nil {
		_ = c.Close()
		return nil, err
	}
	return cl, nil
}
