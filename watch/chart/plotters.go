package chart

import (
	"image/color"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// bars draws the bands, one lane per kind, the label inside a bar when it fits.
type bars struct {
	in    Input
	span  float64
	lanes []string
}

// Plot implements plot.Plotter.
func (b *bars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	lane := map[string]float64{}
	for i, l := range b.lanes {
		lane[l] = float64(len(b.lanes) - 1 - i)
	}
	sty := textStyle(8)
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YCenter
	for _, band := range b.in.Bands {
		x0, x1 := b.in.at(band.Start), b.span
		if !band.End.IsZero() {
			x1 = b.in.at(band.End)
		}
		y := lane[band.Kind]
		rect := []vg.Point{{X: trX(x0), Y: trY(y - 0.34)}, {X: trX(x1), Y: trY(y - 0.34)},
			{X: trX(x1), Y: trY(y + 0.34)}, {X: trX(x0), Y: trY(y + 0.34)}}
		if rect[1].X-rect[0].X < 1 { // a step shorter than a point is still seen
			rect[1].X, rect[2].X = rect[0].X+1, rect[0].X+1
		}
		clr, ok := kindColors[band.Kind]
		if !ok {
			clr = grey
		}
		c.FillPolygon(clr, c.ClipPolygonX(rect))
		if band.Failed {
			edge := draw.LineStyle{Color: vermillion, Width: vg.Points(2)}
			c.StrokeLines(edge, c.ClipLinesX(append(rect, rect[0]))...)
		}
		label, room := band.Label, rect[1].X-rect[0].X
		if fits := func(s string) bool { return sty.Width(s)*1.2+4 < room }; band.Failed && fits(label+" FAILED") {
			label += " FAILED"
		}
		if label != "" && sty.Width(label)*1.2+4 < room {
			c.FillText(sty, vg.Point{X: (rect[0].X + rect[1].X) / 2, Y: trY(y)}, label)
		}
	}
}

// window shades the release, from its first step's start to its last step's end.
type window struct{ from, to float64 }

// Plot implements plot.Plotter.
func (w *window) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	x0, x1 := trX(w.from), trX(w.to)
	c.FillPolygon(shade, c.ClipPolygonX([]vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}}))
}

// vline marks a moment with a dashed vertical line.
type vline struct{ x float64 }

var markStyle = draw.LineStyle{Color: ink, Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(3), vg.Points(3)}}

// Plot implements plot.Plotter.
func (v *vline) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	x := trX(v.x)
	c.StrokeLines(markStyle, c.ClipLinesX([]vg.Point{{X: x, Y: c.Min.Y}, {X: x, Y: c.Max.Y}})...)
}

// Thumbnail implements plot.Thumbnailer.
func (v *vline) Thumbnail(c *draw.Canvas) {
	x := (c.Min.X + c.Max.X) / 2
	c.StrokeLine2(markStyle, x, c.Min.Y, x, c.Max.Y)
}

// swatch is a legend entry's filled square, with an edge when edge is set.
type swatch struct{ fill, edge color.Color }

// Thumbnail implements plot.Thumbnailer.
func (s *swatch) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y}}
	c.FillPolygon(s.fill, pts)
	if s.edge != nil {
		c.StrokeLines(draw.LineStyle{Color: s.edge, Width: vg.Points(2)}, append(pts, pts[0]))
	}
}

// timeTicks marks the time axis every 1, 2, 5, 10, 15, 30 s, ... (at most 15 labelled
// ticks); noLabels leaves the labels out (the panels above the last one).
type timeTicks struct{ noLabels bool }

// Ticks implements plot.Ticker.
func (t timeTicks) Ticks(lo, hi float64) []plot.Tick {
	step := 3600.0
	for _, s := range []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800} {
		if (hi-lo)/s <= 15 {
			step = s
			break
		}
	}
	var out []plot.Tick
	for x := 0.0; x <= hi; x += step {
		if x < lo {
			continue
		}
		tk := plot.Tick{Value: x}
		if !t.noLabels {
			tk.Label = strconv.FormatFloat(x, 'f', -1, 64)
		}
		out = append(out, tk)
	}
	return out
}

// padTicks ends every label of a y axis with spaces: the labels are placed right-aligned by
// the widths of Liberation Sans, and a viewer that draws them with a wider font (DejaVu Sans
// is about 10 % wider) would otherwise write them over the axis.
type padTicks struct{ plot.Ticker }

// Ticks implements plot.Ticker.
func (t padTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := append([]plot.Tick(nil), t.Ticker.Ticks(lo, hi)...) // ConstantTicks returns itself
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label += "  "
		}
	}
	return ticks
}
