package tomcatmgr

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// checkJMXArg refuses empty values and control characters in bean names and operations.
func checkJMXArg(what, v string) error {
	if v == "" {
		return &Error{Op: "validate", Message: what + " is empty", Kind: ErrInvalid}
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return &Error{Op: "validate", Context: fmt.Sprintf("%q", v), Message: what + " must not contain control characters", Kind: ErrInvalid}
		}
	}
	return nil
}

// Query returns the MBeans matching an ObjectName pattern, e.g. "Catalina:type=Manager,*".
// It is a read and is retried. No match is an empty slice, not an error.
func (c *Client) Query(ctx context.Context, pattern string) ([]Bean, error) {
	if err := checkJMXArg("jmx query", pattern); err != nil {
		return nil, err
	}
	k := call{op: "jmx query", subject: pattern, method: http.MethodGet, path: "/jmxproxy/",
		query: url.Values{"qry": {pattern}}, read: true}
	body, err := c.do(ctx, k)
	if err != nil {
		return nil, err
	}
	beans, e := parseQuery(body)
	if e != nil {
		return nil, c.answer(k, e)
	}
	return beans, nil
}

// Get returns one attribute of an MBean as the proxy prints it (arrays print only their Java
// identity: use Query for their items). ErrNotFound if the bean does not exist. Retried.
func (c *Client) Get(ctx context.Context, bean, attr string) (string, error) {
	if err := checkJMXArg("bean", bean); err != nil {
		return "", err
	}
	if err := checkJMXArg("attribute", attr); err != nil {
		return "", err
	}
	k := call{op: "jmx get", subject: bean, method: http.MethodGet, path: "/jmxproxy/",
		query: url.Values{"get": {bean}, "att": {attr}}, read: true}
	body, err := c.do(ctx, k)
	if err != nil {
		return "", err
	}
	v, e := parseGet(body, attr)
	if e != nil {
		return "", c.answer(k, e)
	}
	return v, nil
}

// Invoke calls an MBean operation and returns its printed result ("" when it returns nothing).
// The proxy splits params on ',' and picks the overload by count, so a param must not contain
// a comma. Invoke is not retried, since an operation may change state.
func (c *Client) Invoke(ctx context.Context, bean, op string, params ...string) (string, error) {
	return c.invoke(ctx, false, bean, op, params...)
}

func (c *Client) invoke(ctx context.Context, read bool, bean, op string, params ...string) (string, error) {
	if err := checkJMXArg("bean", bean); err != nil {
		return "", err
	}
	if err := checkJMXArg("operation", op); err != nil {
		return "", err
	}
	q := url.Values{"invoke": {bean}, "op": {op}}
	for _, p := range params {
		if strings.ContainsAny(p, ",\r\n") {
			return "", &Error{Op: "validate", Context: bean, Message: fmt.Sprintf("parameter %q must not contain ',' or line breaks", p), Kind: ErrInvalid}
		}
	}
	if len(params) > 0 {
		q.Set("ps", strings.Join(params, ","))
	}
	k := call{op: "jmx invoke " + op, subject: bean, method: http.MethodGet, path: "/jmxproxy/", query: q, read: read}
	body, err := c.do(ctx, k)
	if err != nil {
		return "", err
	}
	v, e := parseInvoke(body)
	if e != nil {
		return "", c.answer(k, e)
	}
	return v, nil
}

// ManagerBean returns the ObjectName of cx's session manager,
// "Catalina:type=Manager,host=localhost,context=/app##002".
func (c *Client) ManagerBean(cx Context) string {
	return c.cfg.Domain + ":type=Manager,host=" + c.cfg.Host + ",context=" + cx.Name()
}

// SessionManager describes the session manager of one context on one node.
type SessionManager struct {
	// ClassName is the manager's class, e.g. org.apache.catalina.ha.session.DeltaManager.
	ClassName string
	// Clustered is IsClusteredManager(ClassName).
	Clustered bool
	// StateName is the lifecycle state, "STARTED" when running.
	StateName string
	// ActiveSessions counts the node's sessions (with DeltaManager including replicas).
	ActiveSessions int
	// StateTransferred is true once a DeltaManager received the sessions of a peer at start;
	// it stays false on the first node to start the context and after NoContextManagerReceived.
	StateTransferred bool
	// NoContextManagerReceived is true when the peer asked at start did not have the context.
	NoContextManagerReceived bool
	// CounterNoStateTransferred counts state transfers that timed out (the 60 s stall).
	CounterNoStateTransferred int
}

// IsClusteredManager reports whether a session manager class replicates sessions: Tomcat's
// DeltaManager or BackupManager (not StandardManager or PersistentManager).
func IsClusteredManager(className string) bool {
	return className == "org.apache.catalina.ha.session.DeltaManager" ||
		className == "org.apache.catalina.ha.session.BackupManager"
}

// SessionManager reads the session manager MBean of cx (its modelerType is Tomcat's generic
// BaseModelMBean; the class is the className attribute). ErrNotFound if cx is not deployed or
// not started. Retried.
func (c *Client) SessionManager(ctx context.Context, cx Context) (SessionManager, error) {
	if err := cx.Validate(); err != nil {
		return SessionManager{}, err
	}
	name := c.ManagerBean(cx)
	beans, err := c.Query(ctx, name)
	if err != nil {
		return SessionManager{}, err
	}
	if len(beans) == 0 {
		return SessionManager{}, &Error{Op: "jmx query", Node: c.cfg.Node, Context: name,
			Message: "no session manager: the context is not deployed or not started", Kind: ErrNotFound}
	}
	a := beans[0].Attrs
	m := SessionManager{ClassName: a["className"], StateName: a["stateName"],
		StateTransferred: a["stateTransferred"] == "true", NoContextManagerReceived: a["noContextManagerReceived"] == "true"}
	m.Clustered = IsClusteredManager(m.ClassName)
	m.ActiveSessions, _ = strconv.Atoi(a["activeSessions"])
	m.CounterNoStateTransferred, _ = strconv.Atoi(a["counterNoStateTransferred"])
	return m, nil
}

// Member is a cluster member as a node's Tribes channel sees it.
type Member struct {
	// Host and Port are the member's receiver address, e.g. 127.0.0.1 and 14002.
	Host string
	Port int
	// Raw is the member as the proxy printed it.
	Raw string
}

// Addr returns host:port.
func (m Member) Addr() string { return net.JoinHostPort(m.Host, strconv.Itoa(m.Port)) }

// ClusterMembers returns the other members the node's cluster channel currently sees (the
// node itself is not listed; a dead peer drops out after the membership's expiration time).
// It reads attribute Members of ClusterChannel:type=Channel,component=Channel. ErrNotFound if
// the node has no cluster. Retried.
func (c *Client) ClusterMembers(ctx context.Context) ([]Member, error) {
	pattern := "ClusterChannel:type=Channel,component=Channel,*"
	beans, err := c.Query(ctx, pattern)
	if err != nil {
		return nil, err
	}
	if len(beans) == 0 {
		return nil, &Error{Op: "jmx query", Node: c.cfg.Node, Context: pattern,
			Message: "no cluster channel: the node is not clustered", Kind: ErrNotFound}
	}
	var out []Member
	for _, raw := range beans[0].Arrays["Members"] {
		m, ok := parseMember(raw)
		if !ok {
			return nil, &Error{Op: "jmx query", Node: c.cfg.Node, Context: pattern,
				Message: fmt.Sprintf("cannot parse member %q", truncate(raw)), Kind: ErrProtocol}
		}
		out = append(out, m)
	}
	return out, nil
}

// parseMember reads "…[tcp://{127, 0, 0, 1}:14102,…" or "…[tcp://host:14102,…".
func parseMember(raw string) (Member, bool) {
	i := strings.Index(raw, "tcp://")
	if i < 0 {
		return Member{}, false
	}
	s := raw[i+len("tcp://"):]
	var host string
	if strings.HasPrefix(s, "{") {
		j := strings.IndexByte(s, '}')
		if j < 0 {
			return Member{}, false
		}
		parts := strings.Split(s[1:j], ",")
		ip := make(net.IP, 0, len(parts))
		for _, p := range parts {
			n, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil || n < -128 || n > 255 {
				return Member{}, false
			}
			ip = append(ip, byte(n)) // Java prints signed bytes
		}
		if len(ip) != 4 && len(ip) != 16 {
			return Member{}, false
		}
		host, s = ip.String(), s[j+1:]
	} else {
		j := strings.LastIndexByte(strings.SplitN(s, ",", 2)[0], ':')
		if j <= 0 {
			return Member{}, false
		}
		host, s = s[:j], s[j:]
	}
	if !strings.HasPrefix(s, ":") {
		return Member{}, false
	}
	s = s[1:]
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	port, err := strconv.Atoi(s[:end])
	if err != nil || port <= 0 || port > 65535 {
		return Member{}, false
	}
	return Member{Host: host, Port: port, Raw: raw}, true
}

// CheckSessionID checks a session id as HasSession, ExpireSession and LastAccessed do before
// they send anything: 1 to 256 letters, digits, '.', '-' and '_'. The error is an *Error of
// class ErrInvalid.
func CheckSessionID(id string) error { return checkSessionID(id) }

// checkSessionID accepts Tomcat session ids: letters, digits, '.', '-' and '_'.
func checkSessionID(id string) error {
	if id == "" || len(id) > 256 {
		return &Error{Op: "validate", Message: "session id must be 1 to 256 characters", Kind: ErrInvalid}
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '-' || ch == '_') {
			return &Error{Op: "validate", Message: fmt.Sprintf("session id has forbidden character %q", ch), Kind: ErrInvalid}
		}
	}
	return nil
}

// HasSession reports whether the session id exists in cx's session manager on this node, by
// invoking getCreationTime(id) on the manager MBean (it returns "" for an unknown id). Pass the
// full id with its jvmRoute suffix ("…C4.n1"): replicas are stored under the full id.
// ErrNotFound if cx has no session manager on the node. Retried (the operation only reads).
func (c *Client) HasSession(ctx context.Context, cx Context, id string) (bool, error) {
	if err := cx.Validate(); err != nil {
		return false, err
	}
	if err := checkSessionID(id); err != nil {
		return false, err
	}
	v, err := c.invoke(ctx, true, c.ManagerBean(cx), "getCreationTime", id)
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(v) != "", nil
}

// ExpireSession expires one session of cx on this node (with DeltaManager, on every node), for
// example a probe session after a replication check. Not retried.
func (c *Client) ExpireSession(ctx context.Context, cx Context, id string) error {
	if err := cx.Validate(); err != nil {
		return err
	}
	if err := checkSessionID(id); err != nil {
		return err
	}
	_, err := c.invoke(ctx, false, c.ManagerBean(cx), "expireSession", id)
	return err
}
