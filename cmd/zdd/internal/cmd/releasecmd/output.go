package releasecmd

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/outcome"
)

// Output formats of --output.
const (
	OutputText = "text"
	OutputJSON = "json"
)

// addOutputFlag adds --output to cmd.
func addOutputFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVarP(p, "output", "o", OutputText, "output format: text (lines on stderr, a result line on stdout) or json (one event per line on stdout)")
}

// checkOutput refuses an unknown --output (exit 2).
func checkOutput(o string) error {
	if o != OutputText && o != OutputJSON {
		return cmdutil.FlagErrorf("--output must be text or json, not %q", o)
	}
	return nil
}

// reporter is the Sink of one run: it forwards events to the sink chosen for the output and
// the streams, remembers the summary, and makes sure a run ends with one.
type reporter struct {
	io      *iostreams.IOStreams
	json    bool
	sink    deployer.Sink
	bars    *barSink
	mu      sync.Mutex
	summary *deployer.Summary
	// also, when set, receives every event too (the events of --chart).
	also deployer.Sink
}

// newReporter chooses the sink: JSON lines on stdout for --output json; otherwise on stderr,
// progress bars when stderr is a terminal, plain timestamped lines when it is not.
func newReporter(streams *iostreams.IOStreams, output string) *reporter {
	r := &reporter{io: streams, json: output == OutputJSON}
	switch {
	case r.json:
		r.sink = deployer.JSONSink(streams.Out)
	case streams.IsStderrTTY():
		r.bars = newBarSink(streams.ErrOut)
		r.sink = r.bars
	default:
		r.sink = deployer.TextSink(streams.ErrOut)
	}
	return r
}

// Emit forwards e, remembering a summary.
func (r *reporter) Emit(e deployer.Event) {
	if e.Type == deployer.EventSummary && e.Summary != nil {
		r.mu.Lock()
		s := *e.Summary
		r.summary = &s
		r.mu.Unlock()
	}
	if r.also != nil {
		r.also.Emit(e)
	}
	r.sink.Emit(e)
}

// finish ends the run: when the engine emitted no summary (a failure before it started), it
// emits one built from err, where from nil means the running versions were not read (and a
// non-nil empty from that nothing runs); in text mode it prints the result line on stdout.
func (r *reporter) finish(err error, app string, from []string, to string, started time.Time) {
	r.mu.Lock()
	s := r.summary
	r.mu.Unlock()
	fromRead := s != nil || from != nil
	if s == nil {
		s = &deployer.Summary{Outcome: outcome.Name(err), ExitCode: outcome.Code(err), App: app, From: from, To: to,
			Duration: time.Since(started).Seconds()}
		if err != nil {
			s.Error = err.Error()
		}
		r.Emit(deployer.Event{Schema: deployer.EventSchema, Time: time.Now(), Type: deployer.EventSummary, Summary: s})
	}
	if r.bars != nil {
		r.bars.close()
	}
	if !r.json {
		fmt.Fprintln(r.io.Out, resultLine(s, fromRead))
	}
}

// resultLine is the one line a text-mode run prints on stdout: "app 001 -> 002", "nothing"
// when no version runs, "(not read)" when the run stopped before reading what runs
// (fromRead false), and "(none)" when no new version was chosen.
func resultLine(s *deployer.Summary, fromRead bool) string {
	from := "nothing"
	switch {
	case len(s.From) > 0:
		from = strings.Join(s.From, ",")
	case !fromRead:
		from = "(not read)"
	}
	to := s.To
	if to == "" {
		to = "(none)"
	}
	return cmdutil.ResultLine(s.Outcome+": "+s.App, from+" -> "+to, s.Duration, s.ExitCode, s.LostSessions)
}

// barSink shows progress events (upload bytes per node, drain sessions) and waits with a
// deadline (seconds waited out of the wait's bound) as progress bars, and every other event as
// a plain line, for a terminal.
type barSink struct {
	w    io.Writer
	mu   sync.Mutex
	bars map[string]*progressbar.ProgressBar
	live *progressbar.ProgressBar // the bar on the current line, if unfinished
}

func newBarSink(w io.Writer) *barSink {
	return &barSink{w: w, bars: map[string]*progressbar.ProgressBar{}}
}

// Emit draws a progress event on its bar, or clears the live bar and writes the event's line.
func (s *barSink) Emit(e deployer.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.Type == deployer.EventProgress && e.Total > 0 {
		s.progress(fmt.Sprintf("%d/%s/%s", e.Step, e.Node, e.Unit), e)
		return
	}
	if e.Type == deployer.EventWaiting && e.Deadline != nil {
		s.waiting(e)
		return
	}
	s.clearLive()
	fmt.Fprintln(s.w, deployer.FormatText(e))
}

// waiting draws a wait with a deadline as a bar of its seconds, from its start to its deadline.
func (s *barSink) waiting(e deployer.Event) {
	what, _, _ := strings.Cut(e.Message, " (") // the reason changes at every poll
	total := e.Waited + e.Deadline.Sub(e.Time).Seconds()
	s.progress(fmt.Sprintf("%d/%s/wait %s", e.Step, e.Node, what), deployer.Event{Step: e.Step, Node: e.Node,
		Message: "waiting for " + what, Current: int64(e.Waited), Total: int64(max(total, e.Waited, 1)), Unit: "s"})
}

func (s *barSink) progress(key string, e deployer.Event) {
	bar := s.bars[key]
	if bar == nil {
		s.clearLive()
		desc := e.Message
		if e.Node != "" {
			desc = e.Node + " " + desc
		}
		opts := []progressbar.Option{progressbar.OptionSetWriter(s.w), progressbar.OptionSetDescription(desc),
			progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100 * time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(s.w) })}
		if e.Unit == "bytes" {
			opts = append(opts, progressbar.OptionShowBytes(true), progressbar.OptionShowTotalBytes(true))
		} else {
			opts = append(opts, progressbar.OptionShowCount(), progressbar.OptionSetItsString(e.Unit), progressbar.OptionSetPredictTime(false))
		}
		bar = progressbar.NewOptions64(e.Total, opts...)
		s.bars[key] = bar
	}
	if bar.GetMax64() != e.Total {
		bar.ChangeMax64(e.Total)
	}
	_ = bar.Set64(e.Current)
	s.live = bar
	if bar.IsFinished() {
		s.live = nil
	}
}

// clearLive erases an unfinished bar from the current line, so that a line can be written;
// the bar is drawn again at its next progress event.
func (s *barSink) clearLive() {
	if s.live != nil {
		_ = s.live.Clear()
		s.live = nil
	}
}

func (s *barSink) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clearLive()
}
