package results

import (
	"bytes"
	"strings"
	"testing"
)

// TestStageLinesOnTimeCharts: the stage boundaries of a run's sidecar are
// drawn, labelled, on the time charts and on no other chart.
func TestStageLinesOnTimeCharts(t *testing.T) {
	recs := fixtureRecords()
	a := analyze(recs)
	mid := a.series.first.Add(a.series.last.Sub(a.series.first) / 2)
	a.Sources = []Source{{Path: "r.jsonl", Info: &RunInfo{Stages: []StageMark{{At: mid, Label: "→ 4242 users"}}}}}
	charts, err := a.Charts()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range charts {
		var buf bytes.Buffer
		if err := c.Render(&buf, "svg"); err != nil {
			t.Fatal(err)
		}
		timeChart := c.Name == "throughput" || c.Name == "cycle-time" || c.Name == "failures"
		if got := strings.Contains(buf.String(), "4242 users"); got != timeChart {
			t.Errorf("%s: stage label drawn = %v, want %v", c.Name, got, timeChart)
		}
	}
}
