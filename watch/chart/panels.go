package chart

import (
	"fmt"
	"image/color"
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/saitodrom/zdd/watch"
)

// Colours: mid-tones that read on white (the chart's own opaque background) and stay apart
// for colour-blind eyes (Okabe-Ito).
var (
	background     = color.White
	ink            = rgb(0x33, 0x33, 0x33)
	gridColor      = rgb(0xdd, 0xdd, 0xdd)
	shade          = rgb(0xee, 0xee, 0xee)
	blue           = rgb(0x00, 0x72, 0xb2)
	orange         = rgb(0xe6, 0x9f, 0x00)
	green          = rgb(0x00, 0x9e, 0x73)
	vermillion     = rgb(0xd5, 0x5e, 0x00)
	purple         = rgb(0xaa, 0x44, 0x99)
	sky            = rgb(0x56, 0xb4, 0xe9)
	grey           = rgb(0x99, 0x99, 0x99)
	brown          = rgb(0x99, 0x66, 0x33)
	versionPalette = []color.Color{blue, orange, green, purple, sky, brown, vermillion, grey}
	kindColors     = map[string]color.Color{"preflight": grey, "migrate": brown, "route": sky, "deploy": orange,
		"gate": green, "pause": grey, "drain": purple, "undeploy": brown, "stop": vermillion, "rollback": vermillion}
)

func rgb(r, g, b uint8) color.Color { return color.RGBA{R: r, G: g, B: b, A: 0xff} }

var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

func textStyle(size float64) text.Style {
	return text.Style{Color: ink, Font: font.From(sans, font.Points(size)), Handler: plot.DefaultTextHandler}
}

// panel is one plot of the chart, with its legend drawn beside it.
type panel struct {
	plot   *plot.Plot
	legend plot.Legend
}

// newPanel is an empty panel on the time axis [0, span] with its y label.
func newPanel(in Input, span float64, ylabel string) *panel {
	p := plot.New()
	p.BackgroundColor = background
	p.X.Min, p.X.Max = 0, span
	p.X.Tick.Marker = timeTicks{}
	p.Y.Label.Text = ylabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} { // the fonts and colours; the axes keep their alignments
		a.Label.TextStyle.Font, a.Label.TextStyle.Color = font.From(sans, 10), ink
		a.Tick.Label.Font, a.Tick.Label.Color = font.From(sans, 9), ink
		a.Color, a.Tick.Color = ink, ink
		a.Padding = 2
	}
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = gridColor, gridColor
	if first, last, ok := in.release(span); ok {
		p.Add(&window{from: first, to: last})
	}
	p.Add(grid)
	for _, m := range in.Marks {
		p.Add(&vline{x: in.at(m.At)})
	}
	pn := &panel{plot: p, legend: plot.NewLegend()}
	pn.legend.TextStyle.Font, pn.legend.TextStyle.Color = font.From(sans, 9), ink
	pn.legend.Top, pn.legend.Left = true, true
	pn.legend.ThumbnailWidth = 18
	pn.legend.Padding = 4
	return pn
}

// release is the time from the first band's start to the last band's end (shaded on the
// panels), false without bands.
func (in Input) release(span float64) (first, last float64, ok bool) {
	first, last = math.Inf(1), math.Inf(-1)
	for _, b := range in.Bands {
		end := span
		if !b.End.IsZero() {
			end = in.at(b.End)
		}
		first, last = min(first, in.at(b.Start)), max(last, end)
	}
	return first, last, len(in.Bands) > 0
}

// drawLegend draws the panel's legend in c, its column beside the plot.
func (pn *panel) drawLegend(c draw.Canvas) { pn.legend.Draw(draw.Crop(c, 6, 0, 0, -4)) }

// series adds a per-second series as a step line and its legend entry.
func (pn *panel) series(name string, clr color.Color, dashed bool, tl []watch.Second, v func(watch.Second) int) float64 {
	pts := make(plotter.XYs, 0, len(tl)+1)
	peak := 0
	for _, s := range tl {
		pts = append(pts, plotter.XY{X: float64(s.At), Y: float64(v(s))})
		peak = max(peak, v(s))
	}
	if n := len(pts); n > 0 {
		pts = append(pts, plotter.XY{X: pts[n-1].X + 1, Y: pts[n-1].Y})
	}
	l := &plotter.Line{XYs: pts, StepStyle: plotter.PostStep,
		LineStyle: draw.LineStyle{Color: clr, Width: vg.Points(1.6)}}
	if dashed {
		l.LineStyle.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
	}
	pn.plot.Add(l)
	pn.legend.Add(name, l)
	return float64(peak)
}

// yFrom0 makes the y axis start at 0 and end a little above peak (1 when nothing counted).
func (pn *panel) yFrom0(peak float64) {
	pn.plot.Y.Min, pn.plot.Y.Max = 0, max(1, peak*1.08)
}

func requestsPanel(in Input, span float64) *panel {
	pn := newPanel(in, span, "requests / s")
	pn.yFrom0(pn.series("requests", blue, false, in.Timeline, func(s watch.Second) int { return s.Requests }))
	return pn
}

func failuresPanel(in Input, span float64) *panel {
	pn := newPanel(in, span, "per second")
	peak := pn.series("failed requests", vermillion, false, in.Timeline, func(s watch.Second) int { return s.Failed })
	peak = max(peak, pn.series("lost sessions", purple, true, in.Timeline, func(s watch.Second) int { return s.Lost }))
	pn.yFrom0(peak)
	return pn
}

// versionsPanel draws, per version, the requests that started a session (fresh) or those
// within an existing one.
func versionsPanel(in Input, span float64, fresh bool) *panel {
	ylabel, what := "requests / s", "existing sessions"
	if fresh {
		ylabel, what = "new sessions / s", "new sessions"
	}
	pn := newPanel(in, span, ylabel)
	peak := 0.0
	for i, v := range versions(in.Timeline) {
		clr := versionPalette[i%len(versionPalette)]
		name := fmt.Sprintf("%s on %s", what, v)
		if v == "?" { // a watcher on any page does not read the version
			name = what
		}
		peak = max(peak, pn.series(name, clr, !fresh, in.Timeline, func(s watch.Second) int {
			if fresh {
				return s.New[v]
			}
			return s.Existing[v]
		}))
	}
	pn.yFrom0(peak)
	return pn
}

// versions lists every version of the timeline, sorted (the same colour on both panels).
func versions(tl []watch.Second) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range tl {
		for _, m := range []map[string]int{s.New, s.Existing} {
			for v := range m {
				if !seen[v] {
					seen[v] = true
					out = append(out, v)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// stepsPanel draws one lane per step kind, a bar per step.
func stepsPanel(in Input, span float64) *panel {
	pn := newPanel(in, span, "release step")
	ls := lanes(in.Bands)
	if len(ls) == 0 {
		ls = []string{"no step recorded"}
	}
	var ticks plot.ConstantTicks
	for i, l := range ls {
		ticks = append(ticks, plot.Tick{Value: float64(len(ls) - 1 - i), Label: l})
	}
	pn.plot.Y.Tick.Marker = ticks
	pn.plot.Y.Min, pn.plot.Y.Max = -0.6, float64(len(ls))-0.4
	pn.plot.Add(&bars{in: in, span: span, lanes: ls})
	failed := false
	for _, b := range in.Bands {
		failed = failed || b.Failed
	}
	if failed {
		pn.legend.Add("failed step", &swatch{fill: shade, edge: vermillion})
	}
	if len(in.Bands) > 0 {
		pn.legend.Add("release (shaded)", &swatch{fill: shade})
	}
	for _, m := range in.Marks {
		pn.legend.Add(m.Label, &vline{})
	}
	return pn
}
