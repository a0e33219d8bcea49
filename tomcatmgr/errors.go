package tomcatmgr

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// Error classes, for errors.Is. Every error this package returns is an *Error whose Kind is one
// of these.
var (
	// ErrAuth: HTTP 401, the user or password is wrong, or the user is locked out after five
	// failed logins. Never retried.
	ErrAuth = errors.New("authentication failed")
	// ErrForbidden: HTTP 403, the user lacks the role, or the Manager's RemoteCIDRValve refused
	// the caller's address.
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: the context or MBean does not exist (or HTTP 404: wrong Manager URL).
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a deploy of a name that is already deployed.
	ErrAlreadyExists = errors.New("already exists")
	// ErrFailedToStart: the context was deployed (and stays deployed, stopped) or started but
	// failed to start. Undeploy it to clean up.
	ErrFailedToStart = errors.New("failed to start")
	// ErrBusy: the Manager or HostConfig was already servicing the same context; nothing was
	// done. Check with List and try again later.
	ErrBusy = errors.New("context busy")
	// ErrUnreachable: the Manager could not be reached (connection refused, reset, DNS, TLS).
	ErrUnreachable = errors.New("unreachable")
	// ErrTimeout: the call's deadline passed before an answer came; the outcome of a deploy or
	// undeploy is then unknown.
	ErrTimeout = errors.New("timed out")
	// ErrInvalid: input refused before anything was sent (bad path, version, WAR, parameter).
	ErrInvalid = errors.New("invalid input")
	// ErrProtocol: the answer was neither OK nor FAIL (or an unexpected HTTP status).
	ErrProtocol = errors.New("unexpected answer")
	// ErrFailed: any other FAIL answer, or a JMX proxy "Error - " answer.
	ErrFailed = errors.New("failed")
)

// maxMessage bounds the Manager line quoted in an error.
const maxMessage = 200

// Error is the one error type of this package.
type Error struct {
	// Op is the operation: "deploy", "list", "jmx get", "validate", ...
	Op string
	// Node is Config.Node, empty for validation errors.
	Node string
	// Context is the context name ("/app##002") or MBean name the operation was about, if any.
	Context string
	// Status is the HTTP status, 0 when no answer came.
	Status int
	// Message is the Manager's first line (HTML-unescaped, truncated) or a description.
	Message string
	// Hint suggests the next action, if there is one.
	Hint string
	// Kind is one of the Err* classes.
	Kind error
	// Err is the underlying cause (transport error), if any.
	Err error
}

// Error formats "tomcatmgr: op context on node: message (hint: ...)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("tomcatmgr: ")
	b.WriteString(e.Op)
	if e.Context != "" {
		b.WriteString(" " + e.Context)
	}
	if e.Node != "" {
		b.WriteString(" on " + e.Node)
	}
	b.WriteString(": ")
	switch {
	case e.Message != "":
		b.WriteString(e.Message)
	case e.Kind != nil:
		b.WriteString(e.Kind.Error())
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	if e.Hint != "" {
		b.WriteString(" (hint: " + e.Hint + ")")
	}
	return b.String()
}

// Unwrap returns the class and the cause, so errors.Is works on both.
func (e *Error) Unwrap() []error {
	errs := []error{e.Kind}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// truncate shortens s to maxMessage bytes on a rune boundary.
func truncate(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
