package reports

import (
	"bytes"
	"cmp"
	"fmt"
	"image/color"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Plot sizes in points (1 pt = 4/3 CSS px): the page's CSS shows each
// plot at 560 × 400 CSS pixels.
const (
	plotWidth   vg.Length = 420
	plotHeight  vg.Length = 300
	legendWidth vg.Length = 110
)

// Colours of the plots: muted for everything evaluated, strong for the
// front; the page's CSS uses the same values for its legend swatches.
var (
	colAll      = color.RGBA{R: 0xb0, G: 0xb6, B: 0xc0, A: 0xff}
	colFront    = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	colTeacher  = color.RGBA{R: 0x1f, G: 0x1f, B: 0x1f, A: 0xff}
	colBaseline = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	colHistory  = color.RGBA{R: 0x2c, G: 0x7f, B: 0x3c, A: 0xff}
	colDistill  = color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}
)

// point is one marked point of a scatter plot.
type point struct{ x, y float64 }

// lineKind says how a series' points are joined.
type lineKind int

const (
	noLine lineKind = iota
	// plainLine joins the points in order of x.
	plainLine
	// frontierLine draws the staircase of the points no other point beats
	// in this plot's two objectives (lower x, higher y): the front of a
	// 3-objective search seen in two of them.
	frontierLine
)

// series is one set of points drawn with one style.
type series struct {
	name   string
	pts    []point
	glyph  draw.GlyphStyle
	line   lineKind
	labels []string // a label below each point, when not nil
}

// chart is one plot: axes, series and whether the legend is drawn beside
// it (to the right, so it never covers the data).
type chart struct {
	title, xLabel, yLabel string
	series                []series
	legend                bool
}

// sans sets the font of sty to the sans-serif variant of the plot's font.
func sans(sty *font.Font) { sty.Variant = "Sans" }

// svg draws c as an SVG document (without the XML prologue, so it can be
// inlined in HTML). It returns an empty string when c has no points.
func (c chart) svg() (string, error) {
	n := 0
	for _, s := range c.series {
		n += len(s.pts)
	}
	if n == 0 {
		return "", nil
	}
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = c.title, c.xLabel, c.yLabel
	for _, f := range []*font.Font{&p.Title.TextStyle.Font, &p.X.Label.TextStyle.Font, &p.Y.Label.TextStyle.Font,
		&p.X.Tick.Label.Font, &p.Y.Tick.Label.Font} {
		sans(f)
	}
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = color.Gray{Y: 0xe8}, color.Gray{Y: 0xe8}
	p.Add(grid)
	legend := plot.NewLegend()
	sans(&legend.TextStyle.Font)
	legend.TextStyle.Font.Size = vg.Points(10)
	legend.Top, legend.Left, legend.ThumbnailWidth = true, true, vg.Points(12)
	for _, s := range c.series {
		if len(s.pts) == 0 {
			continue
		}
		xys := make(plotter.XYs, len(s.pts))
		for i, pt := range s.pts {
			xys[i] = plotter.XY{X: pt.x, Y: pt.y}
		}
		var thumbs []plot.Thumbnailer
		if s.line != noLine {
			l, err := plotter.NewLine(lineXYs(xys, s.line))
			if err != nil {
				return "", fmt.Errorf("plot %q, %s: %w", c.title, s.name, err)
			}
			l.LineStyle.Color, l.LineStyle.Width = s.glyph.Color, vg.Points(1.2)
			if s.line == frontierLine {
				l.StepStyle = plotter.PostStep
			}
			p.Add(l)
			thumbs = append(thumbs, l)
		}
		if s.glyph.Radius > 0 {
			sc, err := plotter.NewScatter(xys)
			if err != nil {
				return "", fmt.Errorf("plot %q, %s: %w", c.title, s.name, err)
			}
			sc.GlyphStyle = s.glyph
			p.Add(sc)
			thumbs = append(thumbs, sc)
		}
		if s.labels != nil {
			lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: s.labels})
			if err != nil {
				return "", fmt.Errorf("plot %q, %s labels: %w", c.title, s.name, err)
			}
			for i := range lb.TextStyle {
				sans(&lb.TextStyle[i].Font)
				lb.TextStyle[i].Font.Size = vg.Points(9)
				lb.TextStyle[i].XAlign, lb.TextStyle[i].YAlign = draw.XCenter, draw.YTop
			}
			lb.Offset = vg.Point{Y: -vg.Points(6)}
			p.Add(lb)
		}
		legend.Add(s.name, thumbs...)
	}
	canvas := vgsvg.New(plotWidth, plotHeight)
	dc := draw.New(canvas)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	area := dc
	if c.legend {
		area = draw.Crop(dc, 0, -legendWidth, 0, 0)
		legend.Draw(draw.Crop(dc, plotWidth-legendWidth+vg.Points(6), 0, 0, -vg.Points(28)))
	}
	p.Draw(area)
	var buf bytes.Buffer
	if _, err := canvas.WriteTo(&buf); err != nil {
		return "", fmt.Errorf("plot %q: %w", c.title, err)
	}
	out := buf.Bytes()
	// Drop the XML prologue and comment: the SVG is inlined in HTML.
	if i := bytes.Index(out, []byte("<svg")); i >= 0 {
		out = out[i:]
	}
	return string(out), nil
}

// glyph returns a glyph style of colour c, shape s and radius r points.
func glyph(c color.Color, s draw.GlyphDrawer, r float64) draw.GlyphStyle {
	return draw.GlyphStyle{Color: c, Shape: s, Radius: vg.Points(r)}
}

// lineXYs returns the points of a line of kind k through xys: all of them
// by increasing x, or for a frontier those no other beats (lower or equal
// x and higher y).
func lineXYs(xys plotter.XYs, k lineKind) plotter.XYs {
	sorted := slices.Clone(xys)
	slices.SortStableFunc(sorted, func(a, b plotter.XY) int {
		if c := cmp.Compare(a.X, b.X); c != 0 {
			return c
		}
		return cmp.Compare(b.Y, a.Y)
	})
	if k != frontierLine {
		return sorted
	}
	var out plotter.XYs
	for _, p := range sorted {
		if len(out) == 0 || p.Y > out[len(out)-1].Y {
			out = append(out, p)
		}
	}
	return out
}
