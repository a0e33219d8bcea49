package deployer

import (
	"context"
	"time"

	"github.com/saitodrom/zdd/tomcatmgr"
)

// Manager is the Tomcat Manager of one node as the engine uses it.
//
// Implementations: *tomcatmgr.Client (the Manager's text and JMX proxy interfaces) and, in
// tests, deployertest's Manager; deployertest/conformance.Manager runs the same cases against
// both.
//
// Who calls it, when: the engine (package deployer), from one goroutine per node at most: List
// at Observe, at preflight, before each deploy (a context that already runs is not deployed
// again) and after a failure to read what the node runs; Deploy in a deploy step;
// SessionManager and List in a batch's gate, HasSession on the gate's other nodes and
// ExpireSession on the probe's node afterwards; SessionIDs, LastAccessed and ResyncSessions in
// the readmission gate before a node goes back in rotation; Expire in a drain at its deadline;
// Undeploy in a drain, an undeploy step and a rollback; Stop in a hard rollback.
// DeployFromServerPath is not called by the engine yet (shared release storage will). `zdd
// status` only reads (List).
//
// Errors are tomcatmgr's typed errors, for errors.Is:
//   - tomcatmgr.ErrInvalid: a bad context, version, session id, WAR or server path, refused
//     before anything was sent; nothing changed.
//   - tomcatmgr.ErrAlreadyExists: Deploy or DeployFromServerPath of a context the node has
//     already (running or not); nothing changed. Tomcat never replaces one.
//   - tomcatmgr.ErrNotFound: the node has no such context (Stop, Undeploy, Expire) or no such
//     session manager (SessionManager, HasSession, ExpireSession, SessionIDs, LastAccessed,
//     ResyncSessions: the context does not run there); nothing changed.
//   - tomcatmgr.ErrFailedToStart: the context was deployed but did not start; it stays
//     deployed and stopped: Undeploy it.
//   - tomcatmgr.ErrTimeout: ctx ended (deadline or cancel: errors.Is with the context's error
//     too) or the adapter's own timeout passed before an answer came. For a call that changes
//     the node (Deploy, DeployFromServerPath, Stop, Undeploy, ExpireSession, Expire,
//     ResyncSessions) the outcome is UNKNOWN: read the node with List before doing anything
//     else.
//   - tomcatmgr.ErrUnreachable: the node could not be reached; nothing is known to have
//     changed (a change may still have been made if the connection broke after sending).
//   - tomcatmgr.ErrAuth, ErrForbidden: the credentials or role are wrong; never retried.
//   - tomcatmgr.ErrBusy, ErrFailed, ErrProtocol: the Manager refused or answered oddly.
//
// Calls that change the node are never retried by the engine: after an error it reads the
// state with List. Reads may be retried by the implementation.
type Manager interface {
	// List returns every context on the node with its real version, state and session count.
	List(ctx context.Context) ([]tomcatmgr.App, error)
	// Deploy uploads the WAR at warPath (on this machine) as cx and returns once the context
	// has started; progress, if not nil, is called with the bytes sent and the WAR's size.
	Deploy(ctx context.Context, cx tomcatmgr.Context, warPath string, progress func(sent, total int64)) error
	// DeployFromServerPath deploys as cx the WAR at serverPath on the node's own disk (shared
	// release storage: nothing is uploaded) and returns once the context has started.
	// serverPath must be absolute, clean and end in ".war" (else ErrInvalid); a file the node
	// cannot read is ErrFailed. Same errors as Deploy otherwise.
	DeployFromServerPath(ctx context.Context, cx tomcatmgr.Context, serverPath string) error
	// Undeploy stops cx and removes it from the node.
	Undeploy(ctx context.Context, cx tomcatmgr.Context) error
	// Stop stops cx and keeps it deployed: its sessions end, and requests for the context go
	// to the newest version still running beside it. It fails with tomcatmgr.ErrNotFound when
	// the node has no cx (List then shows it stopped). Called by a hard rollback's stop step,
	// on every node at once, before its undeploy.
	Stop(ctx context.Context, cx tomcatmgr.Context) error
	// SessionManager describes cx's session manager (clustered or not, active sessions).
	SessionManager(ctx context.Context, cx tomcatmgr.Context) (tomcatmgr.SessionManager, error)
	// HasSession reports whether the session id exists in cx on this node: false, nil for a
	// session the node does not hold (not replicated there, or expired).
	HasSession(ctx context.Context, cx tomcatmgr.Context, id string) (bool, error)
	// ExpireSession expires one session of cx (with DeltaManager, on every node); an id the
	// node does not hold is no error.
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

// Prober talks to a node's application directly (never through the load balancer).
//
// Implementations: *HTTPProber and, in tests, deployertest's Prober;
// deployertest/conformance.Prober runs the same cases against both.
//
// Who calls it, when: the engine only, during gates: Health in a batch's gate and in the
// readmission gate (polled until 200 or the health timeout), and by the sentinel every few
// hundred milliseconds on the nodes in rotation while a step runs (an error there means the
// node is down); NewSession once per batch gate, on the probe node, for the replication check.
//
// Errors: an error means no HTTP answer came (unreachable, TLS refused, ctx ended: errors.Is
// with the context's error); any HTTP answer, 404 included, is a status and no error for
// Health. NewSession returns an error for an answer other than 200 or one without a session
// cookie. Neither changes the node, except the session NewSession creates.
type Prober interface {
	// Health fetches url (a node's health page, e.g. http://host:8080/app/health.jsp) without
	// following redirects and returns the HTTP status code.
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
