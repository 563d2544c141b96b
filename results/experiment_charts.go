package results

import (
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	gpalette "gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// MatrixPanel is one panel of a matrix chart: a value per cell, in
// [Min, Max], printed in the cell and coloured on a scale.
type MatrixPanel struct {
	Title    string
	Min, Max float64
	Value    func(row, col int) float64 // NaN: no value (grey, "-")
	Format   func(v float64) string
	// GoodHigh colours high values blue and low ones red (ok %); by
	// default high values are red (shares of a failure).
	GoodHigh bool
}

// MatrixChart draws a matrix (rows × cols, e.g. server end-behaviours ×
// client policies) as heat maps, one panel per metric, with each cell's
// value written in it so the chart reads without a colour scale.
func MatrixChart(name, title, about string, rows, cols []string, panels []MatrixPanel) *Chart {
	c := &Chart{Name: name, Title: title, About: about}
	for _, mp := range panels {
		p := newPlot(mp.Title, "", "")
		g := matrixGrid{rows: len(rows), cols: len(cols), value: mp.Value, min: mp.Min, max: mp.Max}
		var cmap gpalette.ColorMap = moreland.SmoothBlueRed()
		if mp.GoodHigh {
			cmap = gpalette.Reverse(cmap)
		}
		hm := plotter.NewHeatMap(g, cmap.Palette(64))
		hm.Min, hm.Max = mp.Min, mp.Max
		hm.NaN = color.Gray{Y: 220}
		p.Add(hm)
		var labels plotter.XYLabels
		for r := range rows {
			for col := range cols {
				v := mp.Value(r, col)
				s := "-"
				if !math.IsNaN(v) {
					s = mp.Format(v)
				}
				labels.XYs = append(labels.XYs, plotter.XY{X: float64(col), Y: float64(len(rows) - 1 - r)})
				labels.Labels = append(labels.Labels, s)
			}
		}
		if l, err := plotter.NewLabels(labels); err == nil {
			for i := range l.TextStyle {
				l.TextStyle[i].Font.Size = vg.Points(8)
				l.TextStyle[i].XAlign, l.TextStyle[i].YAlign = -0.5, -0.5
			}
			p.Add(l)
		}
		p.X.Tick.Marker = namedTicks(cols, false)
		p.Y.Tick.Marker = namedTicks(rows, true)
		p.X.Min, p.X.Max = -0.5, float64(len(cols))-0.5
		p.Y.Min, p.Y.Max = -0.5, float64(len(rows))-0.5
		p.Y.Tick.Label.Font.Size = vg.Points(8)
		p.X.Tick.Label.Font.Size = vg.Points(8)
		c.Panels = append(c.Panels, p)
	}
	return c
}

// matrixGrid is a matrix as gonum's heat map wants it: columns along X,
// rows along Y with the first row at the top.
type matrixGrid struct {
	rows, cols int
	value      func(row, col int) float64
	min, max   float64
}

func (g matrixGrid) Dims() (c, r int)   { return g.cols, g.rows }
func (g matrixGrid) Z(c, r int) float64 { return g.value(g.rows-1-r, c) }
func (g matrixGrid) X(c int) float64    { return float64(c) }
func (g matrixGrid) Y(r int) float64    { return float64(r) }
func (g matrixGrid) Min() float64       { return g.min }
func (g matrixGrid) Max() float64       { return g.max }

// namedTicks labels positions 0…n−1 with names, the first at the top when
// reversed (rows).
func namedTicks(names []string, reversed bool) plot.ConstantTicks {
	ticks := make(plot.ConstantTicks, len(names))
	for i, n := range names {
		pos := i
		if reversed {
			pos = len(names) - 1 - i
		}
		ticks[i] = plot.Tick{Value: float64(pos), Label: n}
	}
	return ticks
}

// CapacitySeries is one line of a capacity curve: a throughput and a
// latency at each number of users (e.g. one link latency of a sweep).
type CapacitySeries struct {
	Name         string
	Users        []float64
	CyclesPerSec []float64
	SetupP99     []float64 // nanoseconds
}

// CapacityChart draws a sweep as two panels over the number of users (log
// scale): cycles per second, and p99 set-up latency. Where throughput
// stops growing with users while latency climbs, the server (or the
// network) is saturated.
func CapacityChart(series []CapacitySeries) (*Chart, error) {
	thr := newPlot("Capacity: completed cycles per second", "users (log)", "cycles/s")
	lat := newPlot("p99 data-connection set-up latency", "users (log)", "ms")
	for _, p := range []*plot.Plot{thr, lat} {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Y.Min = 0
	}
	for i, s := range series {
		cps, p99 := make(plotter.XYs, len(s.Users)), make(plotter.XYs, len(s.Users))
		for j, u := range s.Users {
			cps[j] = plotter.XY{X: u, Y: s.CyclesPerSec[j]}
			p99[j] = plotter.XY{X: u, Y: s.SetupP99[j] / 1e6}
		}
		if err := addLine(thr, s.Name, cps, i, false); err != nil {
			return nil, err
		}
		if err := addLine(lat, s.Name, p99, i, false); err != nil {
			return nil, err
		}
	}
	return &Chart{
		Name: "capacity", Title: "Capacity curve",
		About: "Throughput and p99 set-up latency against the number of concurrent users, one line per link latency. " +
			"Throughput that stops growing while latency climbs marks saturation.",
		Panels: []*plot.Plot{thr, lat},
	}, nil
}

// PercentText formats a share for a matrix cell.
func PercentText(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) + "%" }
