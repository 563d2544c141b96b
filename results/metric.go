package results

import (
	"strconv"
	"time"
)

// A metric is one number read off a ModeStats. Thresholds test metrics and
// comparisons diff them, so both speak of the same quantities under the
// same names.
type metric struct {
	// name is how a threshold writes it: "p99(setup)", "rate(cycles)",
	// "errors". errors and before_eof each have a percentage and a count
	// form under one name, told apart by kind.
	name string
	// label is how a comparison table heads it.
	label string
	kind  valueKind
	// higherIsBetter is the direction in which a change is an improvement.
	higherIsBetter bool
	// value returns the metric of ms and whether it was measured at all.
	value func(ms *ModeStats) (float64, bool)
}

// valueKind is the unit of a metric's value.
type valueKind int

const (
	kindDuration valueKind = iota // nanoseconds
	kindRate                      // cycles per second
	kindByteRate                  // bytes per second
	kindPercent                   // percent of cycles
	kindCount                     // cycles
)

// unit names the unit of values of kind k in JSON output.
func (k valueKind) unit() string {
	return [...]string{"ns", "cycles/s", "bytes/s", "%", "cycles"}[k]
}

// format writes v for people, in the style of the text summary.
func (k valueKind) format(v float64) string {
	switch k {
	case kindDuration:
		return fmtDuration(time.Duration(v))
	case kindRate:
		return strconv.FormatFloat(v, 'f', 2, 64) + "/s"
	case kindByteRate:
		return strconv.FormatFloat(v/1e6, 'f', 3, 64) + " MB/s"
	case kindPercent:
		return strconv.FormatFloat(v, 'f', 2, 64) + "%"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// latencyMetric returns the metric stat(quantity), e.g. p99(setup).
func latencyMetric(stat, quantity string, get func(*LatencyStats) time.Duration, of func(*ModeStats) *LatencyStats) *metric {
	return &metric{
		name:  stat + "(" + quantity + ")",
		label: quantity + " " + stat,
		kind:  kindDuration,
		value: func(ms *ModeStats) (float64, bool) {
			ls := of(ms)
			return float64(get(ls)), ls.Count > 0
		},
	}
}

// share returns n as a percentage of of, measured when of > 0.
func share(n, of int64) (float64, bool) {
	if of == 0 {
		return 0, false
	}
	return 100 * float64(n) / float64(of), true
}

// metrics lists every metric a threshold may name, built once.
var metrics = func() []*metric {
	stats := []struct {
		name string
		get  func(*LatencyStats) time.Duration
	}{
		{"p50", func(l *LatencyStats) time.Duration { return l.P50 }},
		{"p90", func(l *LatencyStats) time.Duration { return l.P90 }},
		{"p99", func(l *LatencyStats) time.Duration { return l.P99 }},
		{"max", func(l *LatencyStats) time.Duration { return l.Max }},
		{"mean", func(l *LatencyStats) time.Duration { return l.Mean }},
		{"min", func(l *LatencyStats) time.Duration { return l.Min }},
	}
	quantities := []struct {
		name string
		of   func(*ModeStats) *LatencyStats
	}{
		{"setup", func(ms *ModeStats) *LatencyStats { return &ms.Setup }},
		{"cycle", func(ms *ModeStats) *LatencyStats { return &ms.Cycle }},
		{"race_gap", func(ms *ModeStats) *LatencyStats { return &ms.RaceGap }},
	}
	var ms []*metric
	for _, q := range quantities {
		for _, s := range stats {
			ms = append(ms, latencyMetric(s.name, q.name, s.get, q.of))
		}
	}
	return append(ms,
		&metric{name: "rate(cycles)", label: "cycles/s", kind: kindRate, higherIsBetter: true,
			value: func(ms *ModeStats) (float64, bool) { return ms.CyclesPerSec, ms.Window > 0 }},
		&metric{name: "rate(bytes)", label: "bytes/s", kind: kindByteRate, higherIsBetter: true,
			value: func(ms *ModeStats) (float64, bool) { return ms.BytesPerSec, ms.Window > 0 }},
		&metric{name: "errors", label: "errors %", kind: kindPercent,
			value: func(ms *ModeStats) (float64, bool) { return share(ms.Cycles-ms.OK, ms.Cycles) }},
		&metric{name: "errors", label: "errors", kind: kindCount,
			value: func(ms *ModeStats) (float64, bool) { return float64(ms.Cycles - ms.OK), ms.Cycles > 0 }},
		&metric{name: "before_eof", label: "226 before EOF %", kind: kindPercent,
			value: func(ms *ModeStats) (float64, bool) { return share(ms.BeforeEOF, ms.RaceGap.Count) }},
		&metric{name: "before_eof", label: "226 before EOF", kind: kindCount,
			value: func(ms *ModeStats) (float64, bool) { return float64(ms.BeforeEOF), ms.Cycles > 0 }},
	)
}()

// lookupMetric returns the metric called name whose kind is kind, or when
// kind is -1 the first called name; nil when there is none.
func lookupMetric(name string, kind valueKind) *metric {
	for _, m := range metrics {
		if m.name == name && (kind < 0 || m.kind == kind) {
			return m
		}
	}
	return nil
}
