package results

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// A Threshold is a pass/fail condition on a run's summary, such as
// "p99(setup)<5ms", written on the command line so that a CI job fails
// when the server under test gets slower. ParseThreshold reads one:
//
//	threshold = [ mode ":" ] metric op value
//	mode      = a mode name: pasv, port, epsv, eprt, … (default: all modes)
//	op        = "<" | "<=" | ">" | ">="
//	metric    = stat "(" quantity ")"   value: a Go duration, e.g. 5ms, 250us, 1.5s, -1ms
//	          | "errors"                value: a percentage of cycles (0.1%) or a count (10)
//	          | "before_eof"            value: a percentage of the cycles whose race gap
//	                                    was measured (2%) or a count (0)
//	          | "rate(cycles)"          value: cycles per second, e.g. 1000 or 1000/s
//	          | "rate(bytes)"           value: bytes per second with an optional unit,
//	                                    B, kB, MB, GB (powers of 1000) or KiB, MiB, GiB
//	                                    (powers of 1024), and optional "/s": 50MB/s
//	stat      = "p50" | "p90" | "p99" | "max" | "mean" | "min"
//	quantity  = "setup" | "cycle" | "race_gap"
//
// Spaces around the parts are ignored. errors counts every cycle whose
// outcome is not ok. A threshold whose metric was not measured — no cycle
// of that mode, or none that opened a data connection for p99(setup) —
// fails: a condition nothing checked must not pass a CI gate.
//
// The zero value is not a valid threshold. Thresholds are comparable with
// ==; String gives a form that parses back to an equal Threshold.
type Threshold struct {
	// Mode is the mode the condition applies to; "" means all modes.
	Mode string
	// Op is "<", "<=", ">" or ">=".
	Op string
	// Value is the bound, in the metric's unit: nanoseconds, cycles or
	// bytes per second, percent, or cycles.
	Value float64
	m     *metric
}

// ThresholdResult is the outcome of checking a Threshold.
type ThresholdResult struct {
	Threshold Threshold
	// Value is the metric's value; Measured is false when there was nothing
	// to measure, and then Pass is false too.
	Value    float64
	Measured bool
	Pass     bool
	why      string // why it was not measured
}

// maxExactDuration is the longest duration a float64 Value holds to the
// nanosecond (2^53 ns, 104 days), beyond which String would not round-trip.
const maxExactDuration = 1 << 53

var errNoOp = errors.New("no comparison: want <, <=, > or >= between metric and value")

// ParseThreshold parses s with the grammar documented on Threshold. Its
// errors are one line, quote s and say what was expected.
func ParseThreshold(s string) (Threshold, error) {
	t, err := parseThreshold(s)
	if err != nil {
		return Threshold{}, fmt.Errorf("threshold %q: %w", s, err)
	}
	return t, nil
}

func parseThreshold(s string) (Threshold, error) {
	var t Threshold
	opAt := strings.IndexAny(s, "<>")
	if opAt < 0 {
		return t, errNoOp
	}
	lhs, rhs := s[:opAt], s[opAt+1:]
	t.Op = s[opAt : opAt+1]
	if strings.HasPrefix(rhs, "=") {
		t.Op += "="
		rhs = rhs[1:]
	}
	if mode, name, ok := strings.Cut(lhs, ":"); ok {
		t.Mode = strings.TrimSpace(mode)
		if !validMode(t.Mode) {
			return t, fmt.Errorf("mode %q: want letters, digits, '-' or '_', as in pasv:p99(setup)<5ms", t.Mode)
		}
		lhs = name
	}
	name := strings.Join(strings.Fields(lhs), "")
	if lookupMetric(name, -1) == nil {
		return t, fmt.Errorf("unknown metric %q: want p50|p90|p99|max|mean|min(setup|cycle|race_gap), errors, before_eof, rate(cycles) or rate(bytes)", name)
	}
	value := strings.TrimSpace(rhs)
	var err error
	switch name {
	case "errors", "before_eof":
		kind := kindCount
		if num, ok := strings.CutSuffix(value, "%"); ok {
			kind, value = kindPercent, strings.TrimSpace(num)
		}
		t.m = lookupMetric(name, kind)
		if t.Value, err = parseNumber(value); err != nil {
			return t, fmt.Errorf("%s needs a percentage such as 0.1%% or a count such as 10: %w", name, err)
		}
	case "rate(cycles)":
		t.m = lookupMetric(name, kindRate)
		if t.Value, err = parseNumber(strings.TrimSpace(strings.TrimSuffix(value, "/s"))); err != nil {
			return t, fmt.Errorf("%s needs cycles per second such as 1000: %w", name, err)
		}
	case "rate(bytes)":
		t.m = lookupMetric(name, kindByteRate)
		if t.Value, err = parseByteRate(value); err != nil {
			return t, fmt.Errorf("%s needs bytes per second such as 50MB/s: %w", name, err)
		}
	default: // stat(quantity)
		t.m = lookupMetric(name, kindDuration)
		d, err := time.ParseDuration(value)
		if err != nil {
			return t, fmt.Errorf("%s needs a duration such as 5ms, got %q", name, value)
		}
		if d > maxExactDuration || d < -maxExactDuration {
			return t, fmt.Errorf("%s: %v is out of range (at most %v)", name, d, time.Duration(maxExactDuration))
		}
		t.Value = float64(d)
	}
	return t, nil
}

func validMode(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// parseNumber parses a decimal number: an optional sign, digits with an
// optional fraction, an optional exponent. Unlike strconv.ParseFloat alone
// it refuses "Inf", "NaN", hex and underscores, which no one writes in a
// threshold and which would not print back the same.
func parseNumber(s string) (float64, error) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for ; i < len(s) && ('0' <= s[i] && s[i] <= '9' || s[i] == '.'); i++ {
		if s[i] != '.' {
			digits++
		}
	}
	if digits == 0 {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		}
	}
	if i != len(s) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s) // out of range
	}
	return v, nil
}

// byteUnits are the units of rate(bytes), longest first so that "MiB" is
// not read as "B".
var byteUnits = []struct {
	name string
	mult float64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1},
}

func parseByteRate(s string) (float64, error) {
	s = strings.TrimSpace(strings.TrimSuffix(s, "/s"))
	mult := 1.0
	for _, u := range byteUnits {
		if num, ok := strings.CutSuffix(s, u.name); ok {
			s, mult = strings.TrimSpace(num), u.mult
			break
		}
	}
	v, err := parseNumber(s)
	if err != nil {
		return 0, err
	}
	if math.IsInf(v*mult, 0) {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return v * mult, nil
}

// String returns the threshold in its canonical form, e.g.
// "pasv:p99(setup)<5ms" or "rate(bytes)>=50MB/s".
func (t Threshold) String() string {
	if t.m == nil {
		return "(invalid threshold)"
	}
	var b strings.Builder
	if t.Mode != "" {
		b.WriteString(t.Mode + ":")
	}
	b.WriteString(t.m.name + t.Op)
	switch t.m.kind {
	case kindDuration:
		b.WriteString(time.Duration(t.Value).String())
	case kindPercent:
		b.WriteString(formatNumber(t.Value) + "%")
	case kindByteRate:
		b.WriteString(formatByteRate(t.Value))
	default:
		b.WriteString(formatNumber(t.Value))
	}
	return b.String()
}

func formatNumber(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// formatByteRate writes v in the largest decimal unit that parses back to
// exactly v, so that String round-trips.
func formatByteRate(v float64) string {
	for _, u := range []struct {
		name string
		mult float64
	}{{"GB", 1e9}, {"MB", 1e6}, {"kB", 1e3}} {
		n := v / u.mult
		if math.Abs(n) >= 1 {
			if back, err := parseNumber(formatNumber(n)); err == nil && back*u.mult == v {
				return formatNumber(n) + u.name + "/s"
			}
		}
	}
	return formatNumber(v) + "B/s"
}

// Check evaluates t against s.
func (t Threshold) Check(s *Summary) ThresholdResult {
	r := ThresholdResult{Threshold: t}
	ms, ok := s.modeStats(t.Mode)
	if !ok {
		r.why = "no cycles"
		if t.Mode != "" {
			r.why += " of mode " + t.Mode
		}
		return r
	}
	r.Value, r.Measured = t.m.value(&ms)
	if !r.Measured {
		r.why = "no cycle reached the phases it needs"
		return r
	}
	switch t.Op {
	case "<":
		r.Pass = r.Value < t.Value
	case "<=":
		r.Pass = r.Value <= t.Value
	case ">":
		r.Pass = r.Value > t.Value
	case ">=":
		r.Pass = r.Value >= t.Value
	}
	return r
}

// modeStats returns the statistics of mode, or of all modes for "" or
// AllModes, and whether there were any cycles.
func (s *Summary) modeStats(mode string) (ModeStats, bool) {
	if mode == "" || mode == AllModes {
		all := s.All()
		return all, all.Cycles > 0
	}
	a := s.modes[mode]
	if a == nil || a.cycles == 0 {
		return ModeStats{}, false
	}
	return a.stats(mode), true
}

// CheckThresholds checks every threshold against s and reports whether
// all passed.
func CheckThresholds(ts []Threshold, s *Summary) (results []ThresholdResult, pass bool) {
	pass = true
	for _, t := range ts {
		r := t.Check(s)
		results = append(results, r)
		pass = pass && r.Pass
	}
	return results, pass
}

// String returns "PASS p99(setup)<5ms: 3.210ms", with the measured value,
// or "FAIL … : not measured (…)" when there was nothing to measure.
func (r ThresholdResult) String() string {
	verdict := "FAIL"
	if r.Pass {
		verdict = "PASS"
	}
	if !r.Measured {
		return fmt.Sprintf("%s %s: not measured: %s", verdict, r.Threshold, r.why)
	}
	return fmt.Sprintf("%s %s: %s", verdict, r.Threshold, r.Threshold.m.kind.format(r.Value))
}

// WriteThresholds writes one line per result.
func WriteThresholds(w io.Writer, results []ThresholdResult) error {
	for _, r := range results {
		if _, err := fmt.Fprintln(w, r); err != nil {
			return fmt.Errorf("write thresholds: %w", err)
		}
	}
	return nil
}
