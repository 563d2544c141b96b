package results

import (
	"math/rand/v2"
	"slices"
	"time"

	"gonum.org/v1/plot/plotter"
)

// The bounds that keep a series' memory independent of the number of
// records.
const (
	// seriesWidth is the width of a bucket until the run outgrows
	// seriesMaxBuckets of them.
	seriesWidth = time.Second
	// seriesMaxBuckets bounds the buckets a series holds. When a record
	// falls outside that many, adjacent pairs of buckets merge and the width
	// doubles, so a run up to 17 minutes long keeps 1 s buckets and a day
	// long one gets 128 s buckets — about 1000 points per line, which is
	// what a chart 1200 pixels wide can show anyway.
	seriesMaxBuckets = 1024
	// reservoirSize bounds the cycle-time samples a bucket keeps per mode.
	// Up to that many, a bucket's percentiles are exact; past it they come
	// from a uniform random sample of that size (Vitter's algorithm R), whose
	// p99 is then the 6th largest of 512 draws: good to a few percent of
	// rank, which a per-second line on a chart does not need to beat.
	reservoirSize = 512
)

// series accumulates per-interval statistics of a stream of records in
// bounded memory: for each bucket of time and each mode, the cycles that
// ended in it, their bytes and a sample of their cycle times, and for each
// bucket the failed cycles per outcome.
//
// A cycle belongs to the bucket in which it ended (Record.End): a
// throughput line then counts completions, as a user of the server sees
// them, and no record needs to be held until its interval closes. Buckets
// are aligned on the end of the first record read, since the input is not
// sorted and the earliest cycle is not known until the end; a bucket
// index is floor((end − origin) / width), negative for records that
// ended before the first one read.
//
// The reservoirs use a fixed seed, so the same input gives the same
// series — and the same chart bytes — every time.
type series struct {
	origin      time.Time
	width       time.Duration
	lo          int64 // bucket index of slots[0]
	slots       []slot
	modes       []string       // mode names, by first appearance
	modeIndex   map[string]int // mode name → index in modes and slot.modes
	first, last time.Time      // earliest start, latest end
	rng         *rand.Rand
}

// slot is one bucket of time.
type slot struct {
	modes    []modeBucket  // by mode index; shorter when a later mode has no cycle here
	failures OutcomeCounts // failed cycles by outcome; nil until one fails here
}

// modeBucket is one mode's share of a bucket.
type modeBucket struct {
	cycles, bytes int64
	seen          int64           // cycle times offered to sample
	sample        []time.Duration // uniform sample of them, at most reservoirSize
}

func newSeries() *series {
	return &series{width: seriesWidth, modeIndex: make(map[string]int), rng: rand.New(rand.NewPCG(1, 2))}
}

// add counts r in its bucket.
func (s *series) add(r *Record) {
	start, end := r.Start.UTC(), r.End().UTC()
	if len(s.slots) == 0 {
		s.origin, s.first, s.last = end, start, end
	}
	if start.Before(s.first) {
		s.first = start
	}
	if end.After(s.last) {
		s.last = end
	}
	mi, ok := s.modeIndex[r.Mode]
	if !ok {
		mi = len(s.modes)
		s.modes = append(s.modes, r.Mode)
		s.modeIndex[r.Mode] = mi
	}
	sl := s.slot(end)
	if len(sl.modes) <= mi {
		sl.modes = append(sl.modes, make([]modeBucket, mi+1-len(sl.modes))...)
	}
	mb := &sl.modes[mi]
	mb.cycles++
	mb.bytes += r.Bytes
	if d, ok := r.CycleTime(); ok {
		mb.offer(d, s.rng)
	}
	if r.Outcome != OK {
		if sl.failures == nil {
			sl.failures = make(OutcomeCounts)
		}
		sl.failures[r.Outcome]++
	}
}

// slot returns the bucket holding t, growing the series at either end and
// coarsening it as needed to stay within seriesMaxBuckets.
func (s *series) slot(t time.Time) *slot {
	idx := floorDiv(int64(t.Sub(s.origin)), int64(s.width))
	for {
		lo, hi := s.lo, s.lo+int64(len(s.slots))-1
		if len(s.slots) == 0 {
			lo, hi = idx, idx
		}
		lo, hi = min(lo, idx), max(hi, idx)
		if hi-lo+1 > seriesMaxBuckets {
			s.coarsen()
			idx = floorDiv(idx, 2)
			continue
		}
		if len(s.slots) == 0 {
			s.lo = idx
		}
		if lo < s.lo {
			s.slots = append(make([]slot, s.lo-lo), s.slots...)
			s.lo = lo
		}
		if n := hi - s.lo + 1; n > int64(len(s.slots)) {
			s.slots = append(s.slots, make([]slot, n-int64(len(s.slots)))...)
		}
		return &s.slots[idx-s.lo]
	}
}

// coarsen doubles the bucket width, merging buckets 2k and 2k+1 (counted
// from the origin) into bucket k.
func (s *series) coarsen() {
	lo := floorDiv(s.lo, 2)
	hi := floorDiv(s.lo+int64(len(s.slots))-1, 2)
	merged := make([]slot, hi-lo+1)
	for i := range s.slots {
		merged[floorDiv(s.lo+int64(i), 2)-lo].merge(&s.slots[i], s.rng)
	}
	s.slots, s.lo, s.width = merged, lo, 2*s.width
}

func (sl *slot) merge(o *slot, rng *rand.Rand) {
	if len(sl.modes) < len(o.modes) {
		sl.modes = append(sl.modes, make([]modeBucket, len(o.modes)-len(sl.modes))...)
	}
	for i := range o.modes {
		sl.modes[i].merge(&o.modes[i], rng)
	}
	if o.failures != nil && sl.failures == nil {
		sl.failures = make(OutcomeCounts, len(o.failures))
	}
	for k, n := range o.failures {
		sl.failures[k] += n
	}
}

// offer adds d to the bucket's cycle times: kept while the sample has
// room, and afterwards in place of a random sample with probability
// reservoirSize/seen, which keeps the sample uniform over all seen.
func (mb *modeBucket) offer(d time.Duration, rng *rand.Rand) {
	mb.seen++
	if len(mb.sample) < reservoirSize {
		mb.sample = append(mb.sample, d)
		return
	}
	if j := rng.Int64N(mb.seen); j < reservoirSize {
		mb.sample[j] = d
	}
}

// merge adds o into mb, reordering o's sample. The merged sample stays
// uniform over both populations: each side contributes in proportion to
// how many cycle times it stands for, drawn at random from its own
// (uniform) sample.
func (mb *modeBucket) merge(o *modeBucket, rng *rand.Rand) {
	mb.cycles += o.cycles
	mb.bytes += o.bytes
	total := mb.seen + o.seen
	if len(mb.sample)+len(o.sample) <= reservoirSize {
		mb.sample = append(mb.sample, o.sample...)
		mb.seen = total
		return
	}
	kOther := min(int((int64(reservoirSize)*o.seen+total/2)/total), len(o.sample))
	kMine := min(reservoirSize-kOther, len(mb.sample))
	mine := pick(mb.sample, kMine, rng)
	other := pick(o.sample, kOther, rng)
	mb.sample = append(mine, other...)
	mb.seen = total
}

// pick moves k elements chosen at random to the front of xs (a partial
// Fisher–Yates shuffle) and returns them.
func pick(xs []time.Duration, k int, rng *rand.Rand) []time.Duration {
	for i := range k {
		j := i + rng.IntN(len(xs)-i)
		xs[i], xs[j] = xs[j], xs[i]
	}
	return xs[:k]
}

// bucketSpan is the part of bucket i (index into slots) inside the run,
// [first start, last end]: the time over which its cycles could have ended.
func (s *series) bucketSpan(i int) (from, to time.Time) {
	from = s.origin.Add(time.Duration(s.lo+int64(i)) * s.width)
	to = from.Add(s.width)
	if from.Before(s.first) {
		from = s.first
	}
	if to.After(s.last) {
		to = s.last
	}
	return from, to
}

// floorDiv is a/b rounded towards −∞ (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// unixSeconds is the x coordinate of t on a time axis: seconds since the
// Unix epoch with the fraction kept (float64 holds it to below a
// microsecond for present-day times), which TimeTicks turns back into t.
func unixSeconds(t time.Time) float64 {
	return float64(t.Unix()) + float64(t.Nanosecond())/1e9
}

// midpoint returns the x coordinate of the middle of [from, to].
func midpoint(from, to time.Time) float64 { return unixSeconds(from.Add(to.Sub(from) / 2)) }

// rateSlots returns the indices of the buckets whose rates are drawn: those
// covering at least half a bucket width of the run. A rate is a count over
// the time the bucket covers, and the sliver of a bucket that the run's
// first or last instant cuts off would turn one cycle into a spike; when
// the whole run is shorter than that, every bucket with a span is kept so
// that a short run still has a point.
func (s *series) rateSlots() []int {
	var full, any []int
	for i := range s.slots {
		from, to := s.bucketSpan(i)
		switch span := to.Sub(from); {
		case span >= s.width/2:
			full = append(full, i)
		case span > 0:
			any = append(any, i)
		}
	}
	if len(full) > 0 {
		return full
	}
	return any
}

// rates returns mode's completed cycles per second and megabytes (10⁶
// bytes) per second in each of the rate buckets.
func (s *series) rates(mode string, buckets []int) (cycles, megabytes plotter.XYs) {
	mi := s.modeIndex[mode]
	for _, i := range buckets {
		from, to := s.bucketSpan(i)
		sec := to.Sub(from).Seconds()
		var mb modeBucket
		if sl := &s.slots[i]; mi < len(sl.modes) {
			mb = sl.modes[mi]
		}
		x := midpoint(from, to)
		cycles = append(cycles, plotter.XY{X: x, Y: float64(mb.cycles) / sec})
		megabytes = append(megabytes, plotter.XY{X: x, Y: float64(mb.bytes) / sec / 1e6})
	}
	return cycles, megabytes
}

// cycleTimes returns mode's cycle-time p50 and p99 in nanoseconds in each
// bucket where it has any, computed exactly over the bucket's sample with
// montanaflynn/stats (ExactLatency): exact when the bucket saw at most
// reservoirSize cycle times, an estimate from a uniform sample otherwise.
func (s *series) cycleTimes(mode string) (p50, p99 plotter.XYs) {
	mi := s.modeIndex[mode]
	for i := range s.slots {
		sl := &s.slots[i]
		if mi >= len(sl.modes) || len(sl.modes[mi].sample) == 0 {
			continue
		}
		ls := ExactLatency(sl.modes[mi].sample)
		x := midpoint(s.bucketSpan(i))
		p50 = append(p50, plotter.XY{X: x, Y: float64(ls.P50)})
		p99 = append(p99, plotter.XY{X: x, Y: float64(ls.P99)})
	}
	return p50, p99
}

// failures returns, for each outcome other than ok that occurs at all, its
// count in every bucket (zeros included, so that lines drop to zero), in
// the order of OutcomeCounts.
func (s *series) failures() (outcomes []Outcome, counts []plotter.XYs) {
	total := make(OutcomeCounts)
	for i := range s.slots {
		for o, n := range s.slots[i].failures {
			total[o] += n
		}
	}
	for _, o := range total.order() {
		if total[o] == 0 {
			continue
		}
		line := make(plotter.XYs, len(s.slots))
		for i := range s.slots {
			line[i] = plotter.XY{X: midpoint(s.bucketSpan(i)), Y: float64(s.slots[i].failures[o])}
		}
		outcomes = append(outcomes, o)
		counts = append(counts, line)
	}
	return outcomes, counts
}

// modeNames returns the modes seen, in report order.
func (s *series) modeNames() []string {
	names := slices.Clone(s.modes)
	slices.SortFunc(names, compareModes)
	return names
}
