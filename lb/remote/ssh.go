package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// SSHOptions says how to reach and authenticate to one host. Library code
// never reads the environment: the caller passes SSH_AUTH_SOCK in AgentSocket.
type SSHOptions struct {
	// Name labels the host in errors (e.g. "lb1"); empty means Addr.
	Name string
	// Addr is host:port of the sshd.
	Addr string
	// User is the login user.
	User string
	// KeyFile is a private key file (unencrypted; use the agent for keys
	// with a passphrase). Empty: no key-file authentication.
	KeyFile string
	// AgentSocket is the path of an ssh-agent socket (the caller's
	// SSH_AUTH_SOCK). Empty: no agent authentication.
	AgentSocket string
	// KnownHostsFile lists the trusted host keys. Required: there is no way
	// to skip host-key verification.
	KnownHostsFile string
	// DialTimeout bounds the TCP connect and the SSH handshake together.
	// Zero means 10 s.
	DialTimeout time.Duration
	// CommandTimeout bounds each Run unless ctx has an earlier deadline.
	// Zero means 60 s.
	CommandTimeout time.Duration
}

// SSH runs commands on a host over one SSH connection (a new session per
// command). Create it with DialSSH.
//
// A connection that drops (the host rebooted, sshd restarted, a NAT or
// firewall cut it) is dialled again by the next Run or DialContext, within
// that call's context: the known_hosts file is read again and the host key
// verified as on the first dial. A session that cannot be opened on the old
// connection within the dial timeout counts as a dropped connection, so a
// half-open connection (no FIN ever arrives) is replaced too. A command that
// was running when the connection dropped is not run again (it may have
// run): its Run returns the transport error, and the next Run re-dials.
type SSH struct {
	name    string
	opts    SSHOptions
	timeout time.Duration

	mu     sync.Mutex
	conn   *sshConn // nil after a drop that was not re-dialled yet
	closed bool
	dials  int // connections made, the first included (tests)
}

// sshConn is one SSH connection and a channel closed when it ends.
type sshConn struct {
	client *ssh.Client
	done   chan struct{}
}

func (c *sshConn) dead() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

var _ Runner = (*SSH)(nil)

// DialSSH connects and authenticates to opts.Addr, verifying the host key
// against opts.KnownHostsFile. ctx and opts.DialTimeout bound the connect and
// the handshake. An unknown or changed host key is a *HostKeyError.
func DialSSH(ctx context.Context, opts SSHOptions) (*SSH, error) {
	name := opts.Name
	if name == "" {
		name = opts.Addr
	} else {
		name = fmt.Sprintf("%s (%s)", name, opts.Addr)
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 10 * time.Second
	}
	ct := opts.CommandTimeout
	if ct <= 0 {
		ct = 60 * time.Second
	}
	s := &SSH{name: name, opts: opts, timeout: ct}
	c, err := s.dial(ctx)
	if err != nil {
		return nil, err
	}
	s.conn = c
	return s, nil
}

// dial makes a new connection: TCP connect, handshake, host key checked against the
// known_hosts file as it is now.
func (s *SSH) dial(ctx context.Context) (*sshConn, error) {
	cfg, closeAgent, err := clientConfig(s.opts)
	if err != nil {
		return nil, fmt.Errorf("remote: dial %s: %w", s.name, err)
	}
	defer closeAgent()
	ctx, cancel := context.WithTimeout(ctx, s.opts.DialTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("remote: dial %s: %w", s.name, err)
	}
	client, err := handshake(ctx, conn, s.opts.Addr, cfg)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("remote: ssh handshake with %s: %w", s.name, err)
	}
	c := &sshConn{client: client, done: make(chan struct{})}
	go func() {
		_ = client.Wait()
		close(c.done)
	}()
	s.dials++
	return c, nil
}

// client returns the live connection, dialling a new one when the last one dropped.
func (s *SSH) client(ctx context.Context) (*sshConn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("remote: the runner is closed")
	}
	if s.conn != nil && !s.conn.dead() {
		return s.conn, nil
	}
	if s.conn != nil {
		s.conn.client.Close()
		s.conn = nil
	}
	c, err := s.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("connection lost, re-dial failed: %w", err)
	}
	s.conn = c
	return c, nil
}

// alive tells whether c still answers: a keepalive request gets a reply (even a refusal) on
// a live connection, within the dial timeout.
func (s *SSH) alive(ctx context.Context, c *sshConn) bool {
	if c.dead() {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.DialTimeout)
	defer cancel()
	res := make(chan error, 1)
	go func() {
		_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
		res <- err
	}()
	select {
	case err := <-res:
		return err == nil
	case <-c.done:
		return false
	case <-ctx.Done():
		return false
	}
}

// drop closes c and forgets it (unless another caller already replaced it), so that the next
// call dials a new connection.
func (s *SSH) drop(c *sshConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.client.Close()
	if s.conn == c {
		s.conn = nil
	}
}

// handshake runs the SSH handshake on conn, aborting it when ctx ends.
func handshake(ctx context.Context, conn net.Conn, addr string, cfg *ssh.ClientConfig) (*ssh.Client, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		var hk *HostKeyError
		if errors.As(err, &hk) {
			return nil, hk
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, err
	}
	if !stop() {
		c.Close()
		return nil, ctx.Err()
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

func clientConfig(opts SSHOptions) (*ssh.ClientConfig, func(), error) {
	noop := func() {}
	if opts.User == "" || opts.Addr == "" {
		return nil, noop, errors.New("user and address are required")
	}
	cb, algos, err := hostKeyCallback(opts.KnownHostsFile, opts.Addr)
	if err != nil {
		return nil, noop, err
	}
	var methods []ssh.AuthMethod
	if opts.KeyFile != "" {
		pem, err := os.ReadFile(opts.KeyFile)
		if err != nil {
			return nil, noop, fmt.Errorf("read key file: %w", err)
		}
		signer, err := ssh.ParsePrivateKey(pem)
		if err != nil {
			var pp *ssh.PassphraseMissingError
			if errors.As(err, &pp) {
				return nil, noop, fmt.Errorf("key file %s has a passphrase (hint: load it into ssh-agent and pass the agent socket)", opts.KeyFile)
			}
			return nil, noop, fmt.Errorf("parse key file %s: %w", opts.KeyFile, err)
		}
		methods = append(methods, ssh.PublicKeys(signer))
	}
	closeAgent := noop
	if opts.AgentSocket != "" {
		ac, err := net.Dial("unix", opts.AgentSocket)
		if err != nil {
			return nil, noop, fmt.Errorf("connect to ssh-agent: %w", err)
		}
		closeAgent = func() { ac.Close() }
		methods = append(methods, ssh.PublicKeysCallback(agent.NewClient(ac).Signers))
	}
	if len(methods) == 0 {
		return nil, noop, errors.New("no authentication method (set a key file or an agent socket)")
	}
	return &ssh.ClientConfig{
		User:              opts.User,
		Auth:              methods,
		HostKeyCallback:   cb,
		HostKeyAlgorithms: algos,
	}, closeAgent, nil
}

// Host returns the runner's name and address.
func (s *SSH) Host() string { return s.name }

// Close closes the SSH connection; Run and DialContext fail afterwards.
func (s *SSH) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.conn == nil {
		return nil
	}
	err := s.conn.client.Close()
	s.conn = nil
	return err
}

// Run runs cmd in a new session. When ctx (or the runner's command timeout)
// ends, the remote command gets SIGKILL and the session is closed. A dropped
// connection is dialled again first (see SSH).
func (s *SSH) Run(ctx context.Context, cmd string, stdin []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	sess, err := s.session(ctx)
	if err != nil {
		return nil, &RunError{Host: s.name, Cmd: cmd, Op: "open session", Err: err}
	}
	defer sess.Close()
	var stdout, stderr syncBuffer
	sess.Stdout, sess.Stderr = &stdout, &stderr
	sess.Stdin = bytes.NewReader(stdin)
	done := make(chan error, 1)
	go func() { done <- sess.Run(cmd) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		// Ask sshd to kill the command (honoured by OpenSSH 7.9+), close the
		// channel and return without waiting for the remote side.
		_ = sess.Signal(ssh.SIGKILL)
		_ = sess.Close()
		return nil, &RunError{Host: s.name, Cmd: cmd, Err: ctx.Err()}
	}
	var ee *ssh.ExitError
	var em *ssh.ExitMissingError
	switch {
	case err == nil:
		return stdout.Bytes(), nil
	case errors.As(err, &ee):
		code := ee.ExitStatus()
		if ee.Signal() != "" {
			code = -1
		}
		return stdout.Bytes(), &ExitError{Host: s.name, Cmd: cmd, Code: code, Stderr: truncate(stderr.Bytes())}
	case errors.As(err, &em):
		return stdout.Bytes(), &ExitError{Host: s.name, Cmd: cmd, Code: -1, Stderr: truncate(stderr.Bytes())}
	}
	return stdout.Bytes(), &RunError{Host: s.name, Cmd: cmd,
		Err: fmt.Errorf("%w (the connection may have dropped; the command may or may not have run)", err)}
}

// session opens a session on the live connection. When that fails or does not answer within
// the dial timeout while ctx still runs, the connection is taken as dropped and one new
// connection is dialled: nothing ran yet, so trying again is safe.
func (s *SSH) session(ctx context.Context) (*ssh.Session, error) {
	var last error
	for try := 0; try < 2; try++ {
		c, err := s.client(ctx)
		if err != nil {
			return nil, err
		}
		octx, cancel := context.WithTimeout(ctx, s.opts.DialTimeout)
		sess, err := newSession(octx, c.client)
		cancel()
		if err == nil {
			return sess, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		s.drop(c)
		last = err
	}
	return nil, last
}

// newSession opens a session on client, giving up when ctx ends.
func newSession(ctx context.Context, client *ssh.Client) (*ssh.Session, error) {
	type res struct {
		s   *ssh.Session
		err error
	}
	ch := make(chan res, 1)
	go func() {
		sess, err := client.NewSession()
		ch <- res{sess, err}
	}()
	select {
	case r := <-ch:
		return r.s, r.err
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.s != nil {
				r.s.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// DialContext opens a connection from the remote host: network "unix" reaches
// a unix socket on the host (an SSH direct-streamlocal channel, e.g. HAProxy's
// admin socket), "tcp" a TCP address as seen from the host. A dropped
// connection is dialled again first (see SSH).
func (s *SSH) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var err error
	for try := 0; try < 2; try++ {
		var c *sshConn
		if c, err = s.client(ctx); err != nil {
			break
		}
		var nc net.Conn
		if nc, err = c.client.DialContext(ctx, network, addr); err == nil {
			return nc, nil
		}
		if ctx.Err() != nil || s.alive(ctx, c) {
			break // the host refused the channel: not a dropped connection
		}
		s.drop(c)
	}
	return nil, fmt.Errorf("remote: dial %s %s via %s: %w", network, addr, s.name, err)
}

// syncBuffer is a bytes.Buffer safe to read while a session may still write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// Bytes returns a copy of the content.
func (w *syncBuffer) Bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.b.Bytes())
}
