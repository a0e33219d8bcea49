package connect

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/schema"
	"github.com/saitodrom/zdd/lb/haproxy"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// MigrateOptions are what the caller resolved for the schema migrator besides the configuration.
type MigrateOptions struct {
	// Managers are the nodes' Manager clients, keyed by node name, asked by the contract gate.
	// Nil means Managers(cfg) builds them.
	Managers map[string]deployer.Manager
	// HAProxyDialer reaches HAProxy's runtime API. Nil means this machine (the socket or TCP
	// address of database.haproxy.address as seen from here). Pass a *remote.SSH to reach a
	// socket on the HAProxy host (its DialContext opens a direct-streamlocal channel).
	HAProxyDialer haproxy.ContextDialer
	// Progress, if set, receives every event of a run (called on the run's goroutine).
	Progress func(schema.Event)
	// Who and From are recorded in the journal (the commands pass wiring.Identity); empty
	// means schema.Options' defaults, the OS user and the host name.
	Who, From string
}

// Migrations is the schema migrator of one configuration. Its methods return errors classified
// with deployer/outcome (see Classify), so commands and the engine map them to exit codes as
// they are. It implements deployer.Migrator.
type Migrations struct {
	// Schema is the underlying migrator.
	Schema *schema.Migrator
	// Progress receives the events of Up; nil drops them.
	Progress func(schema.Event)

	cfg      *config.Config
	managers map[string]deployer.Manager
}

var _ deployer.Migrator = (*Migrations)(nil)

// NewMigrations builds the migrator of cfg: the DSN and password of database, the directory of
// migrations.dir, the HAProxy runtime API of database.haproxy as the writer source, the lock
// waits, and the contract gate (ContractAllowed). It does not connect. A configuration without
// a DSN or without database.haproxy.address is an outcome.ErrPreflight error: zdd never runs
// DDL it cannot prove reaches the writer.
func NewMigrations(cfg *config.Config, opts MigrateOptions) (*Migrations, error) {
	d := cfg.Database
	if d.DSN == "" {
		return nil, preflight(errors.New("migrate: database.dsn is empty: no database to migrate"),
			"set database.dsn (user@tcp(haproxy-host:port)/db) and the password")
	}
	writer, err := writerSource(d.HAProxy, opts.HAProxyDialer)
	if err != nil {
		return nil, err
	}
	m := &Migrations{Progress: opts.Progress, cfg: cfg, managers: opts.Managers}
	if m.managers == nil {
		if m.managers, err = Managers(cfg); err != nil {
			return nil, preflight(err, "")
		}
	}
	s, err := schema.New(schema.Options{DSN: d.DSN, Password: d.Password.Reveal(), Dir: cfg.Migrations.Dir,
		Servers: d.HAProxy.Servers, Writer: writer, LockWait: d.LockWait, LockWaitTimeout: d.LockWaitTimeout,
		Who: opts.Who, From: opts.From, ContractAllowed: m.ContractAllowed})
	if err != nil {
		return nil, Classify(err, false)
	}
	m.Schema = s
	return m, nil
}

// writerSource reads HAProxy's active server of the backend from "unix:///path" or
// "tcp://host:port", through dialer when it is set.
func writerSource(h config.HAProxy, dialer haproxy.ContextDialer) (schema.WriterSource, error) {
	var network, addr string
	switch {
	case h.Address == "":
		return nil, preflight(errors.New("migrate: database.haproxy.address is empty: zdd cannot tell which server is the writer"),
			"set database.haproxy.address (unix:///path/admin.sock or tcp://host:port) and database.haproxy.servers")
	case strings.HasPrefix(h.Address, "unix://"):
		network, addr = "unix", strings.TrimPrefix(h.Address, "unix://")
	case strings.HasPrefix(h.Address, "tcp://"):
		network, addr = "tcp", strings.TrimPrefix(h.Address, "tcp://")
	default:
		return nil, preflight(fmt.Errorf("migrate: database.haproxy.address %q: want unix:///path or tcp://host:port", h.Address), "")
	}
	c, err := haproxy.New(haproxy.Options{Network: network, Address: addr, Dialer: dialer})
	if err != nil {
		return nil, preflight(fmt.Errorf("migrate: %w", err), "")
	}
	backend := h.Backend
	return schema.WriterSourceFunc(func(ctx context.Context) (string, error) {
		return c.ActiveServer(ctx, backend)
	}), nil
}

// Managers returns a Manager client per node of cfg (clients only: no request yet).
func Managers(cfg *config.Config) (map[string]deployer.Manager, error) {
	out := map[string]deployer.Manager{}
	for _, n := range cfg.Nodes {
		m, err := tomcatmgr.New(tomcatmgr.Config{Node: n.Name, BaseURL: n.ManagerURL, User: cfg.Tomcat.User,
			Password: cfg.Tomcat.Password.Reveal(), CAFile: cfg.Tomcat.CAFile,
			RequestTimeout: cfg.Tomcat.RequestTimeout, DeployTimeout: cfg.Tomcat.DeployTimeout})
		if err != nil {
			return nil, err
		}
		out[n.Name] = m
	}
	return out, nil
}

// ContractAllowed asks every node's Manager which versions of the application it has and
// refuses (outcome.ErrPreflight, hint `zdd drain`) while any node still has a version older
// than the newest one deployed anywhere, running or stopped (a stopped old version can be
// started again by a rollback). A node that does not answer refuses too: zdd cannot tell.
func (m *Migrations) ContractAllowed(ctx context.Context) error {
	path := "/" + strings.Trim(m.cfg.App.Name, "/")
	versions := map[string][]string{}
	newest, found := "", false
	for _, n := range m.cfg.Nodes {
		mgr, ok := m.managers[n.Name]
		if !ok {
			return preflight(fmt.Errorf("migrate: contract gate: no Manager client for node %s", n.Name), "")
		}
		apps, err := mgr.List(ctx)
		if err != nil {
			return preflight(fmt.Errorf("migrate: contract gate: list %s on %s: %w", path, n.Name, err),
				"every node must answer before contract migrations run; check the node, then run again")
		}
		for _, a := range apps {
			if a.Path != path {
				continue
			}
			versions[n.Name] = append(versions[n.Name], a.Version)
			if !found || tomcatmgr.CompareVersions(a.Version, newest) > 0 {
				newest, found = a.Version, true
			}
		}
	}
	var old []string
	for _, n := range m.cfg.Nodes {
		var vs []string
		for _, v := range versions[n.Name] {
			if tomcatmgr.CompareVersions(v, newest) < 0 {
				vs = append(vs, versionName(v))
			}
		}
		if len(vs) > 0 {
			sort.Strings(vs)
			old = append(old, n.Name+" has "+strings.Join(vs, ","))
		}
	}
	if len(old) > 0 {
		return preflight(fmt.Errorf("migrate: contract gate: the newest version of %s is %s but %s",
			path, versionName(newest), strings.Join(old, "; ")),
			"`zdd drain` retires the old version and then runs the contract phase")
	}
	return nil
}

func versionName(v string) string {
	if v == "" {
		return "(unversioned)"
	}
	return v
}

// Pending names the migrations of phase that Up would run, in order. It changes nothing.
func (m *Migrations) Pending(ctx context.Context, phase string) ([]string, error) {
	migs, err := m.Plan(ctx, phase)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(migs))
	for _, mig := range migs {
		names = append(names, mig.Name)
	}
	return names, nil
}

// Plan returns the migrations of phase that Up would run, in order, without running anything.
func (m *Migrations) Plan(ctx context.Context, phase string) ([]schema.Migration, error) {
	p, err := schema.ParsePhase(phase)
	if err != nil {
		return nil, Classify(err, false)
	}
	migs, err := m.Schema.Plan(ctx, p)
	return migs, Classify(err, false)
}

// Up applies the pending migrations of phase (deployer.Migrator), sending events to m.Progress.
func (m *Migrations) Up(ctx context.Context, phase string) error {
	_, err := m.Apply(ctx, phase)
	return err
}

// Apply is Up returning what it applied (also alongside an error).
func (m *Migrations) Apply(ctx context.Context, phase string) ([]schema.Result, error) {
	p, err := schema.ParsePhase(phase)
	if err != nil {
		return nil, Classify(err, false)
	}
	started := false
	res, err := m.Schema.Up(ctx, p, func(e schema.Event) {
		if e.Kind == schema.EventStart {
			started = true
		}
		if m.Progress != nil {
			m.Progress(e)
		}
	})
	// DDL may have taken effect when a file of the phase was applied, or when a statement was
	// sent and the server did not reject it before running it.
	ddl := len(res) > 0 || (started && !errors.Is(err, schema.ErrRejected))
	return res, Classify(err, ddl)
}

// Status reads the files and the journal (see schema.Migrator.Status).
func (m *Migrations) Status(ctx context.Context) (*schema.Report, error) {
	r, err := m.Schema.Status(ctx)
	return r, Classify(err, false)
}

// Resolve marks a dirty journal entry resolved (see schema.Migrator.Resolve).
func (m *Migrations) Resolve(ctx context.Context, phase, name string, how schema.Resolution) error {
	p, err := schema.ParsePhase(phase)
	if err != nil {
		return Classify(err, false)
	}
	return Classify(m.Schema.Resolve(ctx, p, name, how), false)
}

// CheckWriter is the release preflight of the database: it reads the migration files, connects
// through HAProxy and proves the connection reaches the writer HAProxy names as active. It
// changes nothing and takes no lock. Errors are outcome.ErrPreflight.
func (m *Migrations) CheckWriter(ctx context.Context) error {
	r, err := m.Schema.Status(ctx)
	if err != nil {
		return Classify(err, false)
	}
	return Classify(r.WriterErr, false)
}

// Classify attaches an outcome class (and a hint) to an error of package schema. ddlStarted
// tells whether some DDL of the run may have taken effect when it failed.
//
//   - schema.ErrLocked: outcome.ErrLocked (exit 5).
//   - context cancellation: unchanged (exit 130): the running statement finished and was
//     journaled, so the journal is consistent.
//   - schema.ErrStatement (the schema is dirty), and any error once a statement has taken
//     effect (a file of the phase applied, or a failover or lost connection in the middle of a
//     phase): outcome.ErrNeedsAttention (4).
//   - schema.ErrRejected with nothing applied (the server refused the first statement without
//     running it, e.g. a syntax error; not dirty): outcome.ErrPreflight (1), hint: fix the file.
//   - before any statement: schema.ErrInvalid, ErrDirty, ErrChecksum, ErrNotWriter,
//     ErrContractRefused, ErrConnect and anything else: outcome.ErrPreflight (1).
//
// An error that already carries a class keeps it.
func Classify(err error, ddlStarted bool) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, schema.ErrLocked):
		return outcome.WithHint(outcome.Classify(outcome.ErrLocked, err),
			"wait for the other migration run to finish, or raise database.lock_wait")
	case errors.Is(err, context.Canceled), errors.Is(err, outcome.ErrInterrupted):
		return err
	case errors.Is(err, schema.ErrStatement):
		return outcome.WithHint(outcome.Classify(outcome.ErrNeedsAttention, err),
			"`zdd migrate status` shows the failed migration; after checking the database, `zdd migrate resolve --phase P NAME --applied|--retry`")
	case ddlStarted:
		return outcome.WithHint(outcome.Classify(outcome.ErrNeedsAttention, err),
			"the phase is partly applied: `zdd migrate status` shows what ran; fix the cause and run `zdd migrate up` again")
	case errors.Is(err, schema.ErrRejected):
		return outcome.WithHint(outcome.Classify(outcome.ErrPreflight, err),
			"nothing ran and nothing changed: fix the migration file and run again")
	case outcome.Code(err) != outcome.Code(outcome.ErrPreflight) || errors.Is(err, outcome.ErrPreflight):
		return err // already classified
	case errors.Is(err, schema.ErrDirty):
		return outcome.WithHint(outcome.Classify(outcome.ErrPreflight, err),
			"`zdd migrate status` lists the dirty entries; `zdd migrate resolve` marks one applied or for retry")
	}
	return outcome.Classify(outcome.ErrPreflight, err)
}

func preflight(err error, hint string) error {
	err = outcome.Classify(outcome.ErrPreflight, err)
	if hint != "" {
		err = outcome.WithHint(err, hint)
	}
	return err
}
