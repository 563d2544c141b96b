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
	"time"
)

// AllModes is the Mode of the ModeStats that totals every mode.
const AllModes = "all"

// modeOrder is the report order of the known data-connection modes; other
// modes follow alphabetically.
var modeOrder = []string{"pasv", "port", "epsv", "eprt", "default", "fxp"}

// A Summary aggregates Records per mode in bounded memory: counters, exact
// extremes and sums, and HDR histograms for the latency distributions, so
// its size does not grow with the number of records (about 1 MB per mode
// at most). Summaries of disjoint record sets merge exactly: merging the
// summaries of the shards of a run gives the same results as summarising
// the whole run, whatever the split or the order.
//
// The zero value is not usable; call NewSummary. A Summary is not safe for
// concurrent use.
type Summary struct {
	modes map[string]*modeAgg
}

// modeAgg is one mode's aggregate.
type modeAgg struct {
	cycles, ok, bytes int64
	outcomes          map[Outcome]int64
	first, last       time.Time // earliest Start, latest End(), in UTC
	setup, cycle, gap dist      // gap.nNeg counts 226-before-EOF cycles
	wait, intended    dist      // open model: start − intended, done + wait
}

// NewSummary returns an empty Summary.
func NewSummary() *Summary {
	return &Summary{modes: make(map[string]*modeAgg)}
}

// Add counts one record. Only the record's values are kept, so r may be
// reused afterwards.
func (s *Summary) Add(r *Record) {
	a := s.modes[r.Mode]
	if a == nil {
		a = newModeAgg()
		s.modes[r.Mode] = a
	}
	a.add(r)
}

// Merge adds o's records to s, as if each had been passed to s.Add. o is
// left unchanged; merging a Summary into itself doubles it.
func (s *Summary) Merge(o *Summary) {
	if o == s {
		o = s.clone()
	}
	for mode, oa := range o.modes {
		a := s.modes[mode]
		if a == nil {
			a = newModeAgg()
			s.modes[mode] = a
		}
		a.merge(oa)
	}
}

func (s *Summary) clone() *Summary {
	c := NewSummary()
	c.Merge(s)
	return c
}

func newModeAgg() *modeAgg { return &modeAgg{outcomes: make(map[Outcome]int64)} }

func (a *modeAgg) add(r *Record) {
	start, end := r.Start.UTC(), r.End().UTC()
	if a.cycles == 0 || start.Before(a.first) {
		a.first = start
	}
	if a.cycles == 0 || end.After(a.last) {
		a.last = end
	}
	a.cycles++
	if r.Outcome == OK {
		a.ok++
	}
	a.outcomes[r.Outcome]++
	a.bytes += r.Bytes
	if d, ok := r.SetupLatency(); ok {
		a.setup.add(int64(d))
	}
	if d, ok := r.CycleTime(); ok {
		a.cycle.add(int64(d))
	}
	if d, ok := r.RaceGap(); ok {
		a.gap.add(int64(d))
	}
	if !r.Intended.IsZero() {
		wait := max(r.Start.Sub(r.Intended), 0)
		a.wait.add(int64(wait))
		if d, ok := r.CycleTime(); ok {
			a.intended.add(int64(wait + d))
		}
	}
}

func (a *modeAgg) merge(o *modeAgg) {
	if o.cycles == 0 {
		return
	}
	if a.cycles == 0 || o.first.Before(a.first) {
		a.first = o.first
	}
	if a.cycles == 0 || o.last.After(a.last) {
		a.last = o.last
	}
	a.cycles += o.cycles
	a.ok += o.ok
	a.bytes += o.bytes
	for k, v := range o.outcomes {
		a.outcomes[k] += v
	}
	a.setup.merge(&o.setup)
	a.cycle.merge(&o.cycle)
	a.gap.merge(&o.gap)
	a.wait.merge(&o.wait)
	a.intended.merge(&o.intended)
}

// ModeStats is the summary of one mode, or of all modes (Mode AllModes).
type ModeStats struct {
	Mode     string        `json:"mode"`
	Cycles   int64         `json:"cycles"`
	OK       int64         `json:"ok"`
	Outcomes OutcomeCounts `json:"outcomes"`
	Bytes    int64         `json:"bytes"`
	// Start and End bound the window: the earliest cycle start and the
	// latest cycle end (Record.End), in UTC.
	Start  time.Time     `json:"start,omitzero"`
	End    time.Time     `json:"end,omitzero"`
	Window time.Duration `json:"window_ns"`
	// CyclesPerSec and BytesPerSec are averages over Window; 0 when the
	// window is empty.
	CyclesPerSec float64 `json:"cycles_per_sec"`
	BytesPerSec  float64 `json:"bytes_per_sec"`
	// Setup is Record.SetupLatency, Cycle is Record.CycleTime, and RaceGap
	// is the signed Record.RaceGap, each over the cycles that reached both
	// phases involved.
	Setup   LatencyStats `json:"setup_ns"`
	Cycle   LatencyStats `json:"cycle_ns"`
	RaceGap LatencyStats `json:"race_gap_ns"`
	// BeforeEOF counts the cycles whose final reply was read before the data
	// EOF (race gap < 0): the RFC 959 §5.2 race. It is a subset of
	// RaceGap.Count, which is what the text report's percentage is of.
	BeforeEOF int64 `json:"before_eof"`
	// Wait and Intended cover open-model cycles (those with an intended
	// start): Wait is start − intended, how long a due cycle waited for a
	// user-PI; Intended is the cycle time measured from the intended
	// start, which keeps a server stall in the latency of every cycle
	// that queued behind it (coordinated omission, corrected as wrk2 does).
	Wait     LatencyStats `json:"wait_ns,omitzero"`
	Intended LatencyStats `json:"cycle_from_intended_ns,omitzero"`
}

// OutcomeCounts counts cycles per outcome. It encodes as a JSON object
// listing every known outcome in the order of Outcomes, zeros included so
// that consumers can rely on the keys, followed by any other outcome with a
// non-zero count in alphabetical order.
type OutcomeCounts map[Outcome]int64

// MarshalJSON implements the order described on OutcomeCounts.
func (oc OutcomeCounts) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, o := range oc.order() {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, string(o))
		b = append(b, ':')
		b = appendInt(b, oc[o])
	}
	return append(b, '}'), nil
}

// order returns the known outcomes followed by unknown ones with a count.
func (oc OutcomeCounts) order() []Outcome {
	var other []Outcome
	for o, n := range oc {
		if n != 0 && !o.Known() {
			other = append(other, o)
		}
	}
	slices.Sort(other)
	return append(slices.Clone(Outcomes), other...)
}

func (a *modeAgg) stats(mode string) ModeStats {
	ms := ModeStats{
		Mode:     mode,
		Cycles:   a.cycles,
		OK:       a.ok,
		Outcomes: make(OutcomeCounts, len(a.outcomes)),
		Bytes:    a.bytes,
		Setup:    a.setup.stats(),
		Cycle:    a.cycle.stats(),
		RaceGap:  a.gap.stats(),
		Wait:     a.wait.stats(),
		Intended: a.intended.stats(),
	}
	for o, n := range a.outcomes {
		ms.Outcomes[o] = n
	}
	if a.cycles == 0 {
		return ms
	}
	ms.Start, ms.End = a.first, a.last
	ms.Window = a.last.Sub(a.first)
	ms.BeforeEOF = a.gap.nNeg
	if sec := ms.Window.Seconds(); sec > 0 {
		ms.CyclesPerSec = float64(a.cycles) / sec
		ms.BytesPerSec = float64(a.bytes) / sec
	}
	return ms
}

// Modes returns the statistics of each mode that has at least one cycle:
// pasv, port, epsv, eprt, default, fxp, then any other mode alphabetically.
func (s *Summary) Modes() []ModeStats {
	names := make([]string, 0, len(s.modes))
	for m := range s.modes {
		names = append(names, m)
	}
	slices.SortFunc(names, compareModes)
	out := make([]ModeStats, 0, len(names))
	for _, m := range names {
		if a := s.modes[m]; a.cycles > 0 {
			out = append(out, a.stats(m))
		}
	}
	return out
}

func compareModes(a, b string) int {
	ia, ib := slices.Index(modeOrder, a), slices.Index(modeOrder, b)
	switch {
	case ia >= 0 && ib >= 0:
		return ia - ib
	case ia >= 0:
		return -1
	case ib >= 0:
		return 1
	}
	return strings.Compare(a, b)
}

// All returns the statistics of every record whatever its mode, with Mode
// set to AllModes. It is computed by merging the modes, so it is exact in
// the same way they are.
func (s *Summary) All() ModeStats {
	all := newModeAgg()
	for _, a := range s.modes {
		all.merge(a)
	}
	return all.stats(AllModes)
}

// Report is the JSON form of a Summary, decodable with encoding/json.
type Report struct {
	Modes []ModeStats `json:"modes"`
	All   ModeStats   `json:"all"`
}

// Report returns the summary's per-mode and total statistics.
func (s *Summary) Report() Report {
	return Report{Modes: s.Modes(), All: s.All()}
}

// MarshalJSON encodes s as a Report. The output is stable: modes in report
// order, fixed field order, outcomes in the order of OutcomeCounts, and
// only integers derived from exact sums or histograms that merge exactly,
// so equal record sets give equal bytes however they were split.
func (s *Summary) MarshalJSON() ([]byte, error) {
	return json.Marshal(s.Report())
}

// WriteText writes a human-readable report: a block per mode and, when
// there is more than one, a block for all modes, with counts, throughput (MB = 10^6 bytes), and a latency table
// whose durations are rounded to 4 significant digits. The percentage of
// "226 before EOF" is of the cycles whose race gap was measured.
func (s *Summary) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	modes := s.Modes()
	if len(modes) == 0 {
		fmt.Fprintln(tw, "no cycles")
		return tw.Flush()
	}
	if len(modes) > 1 {
		modes = append(modes, s.All())
	}
	for i, ms := range modes {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		writeModeText(tw, &ms)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

func writeModeText(w io.Writer, ms *ModeStats) {
	fmt.Fprintf(w, "mode %s\n", ms.Mode)
	fmt.Fprintf(w, "  cycles %d, ok %d (%s)", ms.Cycles, ms.OK, percent(ms.OK, ms.Cycles))
	if errs := ms.failureText(); errs != "" {
		fmt.Fprintf(w, ", errors: %s", errs)
	}
	fmt.Fprintf(w, "\n  %.2f cycles/s, %.3f MB/s over %s\n",
		ms.CyclesPerSec, ms.BytesPerSec/1e6, fmtDuration(ms.Window))
	fmt.Fprintf(w, "  latency\tcount\tmin\tp50\tp90\tp99\tmax\tmean\n")
	for _, row := range []struct {
		name string
		ls   *LatencyStats
	}{{"setup", &ms.Setup}, {"cycle", &ms.Cycle}, {"race gap", &ms.RaceGap}, {"wait", &ms.Wait}, {"cycle*", &ms.Intended}} {
		ls := row.ls
		if ls.Count == 0 && (ls == &ms.Wait || ls == &ms.Intended) {
			continue // closed model: no intended start
		}
		if ls.Count == 0 {
			fmt.Fprintf(w, "  %s\t0\t-\t-\t-\t-\t-\t-\n", row.name)
			continue
		}
		fmt.Fprintf(w, "  %s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", row.name, ls.Count,
			fmtDuration(ls.Min), fmtDuration(ls.P50), fmtDuration(ls.P90),
			fmtDuration(ls.P99), fmtDuration(ls.Max), fmtDuration(ls.Mean))
	}
	fmt.Fprintf(w, "  226 before EOF: %d (%s)\n", ms.BeforeEOF, percent(ms.BeforeEOF, ms.RaceGap.Count))
	if ms.Wait.Count > 0 {
		fmt.Fprintf(w, "  (open model: wait = start − intended start; cycle* = cycle time from the intended start)\n")
	}
}

// failureText lists the outcomes other than ok that have a count, in the
// order of OutcomeCounts: "refused 1, timeout 2"; "" when there are none.
func (ms *ModeStats) failureText() string {
	var parts []string
	for _, o := range ms.Outcomes.order() {
		if n := ms.Outcomes[o]; o != OK && n != 0 {
			parts = append(parts, fmt.Sprintf("%s %d", o, n))
		}
	}
	return strings.Join(parts, ", ")
}

func percent(n, of int64) string {
	if of == 0 {
		return "-"
	}
	return strconv.FormatFloat(100*float64(n)/float64(of), 'f', 1, 64) + "%"
}

// fmtDuration formats d for people: rounded to 4 significant digits, in
// the largest of ns, µs, ms and s that keeps the integer part non-zero
// (seconds beyond 1000s keep all their integer digits), e.g. "850ns",
// "12.35µs", "1.234ms", "-3.500ms", "75.00s".
func fmtDuration(d time.Duration) string {
	v := math.Abs(float64(d))
	if v >= 1e4 {
		p := math.Pow10(int(math.Floor(math.Log10(v))) - 3)
		v = math.Round(v/p) * p
	}
	unit, scale := "ns", 1.0
	switch {
	case v >= 1e9:
		unit, scale = "s", 1e9
	case v >= 1e6:
		unit, scale = "ms", 1e6
	case v >= 1e3:
		unit, scale = "µs", 1e3
	}
	v /= scale
	prec := 0
	switch {
	case scale == 1:
	case v < 10:
		prec = 3
	case v < 100:
		prec = 2
	case v < 1000:
		prec = 1
	}
	s := strconv.FormatFloat(v, 'f', prec, 64) + unit
	if d < 0 {
		s = "-" + s
	}
	return s
}
