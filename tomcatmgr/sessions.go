package tomcatmgr

import (
	"context"
	"strings"
	"time"
)

// javaDateLayout is java.util.Date.toString(), which the Manager MBean's getLastAccessedTime
// and getCreationTime print: "Tue Dec 01 20:10:43 UTC 2026" (one-second precision).
const javaDateLayout = "Mon Jan 02 15:04:05 MST 2006"

// SessionIDs returns the ids of every session of cx on this node (with DeltaManager, the
// replicas from the other nodes too), by invoking listSessionIds on cx's manager MBean. The
// ids carry their jvmRoute suffix ("…C4.n1"). ErrNotFound if cx has no session manager on the
// node. Retried (the operation only reads).
func (c *Client) SessionIDs(ctx context.Context, cx Context) ([]string, error) {
	if err := cx.Validate(); err != nil {
		return nil, err
	}
	v, err := c.invoke(ctx, true, c.ManagerBean(cx), "listSessionIds")
	if err != nil {
		return nil, err
	}
	ids := strings.Fields(v)
	for _, id := range ids {
		if err := checkSessionID(id); err != nil {
			return nil, &Error{Op: "jmx invoke listSessionIds", Node: c.cfg.Node, Context: c.ManagerBean(cx),
				Message: "unexpected session id in the answer: " + err.(*Error).Message, Kind: ErrProtocol}
		}
	}
	return ids, nil
}

// LastAccessed returns when the session id of cx was last accessed on this node, as its
// manager MBean's getLastAccessedTime(id) prints it (a java.util.Date, so one-second
// precision, in the JVM's time zone: compare times of nodes that share a time zone). found is
// false when the node has no such session. ErrNotFound if cx has no session manager on the
// node; ErrProtocol if the date cannot be read. Retried (the operation only reads).
func (c *Client) LastAccessed(ctx context.Context, cx Context, id string) (at time.Time, found bool, err error) {
	if err := cx.Validate(); err != nil {
		return time.Time{}, false, err
	}
	if err := checkSessionID(id); err != nil {
		return time.Time{}, false, err
	}
	v, err := c.invoke(ctx, true, c.ManagerBean(cx), "getLastAccessedTime", id)
	if err != nil {
		return time.Time{}, false, err
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false, nil
	}
	at, perr := ParseJavaDate(v)
	if perr != nil {
		return time.Time{}, false, &Error{Op: "jmx invoke getLastAccessedTime", Node: c.cfg.Node, Context: c.ManagerBean(cx),
			Message: "cannot read the date " + truncate(v), Kind: ErrProtocol, Err: perr}
	}
	return at, true, nil
}

// ParseJavaDate reads a java.util.Date as its toString() prints it ("Tue Dec 01 20:10:43 UTC
// 2026"). A zone abbreviation Go does not know is read with offset 0, the same way on every
// node, so two such times compare correctly when they name the same zone.
func ParseJavaDate(s string) (time.Time, error) {
	return time.Parse(javaDateLayout, strings.TrimSpace(s))
}

// ResyncSessions asks cx's DeltaManager on this node to fetch every session again from the
// oldest cluster member (JMX operation getAllClusterSessions): the copies it receives replace
// the ones it holds, and the session messages that arrive meanwhile are queued and applied
// after. It blocks until the transfer is done or the manager's stateTransferTimeout (60 s by
// default) passes, so give ctx a deadline and Config.RequestTimeout room; it returns no
// result either way (read the sessions again to know). A BackupManager has no such operation
// (ErrFailed). Not retried.
func (c *Client) ResyncSessions(ctx context.Context, cx Context) error {
	if err := cx.Validate(); err != nil {
		return err
	}
	_, err := c.invoke(ctx, false, c.ManagerBean(cx), "getAllClusterSessions")
	return err
}
