package results

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/plot/plotter"
)

// okCycle returns a pasv cycle that ends at base+end after lasting d.
func okCycle(mode string, end, d time.Duration, bytes int64) Record {
	return Record{Mode: mode, Start: base.Add(end - d), T: phases(SetupSent, time.Duration(0), Done, d), Bytes: bytes, Outcome: OK}
}

func TestSeriesBuckets(t *testing.T) {
	s := newSeries()
	ms := time.Millisecond
	recs := []Record{
		okCycle("pasv", 100*ms, 100*ms, 1000),   // origin: bucket 0 is [0.1s, 1.1s)
		okCycle("pasv", 50*ms, 50*ms, 10),       // before the origin: bucket −1
		okCycle("port", 1500*ms, 200*ms, 2000),  // bucket 1
		okCycle("pasv", 1099*ms, 300*ms, 3000),  // bucket 0
		okCycle("pasv", 3200*ms, 1000*ms, 4000), // bucket 3, leaving bucket 2 empty
	}
	recs[4].Outcome, recs[4].Bytes = Timeout, 0
	for i := range recs {
		s.add(&recs[i])
	}
	if s.lo != -1 || len(s.slots) != 5 || s.width != time.Second {
		t.Fatalf("lo %d, %d slots, width %v; want -1, 5, 1s", s.lo, len(s.slots), s.width)
	}
	pasv := s.modeIndex["pasv"]
	var cycles []int64
	for i := range s.slots {
		var n int64
		if pasv < len(s.slots[i].modes) {
			n = s.slots[i].modes[pasv].cycles
		}
		cycles = append(cycles, n)
	}
	if want := []int64{1, 2, 0, 0, 1}; !slices.Equal(cycles, want) {
		t.Errorf("pasv cycles per bucket %v, want %v", cycles, want)
	}
	if got := s.slots[4].failures[Timeout]; got != 1 {
		t.Errorf("timeouts in the last bucket = %d, want 1", got)
	}
	if !s.first.Equal(base) || !s.last.Equal(base.Add(3200*ms)) {
		t.Errorf("span %v – %v", s.first, s.last)
	}
	// Rates: the run is [0, 3.2s]. Bucket −1 is [−0.9s, 0.1s) cut to
	// [0, 0.1s): a sliver, left out. Bucket 3 is [3.1s, 4.1s) cut to
	// [3.1s, 3.2s): left out too.
	rs := s.rateSlots()
	if want := []int{1, 2, 3}; !slices.Equal(rs, want) {
		t.Fatalf("rate buckets %v, want %v", rs, want)
	}
	c, b := s.rates("pasv", rs)
	if c[0].Y != 2 || b[0].Y != 4000/1e6 || c[0].X != unixSeconds(base.Add(600*ms)) {
		t.Errorf("first pasv rate point %v / %v, want (t+0.6s, 2 cycles/s, 0.004 MB/s)", c[0], b[0])
	}
	outcomes, counts := s.failures()
	if !slices.Equal(outcomes, []Outcome{Timeout}) || len(counts[0]) != 5 || counts[0][4].Y != 1 || counts[0][0].Y != 0 {
		t.Errorf("failures %v %v", outcomes, counts)
	}
}

// TestSeriesShortRun: a run shorter than half a bucket still has a rate
// point, over the part of the run the bucket covers: the run is [0, 100ms]
// and the bucket starts at the first end read, 10ms, so 10 cycles in 90ms.
func TestSeriesShortRun(t *testing.T) {
	s := newSeries()
	for i := range 10 {
		r := okCycle("pasv", time.Duration(i+1)*10*time.Millisecond, 10*time.Millisecond, 100)
		s.add(&r)
	}
	rs := s.rateSlots()
	c, _ := s.rates("pasv", rs)
	if len(c) != 1 || math.Abs(c[0].Y-10/0.09) > 1e-6 {
		t.Errorf("rate points %v, want one of 111.1 cycles/s", c)
	}
}

// TestSeriesCoarsens: a run longer than seriesMaxBuckets seconds doubles
// the width until it fits, and no cycle or byte is lost on the way.
func TestSeriesCoarsens(t *testing.T) {
	s := newSeries()
	const n = 5000
	for i := range n {
		r := okCycle("pasv", time.Duration(i)*time.Second, time.Millisecond, 1)
		s.add(&r)
	}
	if len(s.slots) > seriesMaxBuckets || s.width != 8*time.Second {
		t.Errorf("%d buckets of %v, want at most %d of 8s", len(s.slots), s.width, seriesMaxBuckets)
	}
	var cycles, samples int64
	for _, sl := range s.slots {
		cycles += sl.modes[0].cycles
		samples += sl.modes[0].seen
	}
	if cycles != n || samples != n {
		t.Errorf("%d cycles, %d cycle times after coarsening, want %d", cycles, samples, n)
	}
}

// TestSeriesPercentiles: within reservoirSize a bucket's percentiles are
// exact; beyond it they come from a uniform sample whose size stays
// bounded, and stay close, also after buckets merge.
func TestSeriesPercentiles(t *testing.T) {
	for _, n := range []int{reservoirSize, 20 * reservoirSize} {
		s := newSeries()
		rng := rand.New(rand.NewPCG(3, 4))
		var all []time.Duration
		for range n {
			d := time.Duration(rng.Int64N(int64(10 * time.Millisecond)))
			all = append(all, d)
			r := okCycle("port", 500*time.Millisecond, d, 0)
			s.add(&r)
		}
		mb := &s.slots[0].modes[0]
		if len(mb.sample) > reservoirSize || mb.seen != int64(n) {
			t.Fatalf("n=%d: sample %d of %d seen", n, len(mb.sample), mb.seen)
		}
		p50, p99 := s.cycleTimes("port")
		exact := ExactLatency(all)
		if n <= reservoirSize {
			if p50[0].Y != float64(exact.P50) || p99[0].Y != float64(exact.P99) {
				t.Errorf("n=%d: p50 %v p99 %v, want exactly %v %v", n, p50[0].Y, p99[0].Y, exact.P50, exact.P99)
			}
			continue
		}
		// Uniform over [0, 10ms): a 512-sample p50 is within a few percent.
		if math.Abs(p50[0].Y-float64(exact.P50)) > float64(exact.P50)/10 {
			t.Errorf("n=%d: sampled p50 %v, exact %v", n, time.Duration(p50[0].Y), exact.P50)
		}
		// Merging with an empty bucket and a small one keeps it bounded
		// and proportional.
		var other modeBucket
		for range 10 {
			other.offer(time.Hour, s.rng)
		}
		mb.merge(&other, s.rng)
		hours := 0
		for _, d := range mb.sample {
			if d == time.Hour {
				hours++
			}
		}
		if len(mb.sample) != reservoirSize || mb.seen != int64(n+10) || hours > 2 {
			t.Errorf("merged sample %d (of %d seen) with %d of the 10 small-bucket values; want %d, %d, ≤2",
				len(mb.sample), mb.seen, hours, reservoirSize, n+10)
		}
	}
}

func TestFloorDiv(t *testing.T) {
	for _, tc := range []struct{ a, b, want int64 }{{7, 2, 3}, {-7, 2, -4}, {-8, 2, -4}, {0, 5, 0}, {-1, 1000, -1}} {
		if got := floorDiv(tc.a, tc.b); got != tc.want {
			t.Errorf("floorDiv(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestLTTB(t *testing.T) {
	var pts plotter.XYs
	for i := range 10000 {
		y := math.Sin(float64(i) / 300)
		if i == 4321 {
			y = 50 // one spike
		}
		pts = append(pts, plotter.XY{X: float64(i), Y: y})
	}
	got := lttb(pts, 300)
	if len(got) != 300 || got[0] != pts[0] || got[299] != pts[len(pts)-1] {
		t.Fatalf("%d points from %v to %v", len(got), got[0], got[len(got)-1])
	}
	if !slices.Contains(got, pts[4321]) {
		t.Error("the spike was dropped")
	}
	for i := 1; i < len(got); i++ {
		if got[i].X <= got[i-1].X {
			t.Fatalf("x not increasing at %d", i)
		}
	}
	short := pts[:50]
	if out := lttb(short, 300); len(out) != 50 {
		t.Errorf("a short line was changed: %d points", len(out))
	}
}
