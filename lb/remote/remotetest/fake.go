// Package remotetest provides a scripted remote.Runner for unit tests: it
// expects an exact sequence of commands and fails the test on any command it
// was not told to expect, and on expectations left unused at the end.
package remotetest

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"testing"

	"github.com/saitodrom/zdd/lb/remote"
)

// Call is one expected command and the answer to give.
type Call struct {
	// Cmd is the exact command line expected, unless Match is set.
	Cmd string
	// Match, when set, is a regular expression the whole command must match.
	Match *regexp.Regexp
	// Stdin, when non-nil, is the exact standard input expected.
	Stdin []byte
	// Stdout is returned as the command's output.
	Stdout string
	// Exit, when non-zero, makes the command fail with a *remote.ExitError.
	Exit int
	// Stderr goes into the ExitError.
	Stderr string
	// Err, when set, is returned as a transport error.
	Err error
	// Do, when set, runs after the command matched (e.g. to record stdin).
	Do func(stdin []byte)
	// Repeat lets the call match any number of times (at least once) until
	// a command matches the call after it.
	Repeat bool
}

func (c Call) matches(cmd string) bool {
	if c.Match != nil {
		return c.Match.MatchString(cmd)
	}
	return c.Cmd == cmd
}

// Fake is a remote.Runner that answers from a script of Calls, in order.
type Fake struct {
	t     testing.TB
	name  string
	mu    sync.Mutex
	calls []Call
	next  int
	used  bool // the current Repeat call matched at least once
}

var _ remote.Runner = (*Fake)(nil)

// New returns a Fake named name that expects calls in order. Unused calls
// fail the test at cleanup.
func New(t testing.TB, name string, calls ...Call) *Fake {
	f := &Fake{t: t, name: name, calls: calls}
	t.Cleanup(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		rest := f.calls[f.next:]
		if len(rest) > 0 && rest[0].Repeat && f.used {
			rest = rest[1:]
		}
		for _, c := range rest {
			t.Errorf("remotetest %s: expected command never ran: %s", name, describe(c))
		}
	})
	return f
}

// Expect appends more expected calls.
func (f *Fake) Expect(calls ...Call) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, calls...)
}

// Host returns the fake's name.
func (f *Fake) Host() string { return f.name }

// Close does nothing.
func (f *Fake) Close() error { return nil }

// Run checks cmd against the next expected call and answers from it.
func (f *Fake) Run(ctx context.Context, cmd string, stdin []byte) ([]byte, error) {
	f.mu.Lock()
	if f.next >= len(f.calls) {
		f.mu.Unlock()
		f.t.Errorf("remotetest %s: unexpected command: %s", f.name, cmd)
		return nil, fmt.Errorf("remotetest %s: unexpected command %q", f.name, cmd)
	}
	c := f.calls[f.next]
	if c.Repeat && f.used && f.next+1 < len(f.calls) && f.calls[f.next+1].matches(cmd) {
		f.next++
		f.used = false
		c = f.calls[f.next]
	}
	ok := c.matches(cmd)
	if ok && c.Stdin != nil && string(c.Stdin) != string(stdin) {
		f.mu.Unlock()
		f.t.Errorf("remotetest %s: command %s: stdin\n%s\nwant\n%s", f.name, cmd, stdin, c.Stdin)
		return nil, fmt.Errorf("remotetest %s: unexpected stdin", f.name)
	}
	if !ok {
		f.mu.Unlock()
		f.t.Errorf("remotetest %s: unexpected command:\n  got  %s\n  want %s", f.name, cmd, describe(c))
		return nil, fmt.Errorf("remotetest %s: unexpected command %q", f.name, cmd)
	}
	if c.Repeat {
		f.used = true
	} else {
		f.next++
	}
	f.mu.Unlock()
	if c.Do != nil {
		c.Do(stdin)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.Err != nil {
		return nil, c.Err
	}
	if c.Exit != 0 {
		return []byte(c.Stdout), &remote.ExitError{Host: f.name, Cmd: cmd, Code: c.Exit, Stderr: c.Stderr}
	}
	return []byte(c.Stdout), nil
}

func describe(c Call) string {
	if c.Match != nil {
		return "/" + c.Match.String() + "/"
	}
	return c.Cmd
}
