package loadgen

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Pacer schedules an open-model run: when each cycle is due, whatever
// happened to the ones before it. Due times do not move when the server
// slows down; cycles that start late keep their due time as the record's
// intended start, which is how a slow server shows in corrected
// latencies instead of silently lowering the load (coordinated omission,
// as wrk2 corrects it).
type Pacer interface {
	// Due returns when cycle n (counting from 0) is due, as an offset
	// from the start of the run, and false when the schedule has no
	// cycle n.
	Due(n int64) (time.Duration, bool)
	String() string
}

// Stage is one leg of a ramp: the rate (or, in the closed model, the
// number of users) moves linearly from where the previous stage left it
// to Target over Duration. A zero Duration is a step.
type Stage struct {
	Duration time.Duration
	Target   float64
}

// StagesPacer is a piecewise-linear rate: it starts at Start cycles/s
// and follows Stages; after the last stage the schedule ends, unless
// Stages is empty, when the rate stays at Start for ever (a constant
// pacer). Constant, linear ramps and steps are all special cases.
//
// Cycle n is due at the instant t where the number of cycles the rate
// has called for, ∫₀ᵗ rate, reaches n. Within a stage the rate is
// r(t) = a + b·t, so the integral is a·t + b·t²/2 and t solves that
// quadratic; due times are computed from the schedule, never accumulated,
// so they do not drift.
type StagesPacer struct {
	Start  float64 // cycles per second at time 0
	Stages []Stage
}

var _ Pacer = StagesPacer{}

// ConstantPacer returns a pacer of rate cycles per second, for ever.
func ConstantPacer(rate float64) StagesPacer { return StagesPacer{Start: rate} }

// Due implements Pacer.
func (p StagesPacer) Due(n int64) (time.Duration, bool) {
	x := float64(n)
	if len(p.Stages) == 0 {
		if p.Start <= 0 {
			return 0, false
		}
		return seconds(x / p.Start), true
	}
	var at time.Duration
	r0 := p.Start
	for _, s := range p.Stages {
		d := s.Duration.Seconds()
		hits := (r0 + s.Target) / 2 * d
		if x < hits {
			return at + seconds(solveRamp(r0, (s.Target-r0)/d, x)), true
		}
		x -= hits
		at += s.Duration
		r0 = s.Target
	}
	return 0, false
}

// solveRamp returns the t ≥ 0 at which a·t + b·t²/2 = x.
func solveRamp(a, b, x float64) float64 {
	if x <= 0 {
		return 0
	}
	if b == 0 || math.IsInf(b, 0) || math.IsNaN(b) {
		return x / a
	}
	disc := a*a + 2*b*x
	if disc < 0 {
		disc = 0
	}
	// (−a + √disc)/b, rewritten to avoid cancellation when b is small.
	return 2 * x / (a + math.Sqrt(disc))
}

func seconds(s float64) time.Duration { return time.Duration(math.Round(s * float64(time.Second))) }

// String prints the pacer the way --rate and --stages take it.
func (p StagesPacer) String() string {
	s := strconv.FormatFloat(p.Start, 'g', -1, 64) + "/s"
	if len(p.Stages) > 0 {
		s += " then " + FormatStages(p.Stages)
	}
	return s
}

// ParseStages parses "30s:100,1m:500,30s:0": each leg a Go duration and a
// target (users, or cycles per second with --rate).
func ParseStages(s string) ([]Stage, error) {
	var stages []Stage
	for _, leg := range strings.Split(s, ",") {
		d, t, ok := strings.Cut(strings.TrimSpace(leg), ":")
		if !ok {
			return nil, fmt.Errorf("stage %q: want DURATION:TARGET, e.g. 30s:100", leg)
		}
		dur, err := time.ParseDuration(d)
		if err != nil || dur < 0 {
			return nil, fmt.Errorf("stage %q: duration %q: want a non-negative Go duration such as 30s or 1m", leg, d)
		}
		target, err := strconv.ParseFloat(t, 64)
		if err != nil || target < 0 || math.IsInf(target, 0) || math.IsNaN(target) {
			return nil, fmt.Errorf("stage %q: target %q: want a non-negative number", leg, t)
		}
		stages = append(stages, Stage{Duration: dur, Target: target})
	}
	return stages, nil
}

// FormatStages prints stages the way ParseStages reads them.
func FormatStages(stages []Stage) string {
	legs := make([]string, len(stages))
	for i, s := range stages {
		legs[i] = s.Duration.String() + ":" + strconv.FormatFloat(s.Target, 'g', -1, 64)
	}
	return strings.Join(legs, ",")
}

// StagesDuration is the total duration of stages.
func StagesDuration(stages []Stage) time.Duration {
	var d time.Duration
	for _, s := range stages {
		d += s.Duration
	}
	return d
}
