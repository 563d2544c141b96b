package results

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// runOf returns n cycles of each mode over one second with the given set-up
// latency and cycle time, the first failed of them failing with a timeout.
func runOf(n, failed int, setup, cycle map[string]time.Duration) *Summary {
	s := NewSummary()
	for _, mode := range []string{"pasv", "port", "epsv"} {
		if setup[mode] == 0 {
			continue
		}
		for i := range n {
			r := Record{Mode: mode, Start: base.Add(time.Duration(i) * time.Second / time.Duration(n)),
				T:     phases(SetupSent, time.Duration(0), DataOpen, setup[mode], EOF, cycle[mode]-10*time.Microsecond, Final, cycle[mode], Done, cycle[mode]),
				Bytes: 1000, Want: 1000, Outcome: OK}
			if i < failed {
				r.Outcome = Timeout
			}
			s.Add(&r)
		}
	}
	return s
}

func comparisonFixture() *Comparison {
	ms := time.Millisecond
	base := runOf(100, 0, map[string]time.Duration{"pasv": ms, "port": 2 * ms}, map[string]time.Duration{"pasv": 10 * ms, "port": 10 * ms})
	// pasv set-up 3% slower (within 5%), port's 50% slower; errors appear.
	new := runOf(100, 2, map[string]time.Duration{"pasv": 1030 * time.Microsecond, "port": 3 * ms, "epsv": ms},
		map[string]time.Duration{"pasv": 10 * ms, "port": 8 * ms, "epsv": ms})
	return Compare(base, new, 0.05)
}

func TestGoldenCompare(t *testing.T) {
	c := comparisonFixture()
	for _, f := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"compare.txt", func(b *bytes.Buffer) error { return c.WriteText(b) }},
		{"compare.md", func(b *bytes.Buffer) error { return c.WriteMarkdown(b) }},
		{"compare.json", func(b *bytes.Buffer) error { return c.WriteJSON(b) }},
	} {
		var buf bytes.Buffer
		if err := f.write(&buf); err != nil {
			t.Fatal(err)
		}
		golden(t, f.name, buf.Bytes())
	}
}

// TestCompareDirections: a change counts against the metric's direction,
// beyond the tolerance only.
func TestCompareDirections(t *testing.T) {
	c := comparisonFixture()
	want := map[string]bool{ // mode/metric → regression
		"pasv/p50(setup)":   false, // +3%, within 5%
		"port/p50(setup)":   true,  // +50%
		"port/p50(cycle)":   false, // −20%: better
		"pasv/errors":       true,  // 0% → 2%: from zero, worse
		"port/errors":       true,
		"pasv/rate(cycles)": false, // unchanged
		"pasv/before_eof":   false, // 0 → 0
	}
	seen := 0
	for _, r := range c.Rows {
		if w, ok := want[r.Mode+"/"+r.Metric]; ok {
			seen++
			if r.Regression != w {
				t.Errorf("%s %s: regression %v, want %v (%v → %v)", r.Mode, r.Metric, r.Regression, w, *r.Base, *r.New)
			}
		}
	}
	if seen != len(want) {
		t.Errorf("found %d of the %d rows", seen, len(want))
	}
	if c.Regressions() == 0 || len(c.OnlyNew) != 1 || c.OnlyNew[0] != "epsv" {
		t.Errorf("regressions %d, only in new %v", c.Regressions(), c.OnlyNew)
	}
	same := Compare(summarize(fixtureRecords()), summarize(fixtureRecords()), 0)
	if same.Regressions() != 0 {
		t.Errorf("a run compared with itself has %d regressions", same.Regressions())
	}
	var js struct{ Regressions int }
	var buf bytes.Buffer
	if err := c.WriteJSON(&buf); err != nil || json.Unmarshal(buf.Bytes(), &js) != nil || js.Regressions != c.Regressions() {
		t.Errorf("JSON regressions %d, want %d (%v)", js.Regressions, c.Regressions(), err)
	}
}

func TestParsePercent(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		err  string
	}{
		{"5%", 0.05, ""}, {"5", 0.05, ""}, {" 0.5 % ", 0.005, ""}, {"0", 0, ""},
		{"-1%", 0, "negative"}, {"five", 0, "not a number"}, {"", 0, "not a number"},
	} {
		got, err := ParsePercent(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%q = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}
