package results

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// compareMetrics are the metrics a comparison reports, in table order.
var compareMetrics = []*metric{
	lookupMetric("rate(cycles)", kindRate),
	lookupMetric("rate(bytes)", kindByteRate),
	lookupMetric("p50(setup)", kindDuration),
	lookupMetric("p99(setup)", kindDuration),
	lookupMetric("p50(cycle)", kindDuration),
	lookupMetric("p99(cycle)", kindDuration),
	lookupMetric("errors", kindPercent),
	lookupMetric("before_eof", kindPercent),
}

// A Comparison sets the summary of a new run against a baseline's, metric
// by metric and mode by mode, and flags the changes for the worse beyond a
// tolerance.
//
// A change is relative: (new − base) / |base|. It is a regression when it
// goes the wrong way — lower cycles/s or bytes/s; higher latency, error
// share or 226-before-EOF share — by more than the tolerance. A metric
// that was 0 in the baseline and is worse now (errors appearing) has no
// finite relative change and is always a regression. Metrics measured in
// only one of the runs are shown but never regressions.
type Comparison struct {
	Tolerance float64 `json:"tolerance"` // as a fraction: 0.05 is 5%
	Rows      []Delta `json:"rows"`
	// OnlyBase and OnlyNew list modes with cycles in one run only.
	OnlyBase []string `json:"only_base,omitempty"`
	OnlyNew  []string `json:"only_new,omitempty"`
}

// Delta is one metric of one mode in both runs.
type Delta struct {
	Mode   string `json:"mode"`
	Metric string `json:"metric"` // as in a threshold: rate(cycles), p99(setup), errors, …
	Unit   string `json:"unit"`
	// Base and New are nil when the metric was not measured in that run.
	Base *float64 `json:"base"`
	New  *float64 `json:"new"`
	// Change is the relative change, nil when it is not finite or a side
	// was not measured.
	Change     *float64 `json:"change"`
	Regression bool     `json:"regression"`
	m          *metric
}

// Compare compares new against base with the given tolerance (a fraction).
// Modes are those with cycles in both runs, in report order, followed by
// all modes together when either run has more than one.
func Compare(base, new *Summary, tolerance float64) *Comparison {
	c := &Comparison{Tolerance: tolerance}
	bm, nm := base.Modes(), new.Modes()
	index := func(ms []ModeStats, mode string) int {
		return slices.IndexFunc(ms, func(x ModeStats) bool { return x.Mode == mode })
	}
	var pairs [][2]ModeStats
	for _, b := range bm {
		if i := index(nm, b.Mode); i >= 0 {
			pairs = append(pairs, [2]ModeStats{b, nm[i]})
		} else {
			c.OnlyBase = append(c.OnlyBase, b.Mode)
		}
	}
	for _, n := range nm {
		if index(bm, n.Mode) < 0 {
			c.OnlyNew = append(c.OnlyNew, n.Mode)
		}
	}
	if len(bm) > 1 || len(nm) > 1 {
		pairs = append(pairs, [2]ModeStats{base.All(), new.All()})
	}
	for _, p := range pairs {
		for _, m := range compareMetrics {
			c.Rows = append(c.Rows, delta(&p[0], &p[1], m, tolerance))
		}
	}
	return c
}

func delta(base, new *ModeStats, m *metric, tolerance float64) Delta {
	d := Delta{Mode: base.Mode, Metric: m.name, Unit: m.kind.unit(), m: m}
	b, bok := m.value(base)
	n, nok := m.value(new)
	if bok {
		d.Base = &b
	}
	if nok {
		d.New = &n
	}
	if !bok || !nok {
		return d
	}
	worse := n < b
	if !m.higherIsBetter {
		worse = n > b
	}
	if b == n {
		zero := 0.0
		d.Change = &zero
		return d
	}
	if b == 0 {
		d.Regression = worse
		return d
	}
	ch := (n - b) / math.Abs(b)
	d.Change = &ch
	d.Regression = worse && math.Abs(ch) > tolerance
	return d
}

// Regressions counts the rows that are regressions.
func (c *Comparison) Regressions() int {
	n := 0
	for _, r := range c.Rows {
		if r.Regression {
			n++
		}
	}
	return n
}

// cells returns a row's mode, metric label, base, new, change and verdict
// as text.
func (d *Delta) cells() [6]string {
	val := func(v *float64) string {
		if v == nil {
			return "-"
		}
		return d.m.kind.format(*v)
	}
	change := "-"
	switch {
	case d.Change != nil:
		change = strconv.FormatFloat(100**d.Change, 'f', 1, 64) + "%"
		if *d.Change >= 0 {
			change = "+" + change
		}
	case d.Base != nil && d.New != nil:
		change = "from 0"
	}
	verdict := ""
	if d.Regression {
		verdict = "REGRESSION"
	}
	return [6]string{d.Mode, d.m.label, val(d.Base), val(d.New), change, verdict}
}

var compareHeader = [6]string{"mode", "metric", "base", "new", "change", ""}

// WriteText writes the comparison as an aligned table followed by the
// number of regressions.
func (c *Comparison) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "tolerance %s\n", formatNumber(100*c.Tolerance)+"%")
	for _, row := range append([][6]string{compareHeader}, c.cellRows()...) {
		fmt.Fprintln(tw, strings.TrimRight(strings.Join(row[:], "\t"), "\t"))
	}
	c.writeNotes(tw, "")
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}

// WriteMarkdown writes the comparison as a GitHub-flavoured Markdown table,
// regressions in bold, for pasting into a pull request.
func (c *Comparison) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Tolerance %s.\n\n", formatNumber(100*c.Tolerance)+"%")
	b.WriteString("| mode | metric | base | new | change | |\n|---|---|---:|---:|---:|---|\n")
	for _, row := range c.cellRows() {
		if row[5] != "" {
			row[5] = "**" + row[5] + "**"
		}
		b.WriteString("| " + strings.Join(row[:], " | ") + " |\n")
	}
	c.writeNotes(&b, "\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}

// WriteJSON writes the comparison as indented JSON with a "regressions"
// count.
func (c *Comparison) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	err := enc.Encode(struct {
		*Comparison
		Regressions int `json:"regressions"`
	}{c, c.Regressions()})
	if err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}

func (c *Comparison) cellRows() [][6]string {
	rows := make([][6]string, len(c.Rows))
	for i := range c.Rows {
		rows[i] = c.Rows[i].cells()
	}
	return rows
}

// writeNotes writes the modes found in one run only and the regression
// count, each line preceded by sep.
func (c *Comparison) writeNotes(w io.Writer, sep string) {
	if len(c.OnlyBase) > 0 {
		fmt.Fprintf(w, "%sonly in base: %s\n", sep, strings.Join(c.OnlyBase, ", "))
	}
	if len(c.OnlyNew) > 0 {
		fmt.Fprintf(w, "%sonly in new: %s\n", sep, strings.Join(c.OnlyNew, ", "))
	}
	fmt.Fprintf(w, "%sregressions: %d\n", sep, c.Regressions())
}

// ParsePercent parses a tolerance such as "5%" or "5" (both five percent)
// into a fraction (0.05). It must be finite and not negative.
func ParsePercent(s string) (float64, error) {
	v, err := parseNumber(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%")))
	if err != nil {
		return 0, fmt.Errorf("want a percentage such as 5%%: %w", err)
	}
	if v < 0 {
		return 0, fmt.Errorf("%q: a tolerance cannot be negative", s)
	}
	return v / 100, nil
}
