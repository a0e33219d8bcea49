package remote

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"time"
)

// Local runs commands on this machine with /bin/sh, for a load balancer that
// lives on the same host as zdd. The zero value is ready to use.
type Local struct {
	// Name is what Host returns; empty means "local".
	Name string
}

var _ Runner = (*Local)(nil)

// Host returns the runner's name.
func (l *Local) Host() string {
	if l.Name == "" {
		return "local"
	}
	return l.Name
}

// Close does nothing.
func (l *Local) Close() error { return nil }

// Run runs cmd with sh -c; the process is killed when ctx ends.
func (l *Local) Run(ctx context.Context, cmd string, stdin []byte) ([]byte, error) {
	c := exec.CommandContext(ctx, "/bin/sh", "-c", cmd)
	c.Stdin = bytes.NewReader(stdin)
	c.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	if ctxErr := ctx.Err(); ctxErr != nil && err != nil {
		return stdout.Bytes(), &RunError{Host: l.Host(), Cmd: cmd, Err: ctxErr}
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return stdout.Bytes(), &ExitError{Host: l.Host(), Cmd: cmd, Code: ee.ExitCode(), Stderr: truncate(stderr.Bytes())}
	}
	return stdout.Bytes(), err
}
