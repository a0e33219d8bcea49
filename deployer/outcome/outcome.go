// Package outcome classifies how a zdd run ended, so that one place (the zdd command's main)
// maps any error to the exit code a pipeline acts on.
//
// # Classes
//
// Each class is a sentinel error: ErrPreflight (exit 1), ErrUsage (2), ErrRolledBack (3),
// ErrNeedsAttention (4), ErrLocked (5), ErrNothingToDo (6), ErrPaused (7), ErrInterrupted (130).
// A library attaches a class with Classify (or fmt.Errorf("...: %w", outcome.ErrLocked)), and a
// hint with WithHint; wrapping with %w keeps both. Code finds the class with errors.Is, so it
// survives any further wrapping.
//
// # Precedence
//
// When an error carries several classes (errors.Join, or a rollback that was interrupted),
// Code returns the first of: NeedsAttention, Interrupted (or context.Canceled), RolledBack,
// Locked, Paused, NothingToDo, Usage, Preflight. An error with no class is exit 1: code that has
// changed the cluster must classify its errors.
package outcome

import (
	"context"
	"errors"
)

// class is a sentinel error that carries an exit code.
type class struct {
	code int
	name string
	text string
}

func (c *class) Error() string { return c.text }

// The classes, one per exit code. Their messages describe the situation; the error text users
// see is that of the error the class is attached to.
var (
	// ErrPreflight: failed before changing anything (bad input, preflight check). Exit 1.
	ErrPreflight error = &class{1, "preflight_failed", "failed before changing anything"}
	// ErrUsage: the command line is wrong (unknown command or flag, bad argument). Exit 2.
	ErrUsage error = &class{2, "usage", "usage error"}
	// ErrRolledBack: failed and rolled back; the cluster is on the previous version. Exit 3.
	ErrRolledBack error = &class{3, "rolled_back", "failed and rolled back"}
	// ErrNeedsAttention: failed in a partial state that needs a person (`zdd status` says what). Exit 4.
	ErrNeedsAttention error = &class{4, "needs_attention", "failed and needs attention"}
	// ErrLocked: another release holds the lock, or waiting for it expired. Exit 5.
	ErrLocked error = &class{5, "locked", "locked by another release"}
	// ErrNothingToDo: nothing to roll back, resume or promote. Exit 6.
	ErrNothingToDo error = &class{6, "nothing_to_do", "nothing to do"}
	// ErrPaused: paused after the canary, waiting for `zdd promote`. Exit 7.
	ErrPaused error = &class{7, "paused", "paused, waiting for zdd promote"}
	// ErrInterrupted: interrupted (Ctrl-C, SIGTERM, --timeout); the cluster was left consistent. Exit 130.
	ErrInterrupted error = &class{130, "interrupted", "interrupted"}
)

// precedence is the order in which Code looks for classes.
var precedence = []error{ErrNeedsAttention, ErrInterrupted, ErrRolledBack, ErrLocked, ErrPaused,
	ErrNothingToDo, ErrUsage, ErrPreflight}

// Success is the exit code of a run without error.
const Success = 0

// Code returns the exit code for err: 0 for nil, the code of its class (see the package doc for
// precedence), 130 for context.Canceled, and 1 for an error without a class.
func Code(err error) int {
	if err == nil {
		return Success
	}
	if c := classOf(err); c != nil {
		return c.code
	}
	return ErrPreflight.(*class).code
}

// Name returns the machine-readable name of err's outcome: "success", "preflight_failed",
// "usage", "rolled_back", "needs_attention", "locked", "nothing_to_do", "paused" or "interrupted".
func Name(err error) string {
	if err == nil {
		return "success"
	}
	if c := classOf(err); c != nil {
		return c.name
	}
	return ErrPreflight.(*class).name
}

func classOf(err error) *class {
	for _, c := range precedence {
		if errors.Is(err, c) {
			return c.(*class)
		}
		if c == ErrInterrupted && errors.Is(err, context.Canceled) {
			return c.(*class)
		}
	}
	return nil
}

// classified attaches a class and a hint to an error without changing its text.
type classified struct {
	err   error
	class error
	hint  string
}

func (e *classified) Error() string { return e.err.Error() }

// Unwrap returns the wrapped error and the class, so errors.Is finds both.
func (e *classified) Unwrap() []error {
	if e.class == nil {
		return []error{e.err}
	}
	return []error{e.err, e.class}
}

// Classify returns err marked with class (one of the Err* values); its text is unchanged.
// Classify(nil, ...) is nil.
func Classify(class error, err error) error {
	if err == nil {
		return nil
	}
	return &classified{err: err, class: class}
}

// WithHint returns err with a hint: one line telling the user what to do next, printed after
// the error as "zdd: hint: ...". Its text and class are unchanged. WithHint(nil, ...) is nil.
func WithHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &classified{err: err, hint: hint}
}

// Hint returns the outermost hint attached to err with WithHint, or "".
func Hint(err error) string {
	for err != nil {
		if c, ok := err.(*classified); ok && c.hint != "" {
			return c.hint
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if h := Hint(e); h != "" {
					return h
				}
			}
			return ""
		default:
			return ""
		}
	}
	return ""
}

// Info describes one exit code for people and pipelines.
type Info struct {
	// Code is the exit code.
	Code int
	// Name is the machine-readable name (see Name).
	Name string
	// Meaning says what happened.
	Meaning string
	// Pipeline says what a CI pipeline should do.
	Pipeline string
}

// Table lists every exit code zdd uses, in numeric order.
func Table() []Info {
	return []Info{
		{0, "success", "success", "continue"},
		{1, "preflight_failed", "failed before changing anything (bad input, bad configuration, failed preflight check)",
			"fail the job; fix the input or the environment and run again, nothing to clean up"},
		{2, "usage", "usage error (unknown command or flag, bad argument)",
			"fail the job; fix the pipeline definition"},
		{3, "rolled_back", "failed and rolled back: the cluster is on the previous version",
			"fail the job and alert; the service is healthy on the old version, investigate the release"},
		{4, "needs_attention", "failed and needs attention: partial state, `zdd status` says what",
			"fail the job and page a person; do not start another release until `zdd status` is understood"},
		{5, "locked", "locked by another release (or the lock wait expired)",
			"retry later or raise --lock-wait; do not break the lock from a pipeline"},
		{6, "nothing_to_do", "nothing to do (nothing to roll back, resume or promote)",
			"treat as success for rollback/resume/promote jobs"},
		{7, "paused", "paused after the canary, waiting for `zdd promote`",
			"stop as \"waiting for approval\" and offer a manual `zdd promote` job (and `zdd rollback`)"},
		{130, "interrupted", "interrupted (Ctrl-C, SIGTERM or --timeout); the cluster was left consistent",
			"fail the job; run `zdd status`, then resume or roll back"},
	}
}
