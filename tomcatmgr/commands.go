package tomcatmgr

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
)

// ctxQuery validates c and returns its path and version as query parameters.
func ctxQuery(c Context) (url.Values, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	q := url.Values{"path": {c.Path}}
	if c.Version != "" {
		q.Set("version", c.Version)
	}
	return q, nil
}

// text runs a text-interface command about context c and checks for an OK answer.
func (c *Client) text(ctx context.Context, op string, cx Context, extra url.Values) (string, error) {
	q, err := ctxQuery(cx)
	if err != nil {
		return "", err
	}
	for k, v := range extra {
		q[k] = v
	}
	k := call{op: op, subject: cx.Name(), method: http.MethodGet, path: "/text/" + op, query: q}
	body, err := c.do(ctx, k)
	if err != nil {
		return "", err
	}
	if _, e := result(body); e != nil {
		return "", c.answer(k, e)
	}
	return body, nil
}

// Deploy uploads the WAR at warPath as context cx with an HTTP PUT, streamed from disk, and
// returns once the Manager reports the context started. progress, if not nil, is called from
// the sending goroutine every MiB and at the end with the bytes sent and the file size. The
// WAR is checked with CheckWAR first. Deploy is never retried; on ErrTimeout or ErrUnreachable
// the outcome is unknown (check with List). On ErrFailedToStart the context stays deployed and
// stopped: Undeploy it. Deploy uses Config.DeployTimeout.
func (c *Client) Deploy(ctx context.Context, cx Context, warPath string, progress func(sent, total int64)) error {
	q, err := ctxQuery(cx)
	if err != nil {
		return err
	}
	size, err := CheckWAR(warPath)
	if err != nil {
		return err
	}
	k := call{op: "deploy", subject: cx.Name(), method: http.MethodPut, path: "/text/deploy", query: q,
		deploy: true, upload: &upload{path: warPath, size: size, progress: progress}}
	body, err := c.do(ctx, k)
	if err != nil {
		return err
	}
	_, e := result(body)
	return c.answer(k, e)
}

// DeployFromServerPath deploys a WAR that is already on the node's disk (shared storage) as
// context cx: GET deploy?path=&version=&war=file:<serverPath>. serverPath must be absolute and
// end in ".war"; Tomcat copies it into appBase. Same timeout and retry rules as Deploy.
func (c *Client) DeployFromServerPath(ctx context.Context, cx Context, serverPath string) error {
	q, err := ctxQuery(cx)
	if err != nil {
		return err
	}
	if err := checkServerPath(serverPath); err != nil {
		return err
	}
	q.Set("war", "file:"+serverPath)
	k := call{op: "deploy", subject: cx.Name(), method: http.MethodGet, path: "/text/deploy", query: q, deploy: true}
	body, err := c.do(ctx, k)
	if err != nil {
		return err
	}
	_, e := result(body)
	return c.answer(k, e)
}

// CheckServerPath checks a WAR path on the node's disk as DeployFromServerPath does before it
// sends anything: absolute, clean, ending in ".war", no control characters. The error is an
// *Error of class ErrInvalid.
func CheckServerPath(p string) error { return checkServerPath(p) }

func checkServerPath(p string) error {
	bad := func(rule string) error {
		return &Error{Op: "validate", Context: fmt.Sprintf("%q", p), Message: "server path " + rule, Kind: ErrInvalid}
	}
	switch {
	case !filepath.IsAbs(p) || !strings.HasPrefix(p, "/"):
		return bad("must be absolute")
	case filepath.Clean(p) != p:
		return bad("must be clean (no \"..\", \"//\" or trailing '/')")
	case !strings.HasSuffix(p, ".war"):
		return bad("must end in .war")
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return bad("must not contain control characters")
		}
	}
	return nil
}

// List returns every context of the node's host. Each App carries its real version: parsed
// from a docBase in appBase ("app##002", "app##002.war"), otherwise (absolute docBase) read
// from the JMX WebModule's webappVersion, which needs role manager-jmx. List is a read and is
// retried on transport errors and 5xx.
func (c *Client) List(ctx context.Context) ([]App, error) {
	k := call{op: "list", method: http.MethodGet, path: "/text/list", read: true}
	body, err := c.do(ctx, k)
	if err != nil {
		return nil, err
	}
	apps, need, e := parseList(body)
	if e != nil {
		return nil, c.answer(k, e)
	}
	if len(need) == 0 {
		return apps, nil
	}
	host := c.cfg.Host
	if b := brackets(firstLine(body)); len(b) == 1 {
		host = b[0]
	}
	mods, err := c.Query(ctx, c.cfg.Domain+":j2eeType=WebModule,*")
	if err != nil {
		return nil, fmt.Errorf("tomcatmgr: list on %s: versions of contexts with absolute docBase need JMX: %w", c.cfg.Node, err)
	}
	if err := fillVersions(apps, need, mods, host); err != nil {
		return nil, c.finish(err, k)
	}
	return apps, nil
}

// fillVersions sets the version of apps[i] for i in need from the WebModule beans of host,
// matching path, docBase and state; each bean is used once.
func fillVersions(apps []App, need []int, mods []Bean, host string) *Error {
	used := make([]bool, len(mods))
	for _, i := range need {
		a := &apps[i]
		found := false
		for j, m := range mods {
			if used[j] || !moduleMatches(m, *a, host) {
				continue
			}
			used[j], found = true, true
			a.Version = m.Attrs["webappVersion"]
			break
		}
		if !found {
			return &Error{Message: fmt.Sprintf("no JMX WebModule for %s with docBase %q", a.Path, a.DocBase), Kind: ErrProtocol}
		}
		if a.Version != "" {
			if err := ValidateVersion(a.Version); err != nil {
				return &Error{Message: fmt.Sprintf("context %s has a version this client does not accept: %v", a.Path, err), Kind: ErrProtocol}
			}
		}
	}
	return nil
}

func moduleMatches(m Bean, a App, host string) bool {
	p := m.Attrs["path"]
	if p == "" {
		p = "/"
	}
	running := m.Attrs["stateName"] == "STARTED"
	return strings.Contains(m.Name, "name=//"+host+"/") && p == a.Path &&
		m.Attrs["docBase"] == a.DocBase && running == (a.State == StateRunning)
}

// Start starts a stopped context. Not retried. ErrFailedToStart if it could not start.
func (c *Client) Start(ctx context.Context, cx Context) error {
	_, err := c.text(ctx, "start", cx, nil)
	return err
}

// Stop stops a context. With parallel deployment its sessionless traffic then goes to the
// newest running version, and its sessions are lost. Not retried.
func (c *Client) Stop(ctx context.Context, cx Context) error {
	_, err := c.text(ctx, "stop", cx, nil)
	return err
}

// Reload reloads a context (requests wait while it reloads; not for versioned rollouts).
// Not retried.
func (c *Client) Reload(ctx context.Context, cx Context) error {
	_, err := c.text(ctx, "reload", cx, nil)
	return err
}

// Undeploy stops a context and deletes its files. ErrNotFound if it does not exist, ErrBusy if
// it was being serviced (the Manager then still prints an OK line: verify with List). Not retried.
func (c *Client) Undeploy(ctx context.Context, cx Context) error {
	_, err := c.text(ctx, "undeploy", cx, nil)
	return err
}

// Sessions returns the context's idle-time histogram. It is a read and is retried.
func (c *Client) Sessions(ctx context.Context, cx Context) (SessionStats, error) {
	q, err := ctxQuery(cx)
	if err != nil {
		return SessionStats{}, err
	}
	k := call{op: "sessions", subject: cx.Name(), method: http.MethodGet, path: "/text/sessions", query: q, read: true}
	body, err := c.do(ctx, k)
	if err != nil {
		return SessionStats{}, err
	}
	st, e := parseSessions(body)
	return st, c.answer(k, e)
}

// Expire expires the context's sessions idle for at least idleMinutes (0: all of them) and
// returns the histogram before expiry with Expired set. With DeltaManager the expiry reaches
// every node. Not retried.
func (c *Client) Expire(ctx context.Context, cx Context, idleMinutes int) (SessionStats, error) {
	if idleMinutes < 0 {
		return SessionStats{}, &Error{Op: "validate", Context: cx.Name(), Message: "idle minutes must be >= 0", Kind: ErrInvalid}
	}
	q, err := ctxQuery(cx)
	if err != nil {
		return SessionStats{}, err
	}
	q.Set("idle", strconv.Itoa(idleMinutes))
	k := call{op: "expire", subject: cx.Name(), method: http.MethodGet, path: "/text/expire", query: q}
	body, err := c.do(ctx, k)
	if err != nil {
		return SessionStats{}, err
	}
	st, e := parseSessions(body)
	return st, c.answer(k, e)
}

// ServerInfo returns the Tomcat, OS and JVM versions. It is a read and is retried.
func (c *Client) ServerInfo(ctx context.Context) (ServerInfo, error) {
	k := call{op: "serverinfo", method: http.MethodGet, path: "/text/serverinfo", read: true}
	body, err := c.do(ctx, k)
	if err != nil {
		return ServerInfo{}, err
	}
	si, e := parseServerInfo(body)
	return si, c.answer(k, e)
}
