package results

import (
	"bytes"
	"encoding/xml"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot/plotter"
)

func analyze(recs []Record) *Analysis {
	a := NewAnalysis()
	for i := range recs {
		a.Add(&recs[i])
	}
	return a
}

func fixtureCharts(t *testing.T) []*Chart {
	t.Helper()
	charts, err := analyze(fixtureRecords()).Charts()
	if err != nil {
		t.Fatal(err)
	}
	return charts
}

// TestGoldenChartsSVG pins the SVG of every chart of the fixture: the
// series, the binning and the axes all show in it. Run with -update after
// an intended change and look at the new files in a browser.
func TestGoldenChartsSVG(t *testing.T) {
	charts := fixtureCharts(t)
	var names []string
	for _, c := range charts {
		names = append(names, c.Name)
		var buf bytes.Buffer
		if err := c.Render(&buf, "svg"); err != nil {
			t.Fatal(err)
		}
		if err := xml.Unmarshal(buf.Bytes(), new(struct{})); err != nil {
			t.Errorf("%s.svg is not well-formed XML: %v", c.Name, err)
		}
		golden(t, filepath.Join("charts", c.Name+".svg"), buf.Bytes())
	}
	if want := []string{"throughput", "setup", "race-gap", "cycle-time", "failures"}; !slices.Equal(names, want) {
		t.Errorf("charts %q, want %q", names, want)
	}
}

// TestChartsPNG checks the PNGs structurally: they decode, have the
// chart's size at pngDPI, are not blank, and have pixels of the palette's
// colours (the lines were drawn, not only the axes).
func TestChartsPNG(t *testing.T) {
	for _, c := range fixtureCharts(t) {
		t.Run(c.Name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := c.Render(&buf, "png"); err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(&buf)
			if err != nil {
				t.Fatal(err)
			}
			w, h := c.Size()
			wantW, wantH := int(math.Round(w.Dots(pngDPI))), int(math.Round(h.Dots(pngDPI)))
			if b := img.Bounds(); b.Dx() != wantW || b.Dy() != wantH {
				t.Errorf("size %dx%d, want %dx%d", b.Dx(), b.Dy(), wantW, wantH)
			}
			st := pixelStats(img, palette[:6])
			if st.distinct < 3 {
				t.Errorf("%d distinct colours: blank image", st.distinct)
			}
			if st.matching < 100 {
				t.Errorf("%d pixels of the palette's colours, want drawn lines", st.matching)
			}
		})
	}
}

type imageStats struct{ distinct, matching int }

// pixelStats counts img's distinct colours (up to 1000) and its pixels
// within a small distance of one of want.
func pixelStats(img image.Image, want []color.RGBA) imageStats {
	seen := map[color.RGBA]bool{}
	var st imageStats
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			if len(seen) < 1000 {
				seen[c] = true
			}
			for _, w := range want {
				if absDiff(c.R, w.R)+absDiff(c.G, w.G)+absDiff(c.B, w.B) < 30 {
					st.matching++
					break
				}
			}
		}
	}
	st.distinct = len(seen)
	return st
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func TestSaveCharts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "dir")
	charts := fixtureCharts(t)
	paths, err := SaveCharts(dir, charts)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != len(charts)*len(ChartFormats) {
		t.Fatalf("wrote %d files, want %d", len(paths), len(charts)*len(ChartFormats))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(paths) {
		t.Errorf("%d entries in %s (temporary files left?), want %d", len(entries), dir, len(paths))
	}
	if err := (&Chart{Name: "x"}).Render(io.Discard, "gif"); err == nil || !strings.Contains(err.Error(), `"gif"`) {
		t.Errorf("unknown format: err %v", err)
	}
}

func TestNoRecordsNoCharts(t *testing.T) {
	charts, err := NewAnalysis().Charts()
	if err != nil || len(charts) != 0 {
		t.Errorf("Charts() of nothing = %d charts, %v", len(charts), err)
	}
}

// TestChartsOfDegenerateRuns: runs with nothing to draw in a chart still
// render, and say why in the title.
func TestChartsOfDegenerateRuns(t *testing.T) {
	for _, tc := range []struct {
		name  string
		recs  []Record
		chart string
		says  string
	}{
		{"one instant", []Record{{Mode: "pasv", Start: base, T: NoPhases, Outcome: Canceled}}, "throughput", "run too short"},
		{"no data connection", []Record{{Mode: "pasv", Start: base, T: phases(Done, time.Second), Outcome: Refused}}, "setup", "no cycle opened"},
		{"no race gap", []Record{{Mode: "pasv", Start: base, T: phases(Done, time.Second), Outcome: Refused}}, "race-gap", "no cycle reached"},
		{"no failures", []Record{{Mode: "pasv", Start: base, T: full(time.Millisecond, 2*time.Millisecond, 3*time.Millisecond), Outcome: OK}}, "failures", "none"},
		{"nothing finished", []Record{{Mode: "pasv", Start: base, T: NoPhases, Outcome: Canceled}}, "cycle-time", "no cycle finished"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			charts, err := analyze(tc.recs).Charts()
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(charts, func(c *Chart) bool { return c.Name == tc.chart })
			if i < 0 {
				t.Fatalf("no chart %s", tc.chart)
			}
			c := charts[i]
			if !strings.Contains(c.Panels[0].Title.Text, tc.says) {
				t.Errorf("title %q does not say %q", c.Panels[0].Title.Text, tc.says)
			}
			for _, format := range ChartFormats {
				if err := c.Render(io.Discard, format); err != nil {
					t.Errorf("%s: %v", format, err)
				}
			}
		})
	}
}

// TestRaceGapHistogram: the bins add up to the cycles, zero is a bin edge,
// the negative side holds exactly the 226-before-EOF cycles, and the
// legend says how many there were.
func TestRaceGapHistogram(t *testing.T) {
	var recs []Record
	us := time.Microsecond
	for i, gap := range []time.Duration{-300 * us, -20 * us, 0, 0, 10 * us, 40 * us, 90 * us, 200 * us, 500 * us} {
		recs = append(recs, Record{Mode: "pasv", Start: base.Add(time.Duration(i) * time.Millisecond),
			T: full(time.Millisecond, time.Millisecond+gap, 2*time.Millisecond), Outcome: OK})
	}
	a := analyze(recs)
	g := &a.Summary.modes["pasv"].gap
	lo, hi, width := gapBins(g)
	bins := int(math.Round((hi - lo) / width))
	if bins < raceGapBins || bins > raceGapBins+2 {
		t.Errorf("%d bins, want about %d", bins, raceGapBins)
	}
	zero := -lo / width
	if math.Abs(zero-math.Round(zero)) > 1e-9 {
		t.Errorf("zero is %v bins from lo: not an edge", zero)
	}
	var total, negative float64
	for b, c := range binCounts(g, lo, width, bins) {
		total += c
		if b < int(math.Round(zero)) {
			negative += c
		}
	}
	if total != 9 || negative != 2 {
		t.Errorf("bins hold %v cycles, %v of them left of zero; want 9 and 2", total, negative)
	}
	c, err := a.raceGapChart()
	if err != nil {
		t.Fatal(err)
	}
	var svg bytes.Buffer
	if err := c.Render(&svg, "svg"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(svg.String(), "226 before EOF: 2 of 9 (22.2%)") {
		t.Error("the legend does not count the 226-before-EOF cycles")
	}
}

// TestGapBinsOneSided: with no negative gap, the negative side still
// shows (empty), and the other way round.
func TestGapBinsOneSided(t *testing.T) {
	for _, tc := range []struct {
		name string
		gaps []int64
	}{{"all positive", []int64{100, 2000}}, {"all negative", []int64{-100, -2000}}, {"all zero", []int64{0, 0}}} {
		var d dist
		for _, v := range tc.gaps {
			d.add(v)
		}
		lo, hi, _ := gapBins(&d)
		if !(lo < 0 && hi > 0) {
			t.Errorf("%s: range [%v, %v] does not straddle zero", tc.name, lo, hi)
		}
	}
}

func TestSetupECDF(t *testing.T) {
	var recs []Record
	for i := range 1000 {
		recs = append(recs, Record{Mode: "port", Start: base,
			T: phases(SetupSent, time.Duration(0), DataOpen, time.Duration(i)*time.Microsecond, Done, time.Second), Outcome: OK})
	}
	d := &analyze(recs).Summary.modes["port"].setup
	pts := ecdf(d)
	if len(pts) > 520 {
		t.Errorf("%d points, want at most ~500", len(pts))
	}
	if pts[0].Y != 0 || pts[len(pts)-1].Y != 1 || pts[len(pts)-1].X != float64(999*time.Microsecond) {
		t.Errorf("ECDF runs from %v to %v, want from 0 to (999µs, 1)", pts[0], pts[len(pts)-1])
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].X < pts[i-1].X || pts[i].Y < pts[i-1].Y {
			t.Fatalf("ECDF not monotone at %d: %v after %v", i, pts[i], pts[i-1])
		}
	}
	// F(500µs) is about a half: the step at or before it.
	i, _ := slices.BinarySearchFunc(pts, float64(500*time.Microsecond), func(p plotter.XY, x float64) int {
		return cmpFloat(p.X, x)
	})
	if f := pts[max(i-1, 0)].Y; math.Abs(f-0.5) > 0.02 {
		t.Errorf("F(500µs) = %v, want about 0.5", f)
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestTimeTicks(t *testing.T) {
	at := func(s string) float64 {
		tm, err := time.Parse("15:04:05.000", s)
		if err != nil {
			t.Fatal(err)
		}
		midnight := base.Truncate(24 * time.Hour)
		return unixSeconds(midnight.Add(tm.Sub(time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC))))
	}
	for _, tc := range []struct {
		from, to string
		want     []string
	}{
		{"12:00:00.130", "12:00:00.900", []string{"12:00:00.2", "12:00:00.3", "12:00:00.4", "12:00:00.5", "12:00:00.6", "12:00:00.7", "12:00:00.8", "12:00:00.9"}},
		{"12:00:07.300", "12:00:41.000", []string{"12:00:10", "12:00:15", "12:00:20", "12:00:25", "12:00:30", "12:00:35", "12:00:40"}},
		{"12:00:00.000", "12:00:00.030", []string{"12:00:00.000", "12:00:00.005", "12:00:00.010", "12:00:00.015", "12:00:00.020", "12:00:00.025", "12:00:00.030"}},
		{"11:00:00.000", "13:00:00.000", []string{"11:00:00", "11:30:00", "12:00:00", "12:30:00", "13:00:00"}},
	} {
		var got []string
		for _, tk := range (timeTicks{}).Ticks(at(tc.from), at(tc.to)) {
			got = append(got, tk.Label)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s–%s: ticks %q, want %q", tc.from, tc.to, got, tc.want)
		}
	}
}
