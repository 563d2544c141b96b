package results

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// A Chart is one figure of a report: one or more panels stacked top to
// bottom that share its width (and, when they are time series, their time
// axis). It is independent of where its data came from, so that charts of
// the records of a run (Analysis.Charts) and of other experiments — a race
// matrix drawn as a plotter.HeatMap, a capacity curve over a sweep — are
// rendered, saved and embedded in the HTML report the same way: build the
// panels with gonum/plot and wrap them in a Chart.
type Chart struct {
	// Name is the file name stem: Name.png, Name.svg.
	Name string
	// Title heads the chart in the HTML report.
	Title string
	// About tells a reader what the chart shows and how to read it.
	About string
	// Panels are drawn top to bottom, each panelHeight tall.
	Panels []*plot.Plot
}

// Chart geometry. PNGs are drawn at pngDPI, so a chart is 1200 pixels wide.
const (
	chartWidth  = 900 * vg.Inch / 72
	panelHeight = 300 * vg.Inch / 72
	pngDPI      = 96
	// maxLinePoints is what LTTB reduces a line to: about one point per
	// two pixels, beyond which extra points only make files bigger.
	maxLinePoints = 600
)

// ChartFormats are the file formats SaveCharts writes, by extension.
var ChartFormats = []string{"png", "svg"}

// Size returns the chart's width and height.
func (c *Chart) Size() (w, h vg.Length) {
	return chartWidth, panelHeight * vg.Length(len(c.Panels))
}

// Render draws the chart to w as "png" or "svg". SVG text uses the
// Liberation font names without embedding the fonts, which keeps a chart a
// few tens of kilobytes; browsers substitute a metric-compatible font.
func (c *Chart) Render(w io.Writer, format string) error {
	width, height := c.Size()
	var canvas vg.CanvasWriterTo
	switch format {
	case "png":
		canvas = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(pngDPI))}
	case "svg":
		canvas = vgsvg.New(width, height)
	default:
		return fmt.Errorf("chart %s: unknown format %q (want png or svg)", c.Name, format)
	}
	dc := draw.New(canvas)
	tiles := draw.Tiles{Rows: len(c.Panels), Cols: 1, PadY: vg.Points(6)}
	grid := make([][]*plot.Plot, len(c.Panels))
	for i, p := range c.Panels {
		grid[i] = []*plot.Plot{p}
	}
	for i, row := range plot.Align(grid, tiles, dc) {
		c.Panels[i].Draw(row[0])
	}
	if _, err := canvas.WriteTo(w); err != nil {
		return fmt.Errorf("chart %s: write %s: %w", c.Name, format, err)
	}
	return nil
}

// SaveCharts writes every chart in every ChartFormats format to dir,
// creating it if needed, and returns the paths written.
func SaveCharts(dir string, charts []*Chart) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("charts: %w", err)
	}
	var paths []string
	for _, c := range charts {
		for _, format := range ChartFormats {
			path := filepath.Join(dir, c.Name+"."+format)
			err := writeFileAtomic(path, func(f *os.File) error { return c.Render(f, format) })
			if err != nil {
				return paths, err
			}
			paths = append(paths, path)
		}
	}
	return paths, nil
}

// inlineSVG renders c as an <svg> element for embedding in HTML: the XML
// prolog and comment before it are dropped.
func (c *Chart) inlineSVG() ([]byte, error) {
	var buf bytes.Buffer
	if err := c.Render(&buf, "svg"); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	if i := bytes.Index(b, []byte("<svg")); i >= 0 {
		b = b[i:]
	}
	return b, nil
}

// newPlot returns a plot with the report's look: a sans-serif face for
// every text, a light grid, the legend at the top left.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	for _, s := range []*text.Style{&p.Title.TextStyle, &p.X.Label.TextStyle, &p.Y.Label.TextStyle,
		&p.X.Tick.Label, &p.Y.Tick.Label, &p.Legend.TextStyle} {
		s.Font.Typeface, s.Font.Variant = "Liberation", "Sans"
	}
	p.X.Tick.Marker, p.Y.Tick.Marker = plainTicks{}, plainTicks{}
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.TextStyle.Font.Size = vg.Points(10)
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 225}
	grid.Horizontal.Color = color.Gray{Y: 225}
	p.Add(grid)
	return p
}

// palette holds the Okabe–Ito colours, told apart by readers with any
// common colour-vision deficiency. Modes and outcomes take them in report
// order, so a mode keeps its colour from chart to chart.
var palette = []color.RGBA{
	{0x00, 0x72, 0xB2, 0xFF}, // blue
	{0xE6, 0x9F, 0x00, 0xFF}, // orange
	{0x00, 0x9E, 0x73, 0xFF}, // bluish green
	{0xD5, 0x5E, 0x00, 0xFF}, // vermillion
	{0xCC, 0x79, 0xA7, 0xFF}, // reddish purple
	{0x56, 0xB4, 0xE9, 0xFF}, // sky blue
	{0x00, 0x00, 0x00, 0xFF}, // black
	{0xF0, 0xE4, 0x42, 0xFF}, // yellow
}

func paletteColor(i int) color.RGBA { return palette[i%len(palette)] }

// addLine adds pts (downsampled to maxLinePoints with LTTB) as a line in
// colour i of palette, dashed when dashed is set, with a legend entry.
func addLine(p *plot.Plot, name string, pts plotter.XYs, i int, dashed bool) error {
	if len(pts) == 0 {
		return nil
	}
	l, err := plotter.NewLine(lttb(pts, maxLinePoints))
	if err != nil {
		return fmt.Errorf("line %s: %w", name, err)
	}
	l.Color = paletteColor(i)
	l.Width = vg.Points(1.5)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

// durationUnit picks the unit in which durations up to maxNs (in
// nanoseconds) read best on an axis: its name and nanoseconds per unit.
func durationUnit(maxNs float64) (string, float64) {
	switch v := math.Abs(maxNs); {
	case v >= 1e9:
		return "s", 1e9
	case v >= 1e6:
		return "ms", 1e6
	case v >= 1e3:
		return "µs", 1e3
	}
	return "ns", 1
}

// scaleY divides every Y of pts by div, in place.
func scaleY(pts plotter.XYs, div float64) plotter.XYs {
	for i := range pts {
		pts[i].Y /= div
	}
	return pts
}

// plainTicks are plot.DefaultTicks labelled with the fewest digits that
// tell them apart ("7500", "0.25") instead of a fixed precision ("7500.00").
type plainTicks struct{}

var _ plot.Ticker = plainTicks{}

// Ticks implements plot.Ticker.
func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			// Rounding to 10 digits first drops float noise (0.30000000000000004).
			v, _ := strconv.ParseFloat(strconv.FormatFloat(ticks[i].Value, 'g', 10, 64), 64)
			ticks[i].Label = strconv.FormatFloat(v, 'f', -1, 64)
		}
	}
	return ticks
}

// setTimeAxis makes p's X axis a wall-clock axis (x in unixSeconds) over
// [from, to] with timeTicks.
func setTimeAxis(p *plot.Plot, from, to time.Time) {
	if !to.After(from) {
		to = from.Add(time.Second)
	}
	p.X.Min, p.X.Max = unixSeconds(from), unixSeconds(to)
	p.X.Tick.Marker = timeTicks{}
	p.X.Label.Text = "time (UTC, " + from.UTC().Format("2006-01-02") + ")"
}

// timeTicks marks a wall-clock axis whose values are unixSeconds. Unlike
// plot.TimeTicks, which rounds to whole seconds and picks decimal steps,
// it steps by clock-friendly intervals from a millisecond to a day and
// prints as many fractional digits as the step needs: "12:00:01.25".
type timeTicks struct{}

var _ plot.Ticker = timeTicks{}

// timeSteps are the candidate intervals between labelled ticks.
var timeSteps = []time.Duration{
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// maxTimeTicks is the most labelled ticks an axis gets; labels like
// "12:00:01.25" need the room.
const maxTimeTicks = 8

// Ticks implements plot.Ticker.
func (timeTicks) Ticks(lo, hi float64) []plot.Tick {
	span := time.Duration((hi - lo) * 1e9)
	step := timeSteps[len(timeSteps)-1]
	for _, s := range timeSteps {
		if span/s < maxTimeTicks {
			step = s
			break
		}
	}
	layout := "15:04:05"
	switch {
	case step < 10*time.Millisecond:
		layout += ".000"
	case step < 100*time.Millisecond:
		layout += ".00"
	case step < time.Second:
		layout += ".0"
	case step >= 24*time.Hour:
		layout = "Jan 2"
	}
	// Work in integer nanoseconds from a multiple of step (or of a second,
	// which every shorter step divides) below lo, so that ticks fall on
	// multiples of step in UTC: 12:00:10, 12:00:20, never 12:00:07, 12:00:17.
	unit := max(step, time.Second).Seconds()
	// A float64 of Unix seconds is good to a few hundred nanoseconds: give
	// the ends a microsecond of slack so that a tick on an end is kept.
	base := math.Floor(lo/unit) * unit
	from := time.Duration(math.Ceil(((lo-base)*1e9-1e3)/float64(step))) * step
	to := time.Duration((hi-base)*1e9 + 1e3)
	var ticks []plot.Tick
	for d := from; d <= to; d += step {
		t := time.Unix(int64(base), 0).Add(d).UTC()
		ticks = append(ticks, plot.Tick{Value: base + d.Seconds(), Label: t.Format(layout)})
	}
	return ticks
}
