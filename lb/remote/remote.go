// Package remote runs shell commands on a load-balancer host, over SSH or on
// this machine, behind one interface.
//
// # Contract
//
// [Runner.Run] runs one POSIX shell command line (sh -c on the host) and
// returns its standard output. Callers build command lines with [Quote] or
// [Join] so that every argument reaches the shell as one literal word; values
// that come from configuration are also checked with [CheckPath] first.
// Errors:
//
//   - *[ExitError]: the command ran and exited non-zero (or was killed by a
//     signal); it carries the exit code and the standard error.
//   - *[HostKeyError] (from [DialSSH], or from a Run that re-dialled a dropped
//     connection): the host's key is unknown or changed; the error shows the
//     SHA256 fingerprint and how to trust the key.
//   - *[RunError] wrapping a context error: the deadline passed (the remote
//     command is signalled and the session closed).
//   - *[RunError] wrapping any other error: the transport failed; the command
//     may or may not have run.
//
// An [SSH] runner dials a dropped connection again on the next Run, within
// that Run's context; [Unreachable] stands for a host that could not be
// dialled at all. Errors quote a command line through [Brief] (its first
// line), so that a generated script does not bury the message.
//
// Runners are safe for concurrent use.
package remote

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Runner runs shell command lines on one host.
type Runner interface {
	// Run runs the shell command line cmd, feeding it stdin (nil: empty), and
	// returns its standard output. See the package contract for errors.
	Run(ctx context.Context, cmd string, stdin []byte) ([]byte, error)
	// Host names the host in errors and logs (e.g. "lb1 (127.0.0.11:12222)").
	Host() string
	// Close releases the connection. Run must not be called afterwards.
	Close() error
}

// ExitError is a command that ran and failed.
type ExitError struct {
	// Host is Runner.Host of the runner.
	Host string
	// Cmd is the command line.
	Cmd string
	// Code is the exit status; -1 when the command was killed by a signal
	// or the status is unknown.
	Code int
	// Stderr is the command's standard error (truncated to 4 KiB).
	Stderr string
}

// Error implements error.
func (e *ExitError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		msg = "(no error output)"
	}
	return fmt.Sprintf("remote: run %s on %s: exit status %d: %s", Brief(e.Cmd), e.Host, e.Code, msg)
}

// RunError is a command that did not run to its end for another reason than its own exit:
// the transport failed or the context ended. The command may or may not have run.
type RunError struct {
	// Host is Runner.Host of the runner.
	Host string
	// Cmd is the command line.
	Cmd string
	// Op is the step that failed ("open session"), empty for the command itself.
	Op string
	// Err is the cause (a context error, a transport error).
	Err error
}

// Error implements error.
func (e *RunError) Error() string {
	op := ""
	if e.Op != "" {
		op = e.Op + ": "
	}
	return fmt.Sprintf("remote: run %s on %s: %s%v", Brief(e.Cmd), e.Host, op, e.Err)
}

// Unwrap returns the cause.
func (e *RunError) Unwrap() error { return e.Err }

// briefMax is the longest command line Brief quotes whole.
const briefMax = 80

// Brief quotes a command line for an error message: whole when it is one
// line of at most 80 characters, else its first line cut short and marked
// with "...", so that a long generated script does not bury the message.
func Brief(cmd string) string {
	first, _, multi := strings.Cut(strings.TrimSpace(cmd), "\n")
	if !multi && len(first) <= briefMax {
		return strconv.Quote(first)
	}
	if len(first) > briefMax {
		first = first[:briefMax]
	}
	return strconv.Quote(first) + "..."
}

const maxStderr = 4096

func truncate(b []byte) string {
	if len(b) > maxStderr {
		return string(b[:maxStderr]) + "...(truncated)"
	}
	return string(b)
}

// Quote returns s as one literal word for a POSIX shell: single-quoted, with
// embedded single quotes written '\”. Words made only of safe characters are
// returned as they are.
func Quote(s string) string {
	if s != "" && strings.IndexFunc(s, unsafeRune) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func unsafeRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	case strings.ContainsRune("-_./:=@,+%", r):
		return false
	}
	return true
}

// Join quotes every argument and joins them with spaces.
func Join(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = Quote(a)
	}
	return strings.Join(q, " ")
}

// CheckPath rejects a path that is not absolute or that holds characters that
// have no business in a configuration path (control characters, NUL).
func CheckPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("remote: path %q is not absolute", p)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("remote: path %q contains a control character", p)
		}
	}
	return nil
}
