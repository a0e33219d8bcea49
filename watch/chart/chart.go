// Package chart draws the timeline of a watched release as one SVG: the steps of the release
// as labelled bands (route, deploy, gate, drain, ...) from its events, then, second by
// second, the requests, the failed requests and lost sessions, and the new and existing
// sessions per version that the load checker (package watch) recorded, all on one time axis
// in seconds from the start of the load. It uses gonum.org/v1/plot (pure Go, no cgo).
//
// The chart is drawn on an opaque white background with mid-tone colours (the Okabe-Ito
// palette, which also reads for colour-blind eyes), so that it reads the same on a white page
// and embedded in a page in dark mode.
//
// `zdd deploy --watch URL --chart FILE`, `zdd testenv load --chart FILE` and `zdd testenv
// bench --charts DIR` write it.
package chart

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/watch"
)

// Input is what one chart shows.
type Input struct {
	// Title is the chart's first line; the second gives the totals of the timeline.
	Title string
	// Start is the zero of the time axis: when the load started (watch.Report.Start).
	Start time.Time
	// Timeline is the load's record, one entry per second (watch.Report.Timeline).
	Timeline []watch.Second
	// Bands are the release's steps (see Bands); Marks are moments drawn on every panel.
	Bands []Band
	Marks []Mark
}

// FromReport is the input for a report of the watcher and the events of the release it
// watched (nil when there was none).
func FromReport(title string, r *watch.Report, events []deployer.Event) Input {
	return Input{Title: title, Start: r.Start, Timeline: r.Timeline, Bands: Bands(events)}
}

// Size of the chart, in points.
const (
	width       = 900
	height      = 760
	legendWidth = 190
	titleHeight = 44
)

// Render writes the chart of in to w as SVG.
func Render(w io.Writer, in Input) error {
	c := vgsvg.New(width, height)
	dc := draw.New(c)
	dc.FillPolygon(background, []vg.Point{{X: 0, Y: 0}, {X: width, Y: 0}, {X: width, Y: height}, {X: 0, Y: height}})
	drawTitle(dc, in)
	span := in.span()
	panels := []*panel{stepsPanel(in, span), requestsPanel(in, span), failuresPanel(in, span),
		versionsPanel(in, span, true), versionsPanel(in, span, false)}
	plots := make([][]*plot.Plot, len(panels))
	for i, p := range panels {
		plots[i] = []*plot.Plot{p.plot}
		p.plot.Y.Tick.Marker = padTicks{p.plot.Y.Tick.Marker}
		if i < len(panels)-1 {
			p.plot.X.Tick.Marker = timeTicks{noLabels: true}
		} else {
			p.plot.X.Label.Text = "time since the load started (s)"
		}
	}
	body := draw.Crop(dc, 0, 0, 0, -titleHeight)
	tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadY: 6, PadTop: 4, PadBottom: 6, PadLeft: 8}
	canvases := plot.Align(plots, tiles, draw.Crop(body, 0, -legendWidth, 0, 0))
	legends := draw.Crop(body, width-legendWidth, 0, 0, 0)
	for i, p := range panels {
		p.plot.Draw(canvases[i][0])
		p.drawLegend(tiles.At(legends, 0, i))
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return fmt.Errorf("chart: render: %w", err)
	}
	// The fonts are measured with Liberation Sans, which is metric-compatible with Arial:
	// a viewer without it falls back to Arial or Helvetica rather than to a serif.
	out := bytes.ReplaceAll(buf.Bytes(), []byte("font-family:Liberation Sans;"), []byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;"))
	_, err := w.Write(out)
	return err
}

// drawTitle writes the title and the totals at the top.
func drawTitle(dc draw.Canvas, in Input) {
	req, failed, lost := 0, 0, 0
	for _, s := range in.Timeline {
		req, failed, lost = req+s.Requests, failed+s.Failed, lost+s.Lost
	}
	sty := textStyle(13)
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YTop
	dc.FillText(sty, vg.Point{X: 12, Y: height - 8}, in.Title)
	sty = textStyle(10)
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YTop
	dc.FillText(sty, vg.Point{X: 12, Y: height - 27}, fmt.Sprintf("%s requests, %s failed, %s sessions lost in %d s of load, from %s",
		thousands(req), thousands(failed), thousands(lost), len(in.Timeline), in.Start.UTC().Format("2006-01-02 15:04:05 UTC")))
}

// span is the length of the time axis, in seconds: the timeline, and every band and mark.
func (in Input) span() float64 {
	end := float64(len(in.Timeline))
	for _, b := range in.Bands {
		end = max(end, in.at(b.Start), in.at(b.End))
	}
	for _, m := range in.Marks {
		end = max(end, in.at(m.At))
	}
	return max(end, 1)
}

// at is t in seconds from Start (0 for a zero t).
func (in Input) at(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return t.Sub(in.Start).Seconds()
}

// WriteFile renders the chart into a temporary file beside path and renames it to path, so
// that path holds either the old content or the whole new chart.
func WriteFile(path string, in Input) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("chart: write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	err = Render(f, in)
	if err == nil {
		err = f.Chmod(0o644) // CreateTemp's 0600 is for secrets; a chart is for reading
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("chart: write %s: %w", path, err)
	}
	return nil
}

// CheckWritable tells, changing nothing, whether WriteFile can write path: its directory
// exists and takes a new file (one is created and removed), and path is not a directory.
func CheckWritable(path string) error {
	if path == "" {
		return errors.New("chart: no file named")
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("chart: %s is a directory: name a file, e.g. %s", path, filepath.Join(path, "release.svg"))
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("chart: %s cannot be written: %w (create the directory first)", path, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("chart: %s cannot be written: %s is not a directory", path, dir)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("chart: %s cannot be written: %w", path, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// thousands formats n with a comma every three digits.
func thousands(n int) string {
	s := fmt.Sprintf("%d", n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
