package results

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func summarize(recs []Record) *Summary {
	s := NewSummary()
	for i := range recs {
		s.Add(&recs[i])
	}
	return s
}

func TestGoldenSummary(t *testing.T) {
	s := summarize(fixtureRecords())
	var text bytes.Buffer
	if err := s.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.txt", text.Bytes())

	js, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, js, "", "  "); err != nil {
		t.Fatal(err)
	}
	indented.WriteByte('\n')
	golden(t, "summary.json", indented.Bytes())

	// The JSON decodes into a Report equal to the Go values.
	var rep Report
	if err := json.Unmarshal(js, &rep); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(rep)
	if !bytes.Equal(again, js) {
		t.Errorf("Report does not round-trip:\n got %s\nwant %s", again, js)
	}
}

func TestSummaryValues(t *testing.T) {
	s := summarize(fixtureRecords())
	var modes []string
	for _, m := range s.Modes() {
		modes = append(modes, m.Mode)
	}
	if want := []string{"pasv", "port", "epsv", "eprt", "default", "fxp", "zz-custom"}; !slices.Equal(modes, want) {
		t.Errorf("modes = %q; want %q", modes, want)
	}
	pasv := s.Modes()[0]
	ms, us := time.Millisecond, time.Microsecond
	if pasv.Cycles != 5 || pasv.OK != 2 || pasv.Outcomes[Timeout] != 1 || pasv.Outcomes[Canceled] != 1 || pasv.Outcomes[Refused] != 1 {
		t.Errorf("pasv counts = %+v", pasv)
	}
	// The timed-out cycle ends last, 5s after its start at base+2ms; the
	// canceled one, which never reached done, ends at its start (base+4s).
	if want := 5*time.Second + 2*ms; pasv.Bytes != 2*65536 || pasv.Window != want || !pasv.Start.Equal(base) {
		t.Errorf("pasv bytes, start, window = %d, %v, %v; want %d, %v, %v", pasv.Bytes, pasv.Start, pasv.Window, 2*65536, base, want)
	}
	if pasv.RaceGap.Count != 2 || pasv.BeforeEOF != 1 || pasv.RaceGap.Min != -200*us || pasv.RaceGap.Max != 200*us {
		t.Errorf("pasv race gap = %+v, before EOF %d", pasv.RaceGap, pasv.BeforeEOF)
	}
	all := s.All()
	if all.Mode != AllModes || all.Cycles != int64(len(fixtureRecords())) || all.BeforeEOF != 2 {
		t.Errorf("all = %+v", all)
	}
	if all.Setup.Min != 0 || all.Cycle.Max != 5*time.Second {
		t.Errorf("all setup min %v, cycle max %v", all.Setup.Min, all.Cycle.Max)
	}
	empty := NewSummary()
	if len(empty.Modes()) != 0 || empty.All().Cycles != 0 {
		t.Errorf("empty summary: %+v %+v", empty.Modes(), empty.All())
	}
	js, err := json.Marshal(empty)
	if err != nil || !strings.HasPrefix(string(js), `{"modes":[],"all":{"mode":"all","cycles":0`) {
		t.Errorf("empty JSON = %s, %v", js, err)
	}
	var text bytes.Buffer
	if err := empty.WriteText(&text); err != nil || text.String() != "no cycles\n" {
		t.Errorf("empty text = %q, %v", text.String(), err)
	}
}

// randomRecord makes a record with a random mode, outcome and phases, some
// absent; race gaps are of either sign, some huge, some beyond an hour.
func randomRecord(rng *rand.Rand, seq int64) Record {
	modes := []string{"pasv", "port", "epsv", "fxp", "zeta", "alpha"}
	r := Record{
		Seq:     seq,
		User:    rng.IntN(50),
		Mode:    modes[rng.IntN(len(modes))],
		Op:      "retr",
		Start:   base.Add(time.Duration(rng.Int64N(int64(time.Minute)))),
		T:       NoPhases,
		Bytes:   rng.Int64N(1 << 20),
		Outcome: Outcomes[rng.IntN(len(Outcomes))],
	}
	if rng.IntN(20) == 0 {
		r.Outcome = "future-outcome"
	}
	off := int64(0)
	for p := range NumPhases {
		if rng.IntN(8) == 0 {
			continue
		}
		off += rng.Int64N(int64(2 * time.Millisecond))
		r.T[p] = off
	}
	if r.T.Has(EOF) && r.T.Has(Final) && rng.IntN(3) == 0 {
		r.T[EOF], r.T[Final] = r.T[Final], r.T[EOF] // 226 before EOF
	}
	if rng.IntN(50) == 0 && r.T.Has(Done) {
		r.T[Done] += int64(2 * time.Hour)
	}
	return r
}

func TestMergeEqualsWhole(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 8 {
		n := rng.IntN(400)
		if trial == 0 {
			n = 0
		}
		k := 1 + rng.IntN(6)
		recs := make([]Record, n)
		parts := make([]*Summary, k)
		for i := range parts {
			parts[i] = NewSummary()
		}
		for i := range recs {
			recs[i] = randomRecord(rng, int64(i))
			parts[rng.IntN(k)].Add(&recs[i])
		}
		rng.Shuffle(k, func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		merged := NewSummary()
		for _, p := range parts {
			merged.Merge(p)
		}
		want, err := json.Marshal(summarize(recs))
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(merged)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("trial %d (n=%d, k=%d): merged summary differs:\n got %s\nwant %s", trial, n, k, got, want)
		}
	}
}

func TestMergeIntoItself(t *testing.T) {
	recs := fixtureRecords()
	s := summarize(recs)
	s.Merge(s)
	want := summarize(append(fixtureRecords(), recs...))
	got, _ := json.Marshal(s)
	w, _ := json.Marshal(want)
	if !bytes.Equal(got, w) {
		t.Fatalf("self-merge:\n got %s\nwant %s", got, w)
	}
}

// checkApprox checks an HDR percentile against the exact one: never smaller
// in magnitude, and at most 0.1% (plus rounding) larger.
func checkApprox(t *testing.T, what string, got, exact time.Duration) {
	t.Helper()
	g, e := math.Abs(float64(got)), math.Abs(float64(exact))
	if (got < 0) != (exact < 0) && got != 0 && exact != 0 || g < e || g > e*1.001+1 {
		t.Errorf("%s = %v; exact %v (want |got| within [|exact|, |exact|·1.001])", what, got, exact)
	}
}

func TestRaceGapQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ns := func(lo, hi int64) func() int64 { return func() int64 { return lo + rng.Int64N(hi-lo) } }
	mixed := func() int64 {
		switch rng.IntN(4) {
		case 0:
			return -int64(math.Exp(rng.Float64() * 20)) // heavy negative tail
		case 1:
			return 0
		default:
			return int64(math.Exp(rng.Float64() * 22))
		}
	}
	for _, tc := range []struct {
		name string
		n    int
		gen  func() int64
	}{
		{"one negative", 1, ns(-5000000, -4999999)},
		{"one positive", 1, ns(12345678, 12345679)},
		{"two", 2, mixed},
		{"all negative", 1000, ns(-int64(time.Second), -1)},
		{"all positive", 1000, ns(0, int64(time.Second))},
		{"mixed small", 37, mixed},
		{"mixed", 20000, mixed},
		{"around zero", 5000, ns(-3000, 3000)},
		{"beyond an hour", 100, ns(-2*int64(time.Hour), 2*int64(time.Hour))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSummary()
			var gaps []time.Duration
			for i := range tc.n {
				g := tc.gen()
				gaps = append(gaps, time.Duration(g))
				eof := int64(3 * time.Hour)
				s.Add(&Record{Seq: int64(i), Mode: "pasv", Start: base, Outcome: OK,
					T: phases(EOF, time.Duration(eof), Final, time.Duration(eof+g))})
			}
			got := s.Modes()[0].RaceGap
			exact := ExactLatency(gaps)
			if got.Count != exact.Count || got.Min != exact.Min || got.Max != exact.Max {
				t.Errorf("count/min/max = %d/%v/%v; exact %d/%v/%v", got.Count, got.Min, got.Max, exact.Count, exact.Min, exact.Max)
			}
			if d := got.Mean - exact.Mean; d < -1 || d > 1 {
				t.Errorf("mean = %v; exact %v", got.Mean, exact.Mean)
			}
			inRange := func(d time.Duration) bool { return d >= -time.Hour && d <= time.Hour }
			for _, q := range []struct {
				name       string
				got, exact time.Duration
			}{{"p50", got.P50, exact.P50}, {"p90", got.P90, exact.P90}, {"p99", got.P99, exact.P99}} {
				if inRange(q.exact) {
					checkApprox(t, q.name, q.got, q.exact)
				}
			}
			var before int64
			for _, g := range gaps {
				if g < 0 {
					before++
				}
			}
			if b := s.Modes()[0].BeforeEOF; b != before {
				t.Errorf("before EOF = %d; want %d", b, before)
			}
		})
	}
}

// TestValueAtRank checks the percentile-to-rank conversion for every rank.
func TestValueAtRank(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var d dist
	var vals []int64
	for range 3001 {
		v := rng.Int64N(1 << 40)
		vals = append(vals, v)
		d.add(v)
	}
	slices.Sort(vals)
	for r := int64(1); r <= int64(len(vals)); r++ {
		got, exact := valueAtRank(d.pos, r), vals[r-1]
		if got < exact || float64(got) > float64(exact)*1.001+1 {
			t.Fatalf("rank %d: %d; exact %d", r, got, exact)
		}
	}
}

func TestSetupAndCycleQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	s := NewSummary()
	var setups, cycles []time.Duration
	for i := range 5000 {
		setup := time.Duration(rng.ExpFloat64() * float64(300*time.Microsecond))
		cycle := setup + time.Duration(rng.ExpFloat64()*float64(20*time.Millisecond))
		setups, cycles = append(setups, setup), append(cycles, cycle)
		s.Add(&Record{Seq: int64(i), Mode: "port", Start: base, Outcome: OK,
			T: phases(SetupSent, time.Duration(0), DataOpen, setup, Done, cycle)})
	}
	m := s.Modes()[0]
	for _, tc := range []struct {
		name       string
		got, exact LatencyStats
	}{{"setup", m.Setup, ExactLatency(setups)}, {"cycle", m.Cycle, ExactLatency(cycles)}} {
		if tc.got.Count != tc.exact.Count || tc.got.Min != tc.exact.Min || tc.got.Max != tc.exact.Max {
			t.Errorf("%s: %+v; exact %+v", tc.name, tc.got, tc.exact)
		}
		checkApprox(t, tc.name+" p50", tc.got.P50, tc.exact.P50)
		checkApprox(t, tc.name+" p90", tc.got.P90, tc.exact.P90)
		checkApprox(t, tc.name+" p99", tc.got.P99, tc.exact.P99)
	}
}

func TestInt128Mean(t *testing.T) {
	for _, tc := range []struct {
		vals []int64
		want int64
	}{
		{[]int64{1, 2}, 2}, // 1.5 rounds away from zero
		{[]int64{-1, -2}, -2},
		{[]int64{1, 1, 2}, 1},
		{[]int64{-7}, -7},
		{[]int64{math.MaxInt64, math.MaxInt64, math.MaxInt64}, math.MaxInt64},
		{[]int64{math.MinInt64, math.MinInt64}, math.MinInt64},
		{[]int64{math.MaxInt64, math.MaxInt64, -math.MaxInt64, -math.MaxInt64, 4}, 1},
	} {
		var x int128
		for _, v := range tc.vals {
			x.add(v)
		}
		if got := x.mean(int64(len(tc.vals))); got != tc.want {
			t.Errorf("mean(%v) = %d; want %d", tc.vals, got, tc.want)
		}
	}
}

func TestFmtDuration(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want string
	}{
		{0, "0ns"},
		{850, "850ns"},
		{-999, "-999ns"},
		{1000, "1.000µs"},
		{12345, "12.35µs"},
		{999960, "1.000ms"},
		{1234567, "1.235ms"},
		{-3500 * time.Microsecond, "-3.500ms"},
		{75 * time.Second, "75.00s"},
		{time.Hour, "3600s"},
	} {
		if got := fmtDuration(tc.in); got != tc.want {
			t.Errorf("fmtDuration(%d) = %q; want %q", int64(tc.in), got, tc.want)
		}
	}
}

func BenchmarkSummaryAdd(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	recs := make([]Record, 1024)
	for i := range recs {
		recs[i] = randomRecord(rng, int64(i))
	}
	s := NewSummary()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Add(&recs[i%len(recs)])
		i++
	}
}
