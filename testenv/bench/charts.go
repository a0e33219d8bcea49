package bench

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/watch"
	"github.com/saitodrom/zdd/watch/chart"
)

// Trace is what a row's chart shows: the load's timeline and the steps that ran under it.
type Trace struct {
	// Start is when the load started: the zero of the chart's time axis.
	Start time.Time `json:"start"`
	// Timeline is the load's record, one entry per second.
	Timeline []watch.Second `json:"timeline"`
	// Bands are the steps: the engine's, from its events, or the raw calls of the naive and
	// floor rows.
	Bands []chart.Band `json:"bands,omitempty"`
	// Marks are the moments a fault was injected.
	Marks []chart.Mark `json:"marks,omitempty"`
}

// tracer records the trace of the row being measured: every engine of the bench emits to it
// (it ignores events outside a load, e.g. the setup releases), and underLoad starts and stops
// it around the load.
type tracer struct {
	mu     sync.Mutex
	on     bool
	events []deployer.Event
	bands  []chart.Band
	marks  []chart.Mark
	last   *Trace
}

// Emit keeps e while a load runs (deployer.Sink).
func (t *tracer) Emit(e deployer.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.on {
		t.events = append(t.events, e)
	}
}

// band records a step that is not the engine's.
func (t *tracer) band(kind, label string, start time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.on {
		t.bands = append(t.bands, chart.Band{Kind: kind, Label: label, Start: start, End: time.Now()})
	}
}

// mark records the moment a fault was injected.
func (t *tracer) mark(at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.on {
		t.marks = append(t.marks, chart.Mark{At: at, Label: "fault injected"})
	}
}

// start begins the trace of a load.
func (t *tracer) start() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.on, t.events, t.bands, t.marks, t.last = true, nil, nil, nil, nil
}

// stop ends the trace with the load's report.
func (t *tracer) stop(r *watch.Report) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.on = false
	t.last = &Trace{Start: r.Start, Timeline: r.Timeline, Bands: append(chart.Bands(t.events), t.bands...), Marks: t.marks}
}

// take returns the last load's trace for the row name (nil: no load since the last take),
// its marks labelled with the row's fault.
func (t *tracer) take(name string) *Trace {
	t.mu.Lock()
	defer t.mu.Unlock()
	tr := t.last
	t.last = nil
	if tr != nil {
		for i := range tr.Marks {
			if l, ok := faultMarks[name]; ok {
				tr.Marks[i].Label = l
			}
		}
	}
	return tr
}

// routeLabel is the label of a routing change that takes out out.
func routeLabel(out []string) string {
	if len(out) == 0 {
		return "all in"
	}
	return strings.Join(out, ",") + " out"
}

// faultMarks labels the moment of each fault row's fault.
var faultMarks = map[string]string{
	RowFaultKill:   "n3 killed (SIGKILL)",
	RowFaultFreeze: "oldest member frozen (SIGSTOP)",
	RowFaultNginx:  "first routing change (nginx -t fails on lb2)",
	RowFaultSSH:    "SSH connection to lb1 cut",
}

// Rows whose charts the README's Evidence section embeds: the naive release, a zdd release
// and a node killed mid-release.
var evidenceCharts = []string{RowNaive, RowZddRR, RowFaultKill}

// WriteCharts writes one SVG chart per row that ran under load into dir (created if missing)
// and names each in its row's Chart; UpdateFile and WriteRun then embed them.
func (r *Result) WriteCharts(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench: charts: %w", err)
	}
	r.ChartDir = dir
	for i := range r.Rows {
		row := &r.Rows[i]
		if row.Trace == nil {
			continue
		}
		file := chartFile(row.Name)
		title := row.Name
		if row.Mode != "" && !strings.Contains(title, row.Mode) {
			title += " (" + row.Mode + ")"
		}
		in := chart.Input{Title: title, Start: row.Trace.Start, Timeline: row.Trace.Timeline, Bands: row.Trace.Bands, Marks: row.Trace.Marks}
		if err := chart.WriteFile(filepath.Join(dir, file), in); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		row.Chart = file
	}
	return nil
}

// CheckChartDir tells, before a run, whether WriteCharts can write into dir.
func CheckChartDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench: charts: %w", err)
	}
	return chart.CheckWritable(filepath.Join(dir, "row.svg"))
}

// chartFile is a row's chart's file name: its name in lower case, words joined by "-".
func chartFile(name string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(name) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(c)
			dash = false
		} else {
			dash = true
		}
	}
	s := b.String()
	if len(s) > 60 {
		s = strings.TrimRight(s[:60], "-")
	}
	return s + ".svg"
}

// chartLink is the path of a row's chart from the Markdown file being written (linkBase, the
// current directory when empty).
func (r *Result) chartLink(row Row) string {
	p := filepath.Join(r.ChartDir, row.Chart)
	if rel, err := filepath.Rel(r.linkBase, p); err == nil && r.linkBase != "" {
		p = rel
	}
	return filepath.ToSlash(p)
}

// writeCharts embeds every row's chart (docs/bench.md).
func (r *Result) writeCharts(w io.Writer) {
	n := 0
	for _, row := range r.Rows {
		if row.Chart == "" {
			continue
		}
		if n++; n == 1 {
			fmt.Fprintln(w, "\nEach row under load, second by second (the steps from the release's events; generated by the same run):")
		}
		fmt.Fprintf(w, "\n**%s**\n\n![%s](%s)\n", row.Name, row.Name, r.chartLink(row))
	}
}

// writeEvidenceCharts embeds the charts of evidenceCharts (the README).
func (r *Result) writeEvidenceCharts(w io.Writer) {
	for _, name := range evidenceCharts {
		for _, row := range r.Rows {
			if row.Name == name && row.Chart != "" {
				fmt.Fprintf(w, "\n![%s](%s)\n", row.Name, r.chartLink(row))
			}
		}
	}
}
