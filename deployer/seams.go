package deployer

import (
	"context"
	"time"

	"github.com/saitodrom/zdd/tomcatmgr"
)

// Manager is the Tomcat Manager of one node as the engine uses it; *tomcatmgr.Client
// implements it. The engine calls it from one goroutine per node at most. Errors are
// tomcatmgr's typed errors (errors.Is with tomcatmgr.ErrAuth, ErrNotFound, ...). Deploy,
// Undeploy, Stop, ExpireSession and ResyncSessions change the node and are never retried by the engine: after an
// error it reads the state with List.
type Manager interface {
	// List returns every context on the node with its real version, state and session count.
	List(ctx context.Context) ([]tomcatmgr.App, error)
	// Deploy uploads the WAR as cx and returns once the context has started.
	Deploy(ctx context.Context, cx tomcatmgr.Context, warPath string, progress func(sent, total int64)) error
	// Undeploy stops cx and removes it from the node.
	Undeploy(ctx context.Context, cx tomcatmgr.Context) error
	// Stop stops cx and keeps it deployed: its sessions end, and requests for the context go
	// to the newest version still running beside it. It fails with tomcatmgr.ErrNotFound when
	// the node has no cx. Called by a hard rollback's stop step, on every node at once.
	Stop(ctx context.Context, cx tomcatmgr.Context) error
	// SessionManager describes cx's session manager (clustered or not, active sessions).
	SessionManager(ctx context.Context, cx tomcatmgr.Context) (tomcatmgr.SessionManager, error)
	// HasSession reports whether the session id exists in cx on this node.
	HasSession(ctx context.Context, cx tomcatmgr.Context, id string) (bool, error)
	// ExpireSession expires one session of cx (with DeltaManager, on every node).
	ExpireSession(ctx context.Context, cx tomcatmgr.Context, id string) error
	// Expire expires the sessions of cx idle for at least idleMinutes (0: all of them).
	Expire(ctx context.Context, cx tomcatmgr.Context, idleMinutes int) (tomcatmgr.SessionStats, error)
	// SessionIDs lists the ids of cx's sessions on the node (with DeltaManager, the replicas
	// too). The readmission gate calls it before a node goes back in rotation.
	SessionIDs(ctx context.Context, cx tomcatmgr.Context) ([]string, error)
	// LastAccessed returns when session id of cx was last accessed on the node (whole
	// seconds); found is false when the node has no such session. Called by the readmission
	// gate, on the node and on a peer in rotation.
	LastAccessed(ctx context.Context, cx tomcatmgr.Context, id string) (at time.Time, found bool, err error)
	// ResyncSessions makes the node fetch every session of cx again from the cluster
	// (DeltaManager getAllClusterSessions); it returns once the transfer ended or timed out,
	// without saying which: compare the sessions again. Called by the readmission gate when
	// the node's sessions differ from a peer's; never retried by the engine.
	ResyncSessions(ctx context.Context, cx tomcatmgr.Context) error
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
