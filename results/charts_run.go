package results

import (
	"fmt"
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Charts returns the charts of the analysed records, in report order:
// throughput, setup latency ECDF, race-gap histogram, cycle time over time
// and failures over time. It returns none when there are no records.
func (a *Analysis) Charts() ([]*Chart, error) {
	if len(a.series.slots) == 0 {
		return nil, nil
	}
	var charts []*Chart
	for _, build := range []func() (*Chart, error){
		a.throughputChart, a.setupChart, a.raceGapChart, a.cycleTimeChart, a.failuresChart,
	} {
		c, err := build()
		if err != nil {
			return nil, fmt.Errorf("chart: %w", err)
		}
		charts = append(charts, c)
	}
	return charts, nil
}

// modes returns the modes in report order. Charts colour a mode by its
// index here, so it has the same colour in every chart.
func (a *Analysis) modes() []string { return a.series.modeNames() }

// timePlot returns a plot whose X axis is the run's time span, with the
// stage boundaries of the runs' sidecars drawn across it.
func (a *Analysis) timePlot(title, yLabel string) *plot.Plot {
	p := newPlot(title, "", yLabel)
	setTimeAxis(p, a.series.first, a.series.last)
	p.Y.Min = 0
	for _, src := range a.Sources {
		if src.Info == nil {
			continue
		}
		for _, m := range src.Info.Stages {
			if x := unixSeconds(m.At); x >= p.X.Min && x <= p.X.Max {
				p.Add(stageLine{x: x, label: m.Label})
			}
		}
	}
	return p
}

// stageLine is a vertical dashed line across a time plot at a stage
// boundary, labelled at the top with what the stage ramps to.
type stageLine struct {
	x     float64
	label string
}

// Plot implements plot.Plotter.
func (s stageLine) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, _ := plt.Transforms(&c)
	x := trX(s.x)
	style := draw.LineStyle{Color: color.Gray{Y: 110}, Width: vg.Points(0.75), Dashes: []vg.Length{vg.Points(3), vg.Points(3)}}
	c.StrokeLine2(style, x, c.Min.Y, x, c.Max.Y)
	font := plt.Title.TextStyle
	font.Font.Size = vg.Points(8)
	font.Color = color.Gray{Y: 90}
	font.XAlign, font.YAlign = draw.XLeft, draw.YTop
	c.FillText(font, vg.Point{X: x + vg.Points(2), Y: c.Max.Y}, s.label)
}

// noData marks p as empty: it says why in the title and gives the Y axis
// (and the X axis, unless it is already set) a range to draw.
func noData(p *plot.Plot, why string) {
	p.Title.Text += " — " + why
	if math.IsInf(p.X.Min, 0) {
		p.X.Min, p.X.Max = 0, 1
	}
	p.Y.Min, p.Y.Max = 0, 1
}

func (a *Analysis) throughputChart() (*Chart, error) {
	width := a.series.width
	cyc := a.timePlot("Completed cycles per second", "cycles/s")
	mbs := a.timePlot("Data throughput", "MB/s (10⁶ bytes/s)")
	buckets := a.series.rateSlots()
	for i, m := range a.modes() {
		c, b := a.series.rates(m, buckets)
		if err := addLine(cyc, m, c, i, false); err != nil {
			return nil, err
		}
		if err := addLine(mbs, m, b, i, false); err != nil {
			return nil, err
		}
	}
	if len(buckets) == 0 {
		noData(cyc, "run too short")
		noData(mbs, "run too short")
	}
	return &Chart{
		Name:  "throughput",
		Title: "Throughput over time",
		About: fmt.Sprintf("Cycles completed and bytes moved per second, one line per mode, in %v buckets by the time each cycle ended. "+
			"A bucket's rate is its count over the part of it the run covers; slivers under half a bucket at either end are left out. "+
			"A dip that all modes share points at the server or the network, one mode alone at its data-connection set-up.", width),
		Panels: []*plot.Plot{cyc, mbs},
	}, nil
}

func (a *Analysis) setupChart() (*Chart, error) {
	p := newPlot("Data-connection set-up latency (ECDF)", "", "fraction of cycles ≤ x")
	chart := &Chart{
		Name:  "setup",
		Title: "Set-up latency",
		About: "Empirical cumulative distribution of the data-connection set-up latency (from PASV/PORT sent to data connection open) per mode, on a log axis: " +
			"the height at x is the share of cycles that had their data connection within x. A curve to the right is slower; a long flat tail before 1 is the slow few. " +
			"Drawn from the summary's HDR histograms (3 significant digits), so it agrees with the percentiles in the tables.",
		Panels: []*plot.Plot{p},
	}
	type curve struct {
		mode string
		idx  int
		pts  plotter.XYs
	}
	var curves []curve
	var hi float64
	for i, m := range a.modes() {
		d := &a.Summary.modes[m].setup
		if d.n == 0 {
			continue
		}
		curves = append(curves, curve{m, i, ecdf(d)})
		hi = max(hi, float64(d.max))
	}
	if len(curves) == 0 {
		noData(p, "no cycle opened a data connection")
		return chart, nil
	}
	unit, div := durationUnit(hi)
	// A log axis cannot show 0, which virtual time produces: zero
	// latencies are drawn at the axis' left end, the smallest positive
	// latency (or 1ns when there is none).
	floor := math.Inf(1)
	for _, c := range curves {
		for _, pt := range c.pts {
			if pt.X > 0 {
				floor = min(floor, pt.X)
			}
		}
	}
	if math.IsInf(floor, 1) {
		floor = 1
	}
	for _, c := range curves {
		for j := range c.pts {
			c.pts[j].X = max(c.pts[j].X, floor) / div
		}
		l, err := plotter.NewLine(c.pts)
		if err != nil {
			return nil, fmt.Errorf("setup ECDF %s: %w", c.mode, err)
		}
		l.StepStyle = plotter.PostStep
		l.Color = paletteColor(c.idx)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(c.mode, l)
	}
	p.X.Label.Text = "set-up latency, data_open − setup_sent (" + unit + ", log scale)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.X.Min, p.X.Max = floor/div, max(hi, floor*10)/div
	p.Y.Min, p.Y.Max = 0, 1
	return chart, nil
}

// ecdf returns the empirical CDF of d as points for a PostStep line: at
// each x, the fraction of values ≤ x. Histogram buckets closer together
// than 1/ecdfSteps of the log range are drawn as one step, at the first of
// them, so a curve has at most about ecdfSteps steps whatever the data; a
// step is drawn at most that far to the left of where the exact ECDF
// steps.
func ecdf(d *dist) plotter.XYs {
	const ecdfSteps = 500
	lo := max(float64(d.min), 1)
	ratio := math.Pow(max(float64(d.max), lo)/lo, 1.0/ecdfSteps)
	var pts plotter.XYs
	var cum int64
	last := math.Inf(-1)
	d.eachBucket(func(v, n int64) {
		cum += n
		x, y := float64(v), float64(cum)/float64(d.n)
		if len(pts) > 0 && x < last*ratio && cum < d.n {
			pts[len(pts)-1].Y = y // merge into the previous step
			return
		}
		if len(pts) == 0 {
			pts = append(pts, plotter.XY{X: x, Y: 0}) // the rise at the first value
		}
		pts = append(pts, plotter.XY{X: x, Y: y})
		last = x
	})
	return pts
}

// eachBucket calls fn for each non-empty histogram bucket of d in
// ascending signed order, with the bucket's value as quantile reports it
// (its far end from zero, clamped to [min, max]) and its count.
func (d *dist) eachBucket(fn func(v, n int64)) {
	clamp := func(v int64) int64 { return min(max(v, d.min), d.max) }
	if d.neg != nil {
		bars := d.neg.Distribution()
		for _, b := range slices.Backward(bars) {
			if b.Count > 0 {
				fn(clamp(-b.To), b.Count)
			}
		}
	}
	if d.pos != nil {
		for _, b := range d.pos.Distribution() {
			if b.Count > 0 {
				fn(clamp(b.To), b.Count)
			}
		}
	}
}

// raceGapBins is about the number of bins of the race-gap histogram.
const raceGapBins = 60

func (a *Analysis) raceGapChart() (*Chart, error) {
	p := newPlot("Race gap: final reply − data EOF", "", "cycles per bin")
	var all dist
	for _, m := range a.modes() {
		all.merge(&a.Summary.modes[m].gap)
	}
	chart := &Chart{
		Name:  "race-gap",
		Title: "Race gap (226 vs data EOF)",
		About: "Histogram of the signed race gap, t(final reply read) − t(data EOF read), per mode. Left of the zero line (shaded) the 226 arrived before the EOF: " +
			"the RFC 959 §5.2 race, where a client that acts on the 226 at once can lose data. The range spans the 1st to 99th percentile of all modes (and zero); " +
			"gaps beyond it are counted in the end bins.",
		Panels: []*plot.Plot{p},
	}
	if all.n == 0 {
		noData(p, "no cycle reached both EOF and the final reply")
		return chart, nil
	}
	lo, hi, binWidth := gapBins(&all)
	bins := int(math.Round((hi - lo) / binWidth))
	unit, div := durationUnit(max(-lo, hi))
	var ymax float64
	var lines []*plotter.Line
	var names []string
	for i, m := range a.modes() {
		g := &a.Summary.modes[m].gap
		if g.n == 0 {
			continue
		}
		counts := binCounts(g, lo, binWidth, bins)
		pts := plotter.XYs{{X: lo / div, Y: 0}}
		for b, c := range counts {
			pts = append(pts, plotter.XY{X: (lo + float64(b)*binWidth) / div, Y: c})
			ymax = max(ymax, c)
		}
		pts = append(pts, plotter.XY{X: hi / div, Y: counts[bins-1]}, plotter.XY{X: hi / div, Y: 0})
		l, err := plotter.NewLine(pts)
		if err != nil {
			return nil, fmt.Errorf("race gap %s: %w", m, err)
		}
		l.StepStyle = plotter.PostStep
		l.Color = paletteColor(i)
		l.Width = vg.Points(1.5)
		lines = append(lines, l)
		names = append(names, m)
	}
	ymax *= 1.1
	shade, err := plotter.NewPolygon(plotter.XYs{{X: lo / div, Y: 0}, {X: 0, Y: 0}, {X: 0, Y: ymax}, {X: lo / div, Y: ymax}})
	if err != nil {
		return nil, fmt.Errorf("race gap shading: %w", err)
	}
	shade.Color = color.NRGBA{R: 0xD5, G: 0x5E, A: 0x30}
	shade.LineStyle.Width = 0
	zero, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 0, Y: ymax}})
	if err != nil {
		return nil, fmt.Errorf("race gap zero line: %w", err)
	}
	zero.Color = color.Black
	zero.Width = vg.Points(1)
	p.Add(shade, zero) // first, so that the histograms are drawn over them
	for i, l := range lines {
		p.Add(l)
		p.Legend.Add(names[i], l)
	}
	p.Legend.Add(fmt.Sprintf("226 before EOF: %d of %d (%s)", all.nNeg, all.n, percent(all.nNeg, all.n)), shade)
	p.X.Label.Text = "race gap (" + unit + "); negative: 226 read before EOF"
	p.X.Min, p.X.Max = lo/div, hi/div
	p.Y.Min, p.Y.Max = 0, ymax
	return chart, nil
}

// gapBins chooses the race-gap histogram's range [lo, hi] and bin width
// (in ns) for the distribution all: about raceGapBins bins over the 1st to
// 99th percentile and zero, with zero on a bin edge so that no bin holds
// both 226-before-EOF cycles and others. When one side of zero is empty it
// still gets a tenth of the range, so that the shaded "before EOF" side is
// always in view.
func gapBins(all *dist) (lo, hi, width float64) {
	lo, hi = float64(min(all.quantile(1), 0)), float64(max(all.quantile(99), 0))
	switch {
	case lo == 0 && hi == 0:
		lo, hi = -1000, 1000
	case lo == 0:
		lo = -hi / 10
	case hi == 0:
		hi = -lo / 10
	}
	width = (hi - lo) / raceGapBins
	return math.Floor(lo/width) * width, math.Ceil(hi/width) * width, width
}

// binCounts counts d's values in bins of width from lo; values beyond the
// ends count in the end bins.
func binCounts(d *dist, lo, width float64, bins int) []float64 {
	counts := make([]float64, bins)
	d.eachBucket(func(v, n int64) {
		b := int(math.Floor((float64(v) - lo) / width))
		counts[min(max(b, 0), bins-1)] += float64(n)
	})
	return counts
}

func (a *Analysis) cycleTimeChart() (*Chart, error) {
	p := a.timePlot(fmt.Sprintf("Cycle time per %v bucket: p50 (solid) and p99 (dashed)", a.series.width), "")
	type lines struct{ p50, p99 plotter.XYs }
	byMode := make(map[string]lines)
	var hi float64
	points := 0
	for _, m := range a.modes() {
		p50, p99 := a.series.cycleTimes(m)
		byMode[m] = lines{p50, p99}
		points += len(p99)
		for _, pt := range p99 {
			hi = max(hi, pt.Y)
		}
	}
	unit, div := durationUnit(hi)
	p.Y.Label.Text = "cycle time (" + unit + ")"
	for i, m := range a.modes() {
		if err := addLine(p, m+" p50", scaleY(byMode[m].p50, div), i, false); err != nil {
			return nil, err
		}
		if err := addLine(p, m+" p99", scaleY(byMode[m].p99, div), i, true); err != nil {
			return nil, err
		}
	}
	if points == 0 {
		noData(p, "no cycle finished")
	}
	return &Chart{
		Name:  "cycle-time",
		Title: "Cycle time over time",
		About: fmt.Sprintf("Median and 99th percentile of the cycle time (PASV/PORT to done) of the cycles that ended in each %v bucket, per mode. "+
			"Computed exactly over the bucket's cycle times while there are at most %d of them per mode, and over a uniform random sample of %d when there are more. "+
			"A p99 that climbs while the p50 holds is queueing or a slow few; both climbing is saturation.", a.series.width, reservoirSize, reservoirSize),
		Panels: []*plot.Plot{p},
	}, nil
}

func (a *Analysis) failuresChart() (*Chart, error) {
	p := a.timePlot("Failed cycles by outcome", fmt.Sprintf("failed cycles per %v bucket", a.series.width))
	outcomes, counts := a.series.failures()
	for i, o := range outcomes {
		if err := addLine(p, string(o), counts[i], i, false); err != nil {
			return nil, err
		}
	}
	if len(outcomes) == 0 {
		noData(p, "none")
	}
	return &Chart{
		Name:  "failures",
		Title: "Failures over time",
		About: fmt.Sprintf("Cycles that did not end ok, per outcome (truncated, refused, timeout, reset, …), counted in %v buckets by the time they ended. "+
			"Failures that start together with a throughput dip are the server refusing or dropping; canceled cycles at the end are the run being stopped.", a.series.width),
		Panels: []*plot.Plot{p},
	}, nil
}
