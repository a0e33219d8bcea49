// Package haproxy is a client of the HAProxy runtime API (the "stats socket")
// over a unix socket or TCP, directly or through an SSH connection
// (remote.SSH.DialContext reaches a unix socket on the remote host).
//
// # Contract
//
// zdd's only caller is the schema migrator's writer check
// (schema.WriterSource; connect wires [Client.ActiveServer] into
// it): the migrator asks which MySQL server takes traffic (the writer) before
// it takes the migration lock, again before each migration it applies, and
// before Plan, Status and Resolve read the journal (so `zdd migrate plan`,
// `zdd migrate status` and `zdd status` name it too). The release engine does
// not move database traffic; zdd never calls [Client.SetWeight] or
// [Client.SetState], which are for tests and for callers that switch the
// writer themselves. Every such change is read back
// with "show servers state" and confirmed; a change that did not stick is an
// error. Errors:
//
//   - [ErrNoBackend], [ErrNoServer]: the name does not exist; nothing changed.
//   - [ErrInvalid]: a weight outside 0..256 or a bad name; nothing sent.
//   - *[CommandError]: HAProxy answered with an error message.
//   - [ErrNotConfirmed]: HAProxy accepted the change but reading it back
//     shows another state.
//   - [ErrNoActive]: no server of the backend can take traffic.
//   - any other error: the socket did not answer (dial, timeout).
//
// Each command opens its own connection (HAProxy's non-interactive mode:
// one command, one reply ended by an empty line, then the connection closes).
package haproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"time"
)

var (
	// ErrNoBackend means HAProxy has no such backend.
	ErrNoBackend = errors.New("no such backend")
	// ErrNoServer means the backend has no such server.
	ErrNoServer = errors.New("no such server")
	// ErrInvalid means an argument was rejected before anything was sent.
	ErrInvalid = errors.New("invalid argument")
	// ErrNotConfirmed means a change was accepted but did not read back.
	ErrNotConfirmed = errors.New("change not confirmed")
	// ErrNoActive means no server of the backend can take traffic.
	ErrNoActive = errors.New("no active server")
)

// CommandError is an error message HAProxy answered to a command.
type CommandError struct {
	Cmd   string
	Reply string
}

// Error implements error.
func (e *CommandError) Error() string {
	return fmt.Sprintf("haproxy: %s: %s", e.Cmd, e.Reply)
}

// ContextDialer opens connections; *net.Dialer and *remote.SSH are ones.
type ContextDialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Options say where the runtime API is.
type Options struct {
	// Network is "unix" or "tcp".
	Network string
	// Address is the socket path or host:port.
	Address string
	// Dialer opens the connection; nil means a plain net.Dialer on this
	// machine. Pass a *remote.SSH to reach a socket on a remote host.
	Dialer ContextDialer
	// Timeout bounds each command (dial, send, reply). Zero means 5 s.
	Timeout time.Duration
}

// Client talks to one HAProxy runtime API. It is safe for concurrent use.
type Client struct {
	opts Options
}

// New checks opts and returns a Client. It does not connect.
func New(opts Options) (*Client, error) {
	if opts.Network != "unix" && opts.Network != "tcp" {
		return nil, fmt.Errorf("haproxy: %w: network %q (want unix or tcp)", ErrInvalid, opts.Network)
	}
	if opts.Address == "" {
		return nil, fmt.Errorf("haproxy: %w: empty address", ErrInvalid)
	}
	if opts.Dialer == nil {
		opts.Dialer = &net.Dialer{}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	return &Client{opts: opts}, nil
}

// Command sends one command line and returns HAProxy's reply without the
// final empty line.
func (c *Client) Command(ctx context.Context, cmd string) (string, error) {
	if strings.ContainsAny(cmd, "\n\r;") {
		return "", fmt.Errorf("haproxy: %w: command %q contains a newline or ';'", ErrInvalid, cmd)
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	conn, err := c.opts.Dialer.DialContext(ctx, c.opts.Network, c.opts.Address)
	if err != nil {
		return "", fmt.Errorf("haproxy: %s: connect to %s: %w", cmd, c.opts.Address, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if _, err := io.WriteString(conn, cmd+"\n"); err != nil {
		return "", c.ioErr(ctx, cmd, err)
	}
	reply, err := io.ReadAll(conn)
	if err != nil && !(len(reply) > 0 && bytes.HasSuffix(reply, []byte("\n\n"))) {
		return "", c.ioErr(ctx, cmd, err)
	}
	if ctx.Err() != nil && !bytes.HasSuffix(reply, []byte("\n\n")) {
		return "", c.ioErr(ctx, cmd, ctx.Err())
	}
	return strings.TrimSuffix(string(reply), "\n\n"), nil
}

func (c *Client) ioErr(ctx context.Context, cmd string, err error) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return fmt.Errorf("haproxy: %s on %s: %w", cmd, c.opts.Address, err)
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`)

// checkNames rejects names that could smuggle another command.
func checkNames(names ...string) error {
	for _, n := range names {
		if !nameRE.MatchString(n) {
			return fmt.Errorf("haproxy: %w: name %q (allowed: letters, digits, _ . : -)", ErrInvalid, n)
		}
	}
	return nil
}

// replyErr maps an error reply to a typed error; nil for an empty reply.
func replyErr(cmd, reply string) error {
	reply = strings.TrimSpace(reply)
	switch {
	case reply == "":
		return nil
	case strings.HasPrefix(reply, "No such backend"), strings.HasPrefix(reply, "Can't find backend"):
		return fmt.Errorf("haproxy: %s: %w", cmd, ErrNoBackend)
	case strings.HasPrefix(reply, "No such server"):
		return fmt.Errorf("haproxy: %s: %w", cmd, ErrNoServer)
	}
	return &CommandError{Cmd: cmd, Reply: reply}
}
