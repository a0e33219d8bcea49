package tomcatmgr

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/saitodrom/zdd/internal/redact"
	"github.com/saitodrom/zdd/internal/tlsconf"
)

// Defaults for the zero values of Config.
const (
	DefaultRequestTimeout = 30 * time.Second
	DefaultDeployTimeout  = 5 * time.Minute
	DefaultRetries        = 3
	DefaultRetryBackoff   = 500 * time.Millisecond
	maxBackoff            = 8 * time.Second
	maxResponse           = 16 << 20
)

// Config configures a Client for one Tomcat node.
type Config struct {
	// Node names the node in errors, e.g. "n1". Empty means the BaseURL's host:port.
	Node string
	// BaseURL is the Manager webapp's URL, e.g. "http://127.0.0.1:18081/manager". It must not
	// carry credentials.
	BaseURL string
	// User and Password are the Manager user's; it needs manager-script (text interface) and
	// manager-jmx (JMX proxy, List with absolute docBases, replication evidence).
	User, Password string
	// CAFile is a PEM file of CA certificates trusted in addition to the system roots for an
	// https BaseURL. Certificates are always verified.
	CAFile string
	// Host is the virtual host of the contexts in JMX names. Empty means "localhost".
	Host string
	// Domain is the JMX domain of Tomcat's MBeans (the Engine name). Empty means "Catalina".
	Domain string
	// RequestTimeout bounds one attempt of every call except Deploy. Zero means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// DeployTimeout bounds Deploy and DeployFromServerPath, which return only once the context
	// has started (or failed). Zero means DefaultDeployTimeout.
	DeployTimeout time.Duration
	// Retries is how many times a read is repeated after a transport error or a 5xx answer.
	// Zero means DefaultRetries; a negative value disables retries.
	Retries int
	// RetryBackoff is the wait before the first retry; it doubles up to 8 s. Zero means
	// DefaultRetryBackoff.
	RetryBackoff time.Duration
}

// String describes the configuration without the password.
func (c Config) String() string {
	pw := ""
	if c.Password != "" {
		pw = redact.Text
	}
	return fmt.Sprintf("tomcatmgr.Config{Node:%q BaseURL:%q User:%q Password:%q CAFile:%q}", c.Node, c.BaseURL, c.User, pw, c.CAFile)
}

// GoString is String, so %#v does not print the password either.
func (c Config) GoString() string { return c.String() }

// Client talks to the Manager of one node. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base string
	rc   *resty.Client
}

// New checks cfg and returns a Client. It does not contact the server.
func New(cfg Config) (*Client, error) {
	bad := func(msg string) error { return &Error{Op: "config", Node: cfg.Node, Message: msg, Kind: ErrInvalid} }
	u, err := url.Parse(cfg.BaseURL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return nil, bad(fmt.Sprintf("BaseURL %q is not an http(s) URL like http://host:8080/manager", redact.URL(cfg.BaseURL)))
	case u.User != nil:
		return nil, bad("BaseURL must not contain credentials; set User and Password")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, bad("BaseURL must not have a query or fragment")
	case cfg.User == "":
		return nil, bad("User is empty")
	}
	if cfg.Node == "" {
		cfg.Node = u.Host
	}
	setDefaults(&cfg)
	tlsCfg, err := tlsconf.Client(cfg.CAFile)
	if err != nil {
		return nil, &Error{Op: "config", Node: cfg.Node, Message: "CAFile " + cfg.CAFile, Kind: ErrInvalid, Err: err}
	}
	tr := tlsconf.Transport(tlsCfg)
	hc := &http.Client{
		Transport: &streamTransport{base: tr},
		// A redirect is never expected; returning it lets the caller see an unexpected status.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	rc := resty.NewWithClient(hc).
		SetBasicAuth(cfg.User, cfg.Password).
		SetHeader("Accept-Language", "en").
		SetHeader("User-Agent", "zdd-tomcatmgr").
		SetDisableWarn(true).
		SetLogger(nopLogger{}).
		SetResponseBodyLimit(maxResponse)
	return &Client{cfg: cfg, base: strings.TrimRight(cfg.BaseURL, "/"), rc: rc}, nil
}

func setDefaults(cfg *Config) {
	if cfg.Host == "" {
		cfg.Host = "localhost"
	}
	if cfg.Domain == "" {
		cfg.Domain = "Catalina"
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.DeployTimeout <= 0 {
		cfg.DeployTimeout = DefaultDeployTimeout
	}
	switch {
	case cfg.Retries == 0:
		cfg.Retries = DefaultRetries
	case cfg.Retries < 0:
		cfg.Retries = 0
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = DefaultRetryBackoff
	}
}

// String describes the client without credentials.
func (c *Client) String() string {
	return fmt.Sprintf("tomcatmgr.Client{node=%s url=%s user=%s}", c.cfg.Node, c.base, c.cfg.User)
}

// Node returns the node name used in errors.
func (c *Client) Node() string { return c.cfg.Node }

// call describes one Manager request.
type call struct {
	op      string
	subject string // context name or bean, for errors
	method  string
	path    string // below BaseURL, e.g. "/text/list"
	query   url.Values
	read    bool    // idempotent: retried on transport errors and 5xx
	deploy  bool    // DeployTimeout instead of RequestTimeout
	upload  *upload // streamed request body
}

// do runs k, retrying reads, and returns the body of a 200 answer or an *Error.
func (c *Client) do(ctx context.Context, k call) (string, error) {
	backoff := c.cfg.RetryBackoff
	for attempt := 0; ; attempt++ {
		body, err := c.once(ctx, k)
		if err == nil {
			return body, nil
		}
		if !k.read || attempt >= c.cfg.Retries || !retryable(err) || ctx.Err() != nil {
			return "", err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", c.errorf(k, 0, ErrTimeout, "gave up waiting to retry", ctx.Err())
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// retryable: transport errors, attempt timeouts and 5xx answers; never 401/403/404.
func retryable(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Status >= 500 || (e.Status == 0 && (errors.Is(e.Kind, ErrUnreachable) || errors.Is(e.Kind, ErrTimeout)))
}

// once sends k one time.
func (c *Client) once(ctx context.Context, k call) (string, error) {
	timeout := c.cfg.RequestTimeout
	if k.deploy {
		timeout = c.cfg.DeployTimeout
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req := c.rc.R()
	if k.upload != nil {
		actx = context.WithValue(actx, uploadKey{}, k.upload)
		req.SetHeader("Content-Type", "application/octet-stream")
	}
	req.SetContext(actx)
	if k.query != nil {
		req.SetQueryParamsFromValues(k.query)
	}
	resp, err := req.Execute(k.method, c.base+k.path)
	if err != nil {
		return "", c.transportError(ctx, actx, k, err)
	}
	switch st := resp.StatusCode(); {
	case st == http.StatusOK:
		return string(resp.Body()), nil
	case st == http.StatusUnauthorized:
		return "", c.errorf(k, st, ErrAuth, "HTTP 401 Unauthorized", nil)
	case st == http.StatusForbidden:
		return "", c.errorf(k, st, ErrForbidden, "HTTP 403 Forbidden", nil)
	case st == http.StatusNotFound:
		return "", c.errorf(k, st, ErrNotFound, "HTTP 404 Not Found", nil)
	default:
		return "", c.errorf(k, st, ErrProtocol, "HTTP "+resp.Status(), nil)
	}
}

// transportError classifies an error from the HTTP round trip.
func (c *Client) transportError(parent, attempt context.Context, k call, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL is in the error already via op/subject; drop the query string
	}
	switch {
	case errors.Is(parent.Err(), context.Canceled): // Ctrl-C or SIGTERM, not a deadline
		return c.errorf(k, 0, ErrTimeout, "interrupted before an answer came", parent.Err())
	case parent.Err() != nil:
		return c.errorf(k, 0, ErrTimeout, "", parent.Err())
	case errors.Is(attempt.Err(), context.DeadlineExceeded):
		return c.errorf(k, 0, ErrTimeout, fmt.Sprintf("no answer within %s", c.timeoutOf(k)), err)
	}
	return c.errorf(k, 0, ErrUnreachable, "", err)
}

func (c *Client) timeoutOf(k call) time.Duration {
	if k.deploy {
		return c.cfg.DeployTimeout
	}
	return c.cfg.RequestTimeout
}

// errorf builds an *Error for k with the hint that fits its class.
func (c *Client) errorf(k call, status int, kind error, msg string, cause error) *Error {
	e := &Error{Op: k.op, Node: c.cfg.Node, Context: k.subject, Status: status, Message: msg, Kind: kind, Err: cause}
	c.finish(e, k)
	return e
}

// finish fills node, op, subject and hint of an error and removes the password from it.
func (c *Client) finish(e *Error, k call) *Error {
	e.Op, e.Node, e.Context = k.op, c.cfg.Node, k.subject
	if e.Hint == "" {
		e.Hint = hintFor(e, k)
	}
	if pw := c.cfg.Password; len(pw) >= 4 { // a shorter one would blank out common words
		e.Message = redact.Secrets(e.Message, pw)
		if e.Err != nil && strings.Contains(e.Err.Error(), pw) {
			e.Err = errors.New(redact.Secrets(e.Err.Error(), pw))
		}
	}
	return e
}

func hintFor(e *Error, k call) string {
	role := "manager-script"
	if strings.HasPrefix(k.path, "/jmxproxy") {
		role = "manager-jmx"
	}
	var cv *tls.CertificateVerificationError
	switch {
	case errors.Is(e.Kind, ErrAuth):
		return "check the Manager user and password; it is not retried, because five failed logins lock the user for 300 s"
	case errors.Is(e.Kind, ErrForbidden):
		return "the user needs role " + role + ", or the Manager's RemoteCIDRValve refuses this address"
	case e.Status == http.StatusNotFound:
		return "BaseURL must be the Manager webapp, e.g. http://host:8080/manager"
	case errors.As(e.Err, &cv):
		return "the server certificate is not trusted; set CAFile to the CA that signed it"
	case errors.Is(e.Kind, ErrUnreachable):
		return "is Tomcat running on this node and BaseURL right?"
	case errors.Is(e.Kind, ErrTimeout) && (k.deploy || !k.read):
		return "the outcome is unknown: check with list before trying again"
	case errors.Is(e.Kind, ErrFailedToStart):
		return "the context stays deployed and stopped; see the node's log, then undeploy it"
	case errors.Is(e.Kind, ErrAlreadyExists):
		return "choose a new version or undeploy the existing one first"
	case errors.Is(e.Kind, ErrBusy):
		return "another deployment of this context is in progress; check with list and try again"
	}
	return ""
}

// answer turns a parser's *Error into a finished error for k (nil stays nil).
func (c *Client) answer(k call, e *Error) error {
	if e == nil {
		return nil
	}
	return c.finish(e, k)
}

// nopLogger silences resty, which would otherwise log to stderr.
type nopLogger struct{}

func (nopLogger) Errorf(string, ...any) {}
func (nopLogger) Warnf(string, ...any)  {}
func (nopLogger) Debugf(string, ...any) {}
