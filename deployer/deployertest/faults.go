package deployertest

import (
	"context"
	"fmt"

	"github.com/saitodrom/zdd/tomcatmgr"
)

// Op names one method of one of the fakes, for failure injection. Every method of every fake
// has one, so a test can make any call fail.
type Op string

// The operations of the Manager (Cluster.Manager), the load balancer (Cluster.Router), the
// prober (Cluster.Prober) and the database writer check (Cluster.Writer).
const (
	List                 Op = "list"
	Deploy               Op = "deploy"
	DeployFromServerPath Op = "deploy-from-server-path"
	Stop                 Op = "stop"
	Undeploy             Op = "undeploy"
	SessionManager       Op = "session-manager"
	HasSession           Op = "has-session"
	ExpireSession        Op = "expire-session"
	Expire               Op = "expire"
	SessionIDs           Op = "session-ids"
	LastAccessed         Op = "last-accessed"
	ResyncSessions       Op = "resync-sessions"
	ClusterMembers       Op = "cluster-members"
	States               Op = "states"
	Apply                Op = "apply"
	Verify               Op = "verify"
	Health               Op = "health"
	NewSession           Op = "new-session"
	ActiveServer         Op = "active-server"
)

var ops = map[Op]bool{List: true, Deploy: true, DeployFromServerPath: true, Stop: true, Undeploy: true,
	SessionManager: true, HasSession: true, ExpireSession: true, Expire: true, SessionIDs: true, LastAccessed: true,
	ResyncSessions: true, ClusterMembers: true, States: true, Apply: true, Verify: true, Health: true,
	NewSession: true, ActiveServer: true}

// changing are the operations that change a node or the load balancer: after a timeout their
// outcome is unknown.
var changing = map[Op]bool{Deploy: true, DeployFromServerPath: true, Stop: true, Undeploy: true,
	ExpireSession: true, Expire: true, ResyncSessions: true, Apply: true}

// fault is one injected failure.
type fault struct {
	err    error // returned instead of the call's result
	hang   bool  // the call waits for its context to end, then times out
	always bool  // stays until Heal
}

type faultKey struct {
	op   Op
	node string
}

// FailNext makes the next call of op on node fail with err, once; the call changes nothing.
// node is the Manager's node, the node of the Prober's URL, and "" for the load balancer and
// the writer check. It panics when err is nil or op is not an Op of this package: an
// injection that would inject nothing is a broken test.
func (c *Cluster) FailNext(op Op, node string, err error) { c.inject(op, node, fault{err: err}) }

// Fail makes every call of op on node fail with err until Heal; see FailNext.
func (c *Cluster) Fail(op Op, node string, err error) {
	c.inject(op, node, fault{err: err, always: true})
}

// HangNext makes the next call of op on node wait until its context ends, then fail as the
// real adapter fails at a deadline: a *tomcatmgr.Error of class tomcatmgr.ErrTimeout that
// wraps the context's error for a Manager, the context's error for the others. A call that
// changes something (Deploy, Undeploy, Stop, Apply...) makes its change first, as a Tomcat
// that finished the deploy after the client gave up: the outcome is unknown to the caller.
func (c *Cluster) HangNext(op Op, node string) { c.inject(op, node, fault{hang: true}) }

// Heal removes the failure injected for op on node, if any.
func (c *Cluster) Heal(op Op, node string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.faults, faultKey{op, node})
}

// Pending tells whether a failure injected for op on node is still there: a FailNext or
// HangNext whose call never came, or a Fail.
func (c *Cluster) Pending(op Op, node string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.faults[faultKey{op, node}]
	return ok
}

func (c *Cluster) inject(op Op, node string, f fault) {
	if !ops[op] {
		panic(fmt.Sprintf("deployertest: no operation %q to inject a failure into", op))
	}
	if !f.hang && f.err == nil {
		panic(fmt.Sprintf("deployertest: a nil error injected into %s %s would inject nothing", op, node))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.faults == nil {
		c.faults = map[faultKey]fault{}
	}
	c.faults[faultKey{op, node}] = f
}

// take returns the fault injected for op on node and consumes it unless it stays; c.mu must
// be held.
func (c *Cluster) take(op Op, node string) (fault, bool) {
	f, ok := c.faults[faultKey{op, node}]
	if ok && !f.always {
		delete(c.faults, faultKey{op, node})
	}
	return f, ok
}

// call runs one operation of a fake: it fails at once when ctx has ended, or with an injected
// fault; otherwise, and for a hang after a change, it runs do under c.mu. timeout builds the
// error of an ended context. A hang waits without holding c.mu.
func (c *Cluster) call(ctx context.Context, op Op, node string, timeout func(error) error, do func() error) error {
	if err := ctx.Err(); err != nil {
		return timeout(err)
	}
	c.mu.Lock()
	f, ok := c.take(op, node)
	if ok && !f.hang {
		c.mu.Unlock()
		return f.err
	}
	var err error
	if !ok || changing[op] {
		err = do()
	}
	c.mu.Unlock()
	if !ok {
		return err
	}
	<-ctx.Done()
	return timeout(ctx.Err())
}

// managerTimeout is the error tomcatmgr.Client returns when ctx ended before an answer came.
func managerTimeout(op Op, node string, cx *tomcatmgr.Context) func(error) error {
	return func(err error) error {
		e := &tomcatmgr.Error{Op: string(op), Node: node, Kind: tomcatmgr.ErrTimeout, Err: err}
		if cx != nil {
			e.Context = cx.Name()
		}
		if changing[op] {
			e.Hint = "the outcome is unknown: check with list before trying again"
		}
		return e
	}
}

// plainTimeout returns the context's error, as the load balancer, prober and writer check do.
func plainTimeout(op Op, node string) func(error) error {
	return func(err error) error {
		if node != "" {
			return fmt.Errorf("deployertest: %s on %s: %w", op, node, err)
		}
		return fmt.Errorf("deployertest: %s: %w", op, err)
	}
}
