// Package iostreams carries zdd's standard streams and says whether they are terminals:
// results go to Out (stdout), messages and errors to ErrOut (stderr), and zdd prompts only
// when both In and Out are terminals.
package iostreams

import (
	"bytes"
	"io"
	"os"

	"golang.org/x/term"
)

// IOStreams are the streams a command reads and writes.
type IOStreams struct {
	// In is standard input.
	In io.Reader
	// Out receives results: what a pipeline captures.
	Out io.Writer
	// ErrOut receives progress, errors and hints.
	ErrOut io.Writer

	stdinTTY  bool
	stdoutTTY bool
	stderrTTY bool
}

// System returns the process's streams, with terminal detection from golang.org/x/term.
func System() *IOStreams {
	return &IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		stdinTTY:  isTerminal(os.Stdin),
		stdoutTTY: isTerminal(os.Stdout),
		stderrTTY: isTerminal(os.Stderr),
	}
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// Test returns streams backed by buffers (none a terminal) and the in, out and errOut buffers.
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

// SetTTY marks the streams as terminals or not, for tests.
func (s *IOStreams) SetTTY(stdin, stdout, stderr bool) {
	s.stdinTTY, s.stdoutTTY, s.stderrTTY = stdin, stdout, stderr
}

// CanPrompt reports whether zdd may ask a question: only when stdin and stdout are terminals.
// Without a terminal zdd never prompts; a command that needs confirmation then requires a flag
// (such as --yes) and fails with a usage error naming it.
func (s *IOStreams) CanPrompt() bool { return s.stdinTTY && s.stdoutTTY }

// IsStderrTTY reports whether stderr is a terminal: progress bars and colour only then.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// IsStdoutTTY reports whether stdout is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }
