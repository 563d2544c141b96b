package scenario

import (
	"bytes"
	"image/png"
	"strings"
	"testing"
	"time"

	"ftpbench/loadgen"
	"ftpbench/results"
	"ftpbench/sim"
)

// TestRaceChart: the heat maps have a row per end-behaviour and a column
// per policy, with each cell's share written in it.
func TestRaceChart(t *testing.T) {
	cells, err := Race(t.Context(), RaceConfig{
		Ends:     []sim.End{{Kind: sim.EndCloseThen226}, {Kind: sim.End226BeforeFlush}},
		Policies: []loadgen.Policy{loadgen.PolicyStrict, loadgen.PolicyEager},
		Cycles:   10,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := RaceChart(cells)
	if len(c.Panels) != 2 {
		t.Fatalf("%d panels, want 2", len(c.Panels))
	}
	var svg bytes.Buffer
	if err := c.Render(&svg, "svg"); err != nil {
		t.Fatal(err)
	}
	// eager × 226-before-flush truncates every cycle: 0% ok.
	for _, want := range []string{"226-before-flush", "close-then-226", "strict", "eager", "100%", "0%"} {
		if !strings.Contains(svg.String(), want) {
			t.Errorf("race matrix SVG lacks %q", want)
		}
	}
	var pngBuf bytes.Buffer
	if err := c.Render(&pngBuf, "png"); err != nil {
		t.Fatal(err)
	}
	if img, err := png.Decode(&pngBuf); err != nil || img.Bounds().Dx() != 1200 {
		t.Fatalf("PNG: %v, %v", err, img)
	}
}

func TestSweepChart(t *testing.T) {
	points := []Point{
		{Users: 1, Latency: time.Millisecond, Stats: results.ModeStats{CyclesPerSec: 100}},
		{Users: 10, Latency: time.Millisecond, Stats: results.ModeStats{CyclesPerSec: 900}},
		{Users: 1, Latency: 10 * time.Millisecond, Stats: results.ModeStats{CyclesPerSec: 10}},
		{Users: 10, Latency: 10 * time.Millisecond, Stats: results.ModeStats{CyclesPerSec: 95}},
	}
	c, err := SweepChart(points)
	if err != nil {
		t.Fatal(err)
	}
	var svg bytes.Buffer
	if err := c.Render(&svg, "svg"); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(svg.String(), "latency 1ms"); n != 2 || !strings.Contains(svg.String(), "latency 10ms") {
		t.Errorf("legend entries: %d of latency 1ms; want one per panel and a 10ms line", n)
	}
}
