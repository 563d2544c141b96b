package scenario

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"ftpbench/results"
)

// RaceRow is one cell of the race matrix as printed: shares of its cycles
// in percent, race gap percentiles in nanoseconds.
type RaceRow struct {
	End       string  `json:"end"`
	Policy    string  `json:"policy"`
	Cycles    int64   `json:"cycles"`
	OK        float64 `json:"ok_pct"`
	Truncated float64 `json:"truncated_pct"`
	Desync    float64 `json:"desync_pct"`
	Timeout   float64 `json:"timeout_pct"`
	Other     float64 `json:"other_errors_pct"`
	// GapCount is how many cycles saw both the data EOF and a final
	// reply; BeforeEOF and the gap percentiles are over those.
	GapCount  int64   `json:"race_gap_count"`
	BeforeEOF float64 `json:"before_eof_pct"`
	GapP50    int64   `json:"race_gap_p50_ns"`
	GapP99    int64   `json:"race_gap_p99_ns"`
}

// Row computes a cell's printed row.
func (c Cell) Row() RaceRow {
	s := c.Stats
	pct := func(n int64) float64 {
		if s.Cycles == 0 {
			return 0
		}
		return 100 * float64(n) / float64(s.Cycles)
	}
	o := s.Outcomes
	r := RaceRow{
		End: c.End, Policy: c.Policy, Cycles: s.Cycles,
		OK: pct(o[results.OK]), Truncated: pct(o[results.Truncated]),
		Desync: pct(o[results.Desync]), Timeout: pct(o[results.Timeout]),
		Other:    pct(s.Cycles - o[results.OK] - o[results.Truncated] - o[results.Desync] - o[results.Timeout]),
		GapCount: s.RaceGap.Count, GapP50: int64(s.RaceGap.P50), GapP99: int64(s.RaceGap.P99),
	}
	if s.RaceGap.Count > 0 {
		r.BeforeEOF = 100 * float64(s.BeforeEOF) / float64(s.RaceGap.Count)
	}
	return r
}

var raceHeader = []string{"end", "policy", "cycles", "ok%", "truncated%", "desync%", "timeout%", "other%", "gaps", "226<EOF%", "gap p50", "gap p99"}

// WriteRaceTable prints the matrix as "text" (aligned), "csv" or "json".
// The output depends only on the cells, so a seed prints the same bytes.
func WriteRaceTable(w io.Writer, cells []Cell, format string) error {
	rows := make([]RaceRow, len(cells))
	var csvRows, textRows [][]string
	for i, c := range cells {
		r := c.Row()
		rows[i] = r
		shares := []string{r.End, r.Policy, strconv.FormatInt(r.Cycles, 10),
			pctText(r.OK), pctText(r.Truncated), pctText(r.Desync), pctText(r.Timeout), pctText(r.Other),
			strconv.FormatInt(r.GapCount, 10)}
		csvRows = append(csvRows, append(slices.Clone(shares),
			pctText(r.BeforeEOF), strconv.FormatInt(r.GapP50, 10), strconv.FormatInt(r.GapP99, 10)))
		before, p50, p99 := "-", "-", "-"
		if r.GapCount > 0 {
			before, p50, p99 = pctText(r.BeforeEOF), time.Duration(r.GapP50).String(), time.Duration(r.GapP99).String()
		}
		textRows = append(textRows, append(shares, before, p50, p99))
	}
	return writeTable(w, format, raceHeader, rows, csvRows, textRows)
}

// writeTable prints a table under header as "json" (v, indented), "csv"
// (csvRows) or "text" (textRows, aligned in columns).
func writeTable(w io.Writer, format string, header []string, v any, csvRows, textRows [][]string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write(header)
		cw.WriteAll(csvRows)
		return cw.Error()
	case "text":
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, row := range append([][]string{header}, textRows...) {
			fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
		}
		return tw.Flush()
	}
	return fmt.Errorf("format %q: want text, csv or json", format)
}

func pctText(p float64) string { return strconv.FormatFloat(p, 'f', 1, 64) }

// RaceChart draws the matrix as heat maps: the share of cycles that
// ended ok, and the share that read the final reply before the data EOF.
func RaceChart(cells []Cell) *results.Chart {
	var ends, policies []string
	index := map[[2]string]RaceRow{}
	for _, c := range cells {
		if !slices.Contains(ends, c.End) {
			ends = append(ends, c.End)
		}
		if !slices.Contains(policies, c.Policy) {
			policies = append(policies, c.Policy)
		}
		index[[2]string{c.End, c.Policy}] = c.Row()
	}
	cell := func(r, c int) RaceRow { return index[[2]string{ends[r], policies[c]}] }
	return results.MatrixChart("race-matrix", "Race matrix: server end-behaviour × client end-policy",
		"Each cell is one server behaviour (row) against one client policy (column). Top: the share of cycles that ended ok "+
			"(red: the pair loses data, desyncs or stalls). Bottom: of the cycles that saw both, the share where the final "+
			"reply came before the data EOF (grey: no such cycle).",
		ends, policies, []results.MatrixPanel{
			{Title: "ok %", Min: 0, Max: 100, GoodHigh: true, Format: results.PercentText, Value: func(r, c int) float64 { return cell(r, c).OK }},
			{Title: "226 before EOF %", Min: 0, Max: 100, Format: results.PercentText, Value: func(r, c int) float64 {
				if row := cell(r, c); row.GapCount > 0 {
					return row.BeforeEOF
				}
				return math.NaN()
			}},
		})
}
