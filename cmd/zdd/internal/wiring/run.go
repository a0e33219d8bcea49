package wiring

import (
	"context"

	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/deployer/wait"
)

// Options are what Start needs besides the configuration.
type Options struct {
	// Dial connects to the cluster; nil means Dial.
	Dial DialFunc
	// Who is this process, for the lease and the journal (WhoAmI).
	Who state.Lease
	// Sink receives the engine's events, and the waiting events of the lease wait.
	Sink deployer.Sink
	// Lock takes the release lease here, waiting up to strategy.lock_wait (deploy, promote,
	// drain). Without it the engine takes the lease itself (Engine.Resume, Engine.Abort and
	// Engine.Rollback, which read the journal first and may take a lease over).
	Lock bool
	// WARSize is the size of the WAR a release deploys, for the free-space preflight; 0: none.
	WARSize int64
}

// Run is one command's run on the cluster: the engine with every seam, the lease when Start
// took it, and the context the run must use. Close ends it.
type Run struct {
	// Cluster is the dialled cluster.
	Cluster *Cluster
	// Engine is the engine on it (Cluster.Engine).
	Engine *deployer.Engine
	// Held is the lease taken by Start (Options.Lock); nil otherwise.
	Held *state.Held
	// Ctx is the context of the run: the caller's, cancelled too when the lease is lost (taken
	// over by `zdd rollback`), so the run stops as after Ctrl-C. The caller's own ctx still
	// tells Ctrl-C and --timeout apart from that.
	Ctx    context.Context
	cancel context.CancelFunc
	parent context.Context
}

// Start dials the cluster, builds the engine and, with Options.Lock, takes the lease (waiting
// up to strategy.lock_wait, with waiting events to Options.Sink). Its errors are classified
// (a failed dial is a preflight failure, a lease held elsewhere outcome.ErrLocked).
func Start(ctx context.Context, cfg *config.Config, opts Options) (*Run, error) {
	dial := opts.Dial
	if dial == nil {
		dial = Dial
	}
	c, err := dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	r := &Run{Cluster: c, Engine: c.Engine(cfg, nil, opts.Sink, opts.WARSize), parent: ctx}
	r.Ctx, r.cancel = context.WithCancel(ctx)
	if opts.Lock {
		if err := r.Lock(cfg, opts.Who, opts.Sink); err != nil {
			r.Close()
			return nil, err
		}
	}
	return r, nil
}

// Lock takes the release lease for a run started without Options.Lock (deploy takes it once
// its input is checked against the cluster, so that a refused version leaves the state
// directory as it was): it waits up to strategy.lock_wait, and from then on Ctx is cancelled
// too when the lease is lost.
func (r *Run) Lock(cfg *config.Config, who state.Lease, sink deployer.Sink) error {
	held, err := Lock(r.Ctx, cfg, who, sink)
	if err != nil {
		return err
	}
	r.cancel()
	r.Held = held
	r.Ctx, r.cancel = state.WhileHeld(r.parent, held)
	return nil
}

// Lease returns who holds the run's lease: the lease Start took, or who when it took none.
func (r *Run) Lease(who state.Lease) state.Lease {
	if r.Held != nil {
		return r.Held.Lease()
	}
	return who
}

// Close releases the lease (if Start took it) and the connections.
func (r *Run) Close() {
	r.cancel()
	if r.Held != nil {
		_ = r.Held.Release()
	}
	r.Cluster.Disconnect()
}

// Locker is the release lease in state.dir with strategy.lease_ttl.
func Locker(cfg *config.Config) *state.Locker {
	return &state.Locker{Dir: cfg.State.Dir, TTL: cfg.Strategy.LeaseTTL, LockWait: cfg.Strategy.LockWait, Policy: cfg.State.Policy()}
}

// Lock takes the release lease for who, waiting up to strategy.lock_wait; a wait longer than a
// few seconds reports to sink as waiting events. It fails with outcome.ErrLocked naming the
// holder.
func Lock(ctx context.Context, cfg *config.Config, who state.Lease, sink deployer.Sink) (*state.Held, error) {
	if sink != nil {
		e := &deployer.Engine{Sink: sink}
		ctx = wait.WithReporter(ctx, 0, e.WaitReporter(0, "lock"))
	}
	return Locker(cfg).Acquire(ctx, who, cfg.Strategy.LockWait)
}
