package deployer

import (
	"context"

	"github.com/saitodrom/zdd/tomcatmgr"
)

// Manager is the Tomcat Manager of one node as the engine uses it; *tomcatmgr.Client
// implements it. The engine calls it from one goroutine per node at most. Errors are
// tomcatmgr's typed errors (errors.Is with tomcatmgr.ErrAuth, ErrNotFound, ...). Deploy,
// Undeploy and ExpireSession change the node and are never retried by the engine: after an
// error it reads the state with List.
type Manager interface {
	// List returns every context on the node with its real version, state and session count.
	List(ctx context.Context) ([]tomcatmgr.App, error)
	// Deploy uploads the WAR as cx and returns once the context has started.
	Deploy(ctx context.Context, cx tomcatmgr.Context, warPath string, progress func(sent, total int64)) error
	// Undeploy stops cx and removes it from the node.
	Undeploy(ctx context.Context, cx tomcatmgr.Context) error
	// SessionManager describes cx's session manager (clustered or not, active sessions).
	SessionManager(ctx context.Context, cx tomcatmgr.Context) (tomcatmgr.SessionManager, error)
	// HasSession reports whether the session id exists in cx on this node.
	HasSession(ctx context.Context, cx tomcatmgr.Context, id string) (bool, error)
	// ExpireSession expires one session of cx (with DeltaManager, on every node).
	ExpireSession(ctx context.Context, cx tomcatmgr.Context, id string) error
	// Expire expires the sessions of cx idle for at least idleMinutes (0: all of them).
	Expire(ctx context.Context, cx tomcatmgr.Context, idleMinutes int) (tomcatmgr.SessionStats, error)
}

// Prober talks to a node's application directly (never through the load balancer), for the
// gates. The engine calls it during gates only; an error means the check failed.
type Prober interface {
	// Health fetches the health page of the newest version on the node at baseURL and returns
	// the HTTP status code.
	Health(ctx context.Context, url string) (status int, err error)
	// NewSession requests url without a cookie and returns the session id the application set.
	NewSession(ctx context.Context, url string) (id string, err error)
}

// Migrator runs schema migrations of one phase ("expand" or "contract") on the master.
// deployer/schema implements it through an adapter. Pending changes nothing; Up returns an
// error classified with outcome.ErrLocked when another run holds the migration lock.
type Migrator interface {
	// Pending names the migrations of phase not applied yet, in order.
	Pending(ctx context.Context, phase string) ([]string, error)
	// Up applies the pending migrations of phase.
	Up(ctx context.Context, phase string) error
}
