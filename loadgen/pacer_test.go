package loadgen

import (
	"strings"
	"testing"
	"time"
)

// countDue counts the cycles a pacer schedules in [from, to).
func countDue(p Pacer, from, to time.Duration) int {
	n := 0
	for i := int64(0); ; i++ {
		at, ok := p.Due(i)
		if !ok || at >= to {
			return n
		}
		if at >= from {
			n++
		}
	}
}

func TestStagesPacerCounts(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		name     string
		p        StagesPacer
		from, to time.Duration
		want     int
	}{
		{"constant 100/s, first second", ConstantPacer(100), 0, s, 100},
		{"constant 100/s, 3rd second", ConstantPacer(100), 2 * s, 3 * s, 100},
		{"constant 0.5/s over 10 s", ConstantPacer(0.5), 0, 10 * s, 5},
		// 0→100/s over 10 s: ∫ = 100·t²/20 → 5 by 1 s, 500 by 10 s.
		{"ramp, first second", StagesPacer{Stages: []Stage{{10 * s, 100}}}, 0, s, 5},
		{"ramp, whole", StagesPacer{Stages: []Stage{{10 * s, 100}}}, 0, time.Hour, 500},
		{"ramp, last second", StagesPacer{Stages: []Stage{{10 * s, 100}}}, 9 * s, 10 * s, 95},
		// Steps: 10/s for 2 s, then a jump to 50/s for 2 s.
		{"steps", StagesPacer{Start: 10, Stages: []Stage{{2 * s, 10}, {0, 50}, {2 * s, 50}}}, 0, time.Hour, 120},
		{"steps, second leg", StagesPacer{Start: 10, Stages: []Stage{{2 * s, 10}, {0, 50}, {2 * s, 50}}}, 2 * s, 3 * s, 50},
		// Ramp down 100→0 over 2 s: 100 cycles, front-loaded.
		{"ramp down", StagesPacer{Start: 100, Stages: []Stage{{2 * s, 0}}}, 0, time.Hour, 100},
		{"ramp down, first half", StagesPacer{Start: 100, Stages: []Stage{{2 * s, 0}}}, 0, s, 75},
		{"zero rate", ConstantPacer(0), 0, time.Hour, 0},
	} {
		if got := countDue(tc.p, tc.from, tc.to); got != tc.want {
			t.Errorf("%s: %d cycles in [%v, %v), want %d", tc.name, got, tc.from, tc.to, tc.want)
		}
	}
}

func TestStagesPacerMonotone(t *testing.T) {
	p := StagesPacer{Start: 3, Stages: []Stage{{time.Second, 300}, {0, 10}, {5 * time.Second, 10}, {time.Second, 1000}, {2 * time.Second, 0}}}
	prev := time.Duration(-1)
	for n := int64(0); ; n++ {
		at, ok := p.Due(n)
		if !ok {
			break
		}
		if at < prev {
			t.Fatalf("cycle %d due at %v, before cycle %d at %v", n, at, n-1, prev)
		}
		prev = at
	}
}

func TestParseStages(t *testing.T) {
	st, err := ParseStages("30s:100, 1m:500,30s:0,0s:7.5")
	if err != nil || len(st) != 4 || st[1] != (Stage{time.Minute, 500}) || st[3].Target != 7.5 {
		t.Fatalf("ParseStages = %v, %v", st, err)
	}
	if got := FormatStages(st); got != "30s:100,1m0s:500,30s:0,0s:7.5" {
		t.Errorf("FormatStages = %q", got)
	}
	for _, bad := range []string{"", "30s", "x:1", "-1s:5", "1s:-5", "1s:NaN", "1s:1,,2s:3"} {
		if _, err := ParseStages(bad); err == nil || !strings.Contains(err.Error(), "stage") {
			t.Errorf("ParseStages(%q) = %v, want an error naming the stage", bad, err)
		}
	}
}

func FuzzParseStages(f *testing.F) {
	f.Add("30s:100,1m:500,30s:0")
	f.Add("0s:1e9")
	f.Fuzz(func(t *testing.T, s string) {
		st, err := ParseStages(s)
		if err != nil {
			return
		}
		back, err := ParseStages(FormatStages(st))
		if err != nil || len(back) != len(st) {
			t.Fatalf("%q → %v → %v, %v", s, st, back, err)
		}
		p := StagesPacer{Stages: st}
		for n := range int64(50) {
			if at, ok := p.Due(n); ok && (at < 0 || at > StagesDuration(st)) {
				t.Fatalf("%q: cycle %d due at %v, outside [0, %v]", s, n, at, StagesDuration(st))
			}
		}
	})
}
