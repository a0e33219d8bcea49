// Package incidentcmd implements the commands for incidents and crashes: `zdd rollback`,
// `zdd resume`, `zdd abort`, `zdd history` and `zdd lock status|release`.
//
// Each command has an Options struct and a Run function that never sees cobra. Events of the
// commands that change the cluster go to stderr as plain timestamped lines, or to stdout as JSON
// lines with --output json (the schema of docs/events.md); a result line goes to stdout in
// text mode.
package incidentcmd

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/cmd/zdd/internal/wiring"
	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/state"
)

// Deps are what the commands take from the factory.
type Deps struct {
	// IO are the standard streams.
	IO *iostreams.IOStreams
	// Config resolves and validates the configuration.
	Config func() (*config.Config, error)
	// Who is this process, for the lease and the journal (set when the command runs).
	Who state.Lease
	// Output is "text" or "json".
	Output string
	// Dial connects to the cluster (Dial in production, fakes in tests).
	Dial DialFunc
}

// Cluster is what the incident commands use of the cluster (see wiring.Cluster).
type Cluster = wiring.Cluster

// DialFunc connects to the cluster described by cfg.
type DialFunc = wiring.DialFunc

// Dial connects to the cluster (wiring.Dial).
var Dial DialFunc = wiring.Dial

func newDeps(f *cmdutil.Factory) Deps {
	return Deps{IO: f.IOStreams, Config: f.Config, Output: "text", Dial: Dial}
}

func addOutputFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVarP(p, "output", "o", "text", "output format: text or json (one JSON object per line on stdout)")
}

func checkOutput(o string) error {
	if o != "text" && o != "json" {
		return cmdutil.FlagErrorf("--output must be text or json, not %q", o)
	}
	return nil
}

// prepare is the common start of a command's RunE: output check and who runs it.
func (d *Deps) prepare(cmd *cobra.Command, args []string) error {
	if err := checkOutput(d.Output); err != nil {
		return err
	}
	d.Who = whoAmI(cmd, args)
	return nil
}

func (d *Deps) locker(cfg *config.Config) *state.Locker { return wiring.Locker(cfg) }

func (d *Deps) sink() deployer.Sink {
	if d.Output == "json" {
		return deployer.JSONSink(d.IO.Out)
	}
	return deployer.TextSink(d.IO.ErrOut)
}

// start dials the cluster and builds the engine with every seam (see wiring.Start); the
// engine takes the lease itself (Resume, Abort, Rollback).
func (d *Deps) start(ctx context.Context, cfg *config.Config, sink deployer.Sink) (*wiring.Run, error) {
	return wiring.Start(ctx, cfg, wiring.Options{Dial: d.Dial, Who: d.Who, Sink: sink})
}

// summarySink remembers the last summary while forwarding events, for the result line.
type summarySink struct {
	next deployer.Sink
	last *deployer.Summary
}

func (s *summarySink) Emit(e deployer.Event) {
	if e.Summary != nil {
		sum := *e.Summary
		s.last = &sum
	}
	s.next.Emit(e)
}

// result prints the result line on stdout in text mode.
func (d *Deps) result(s *summarySink, what string) {
	if d.Output == "json" || s.last == nil {
		return
	}
	l := s.last
	fmt.Fprintln(d.IO.Out, cmdutil.ResultLine(what+": "+l.Outcome, strings.Join(l.From, ",")+" -> "+l.To, l.Duration, l.ExitCode, l.LostSessions))
}

// resultUndo prints the result line of Engine.Abort, which undoes a release From -> To: what
// went away and what serves ("abort: success: 002 undone, 001 serves"), not an arrow.
func (d *Deps) resultUndo(s *summarySink) {
	if d.Output == "json" || s.last == nil {
		return
	}
	if s.last.ExitCode != 0 {
		d.result(s, "abort")
		return
	}
	l := s.last
	fmt.Fprintln(d.IO.Out, cmdutil.ResultLine("abort: "+l.Outcome+":", l.To+" undone, "+orNothing(l.From)+" serves,", l.Duration, l.ExitCode, l.LostSessions))
}

// orNothing joins versions, or says "no version" for none (a first release undone).
func orNothing(vs []string) string {
	if len(vs) == 0 {
		return "no version"
	}
	return strings.Join(vs, ",")
}

// confirm asks question on a terminal unless yes; without a terminal it never asks.
func (d *Deps) confirm(question string, yes bool) error {
	if yes || !d.IO.CanPrompt() {
		return nil
	}
	fmt.Fprintf(d.IO.Out, "%s [y/N] ", question)
	line, _ := bufio.NewReader(d.IO.In).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return outcome.Classify(outcome.ErrPreflight, fmt.Errorf("%s: not confirmed; nothing was changed", question))
}

// whoAmI describes this process (wiring.WhoAmI).
func whoAmI(cmd *cobra.Command, args []string) state.Lease { return wiring.WhoAmI(cmd, args) }

// interrupted classifies an unclassified error after Ctrl-C as an interruption (exit 130).
func interrupted(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && outcome.Code(err) == outcome.Code(outcome.ErrPreflight) {
		return outcome.Classify(outcome.ErrInterrupted, err)
	}
	return err
}

func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }
