package results

import (
	"math"
	"math/bits"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/montanaflynn/stats"
)

// Histogram geometry for latency distributions: nanosecond values, exact up
// to 2048ns and within 3 significant digits (0.1%) above, up to an hour.
// Longer values are counted as one hour in the histogram; the exact Max
// still reports them. One histogram of this shape holds ~270 KB.
const (
	histHighest = int64(time.Hour)
	histSigFigs = 3
)

// LatencyStats describes a distribution of durations.
//
// In a Summary, Count, Min, Max and Mean are exact (kept outside the
// histogram, the mean from an exact 128-bit sum) while P50, P90 and P99 come
// from HDR histograms and are approximate to 3 significant digits: the value
// reported is the far end from zero of the histogram bucket holding the
// true percentile (so a magnitude is overstated by at most 0.1%, never
// understated), then clamped to [Min, Max]. Percentiles use the
// nearest-rank definition: the ⌈p/100·Count⌉-th smallest value.
//
// The JSON form gives every duration in nanoseconds. With Count 0 every
// field is 0.
type LatencyStats struct {
	Count int64         `json:"count"`
	Min   time.Duration `json:"min"`
	P50   time.Duration `json:"p50"`
	P90   time.Duration `json:"p90"`
	P99   time.Duration `json:"p99"`
	Max   time.Duration `json:"max"`
	Mean  time.Duration `json:"mean"`
}

// ExactLatency computes LatencyStats exactly, with the same nearest-rank
// percentiles a Summary approximates, using montanaflynn/stats. It copies
// and sorts ds, so it is for bounded sets — one interval of a time
// series, one point of a sweep — or to check a Summary in tests; use a
// Summary for whole runs. Values beyond 2^53ns (104 days) lose precision.
func ExactLatency(ds []time.Duration) LatencyStats {
	if len(ds) == 0 {
		return LatencyStats{}
	}
	data := make(stats.Float64Data, len(ds))
	for i, d := range ds {
		data[i] = float64(d)
	}
	pct := func(p float64) time.Duration {
		v, _ := stats.PercentileNearestRank(data, p) // errors only on empty input or bad p
		return time.Duration(v)
	}
	lo, _ := stats.Min(data)
	hi, _ := stats.Max(data)
	mean, _ := stats.Mean(data)
	return LatencyStats{
		Count: int64(len(ds)),
		Min:   time.Duration(lo),
		P50:   pct(50),
		P90:   pct(90),
		P99:   pct(99),
		Max:   time.Duration(hi),
		Mean:  time.Duration(math.Round(mean)),
	}
}

// dist accumulates a signed distribution of nanosecond values in bounded
// memory. Non-negative values go into pos, negative ones into neg by
// magnitude; either histogram is allocated only when first needed, so an
// unsigned quantity never pays for neg.
//
// Signed quantiles walk the combined order. Sorted ascending, the signed
// values are the nNeg negatives — largest magnitude first, that is neg
// read from its top — followed by pos read from its bottom. So the k-th
// smallest signed value (1 ≤ k ≤ n) is
//
//	−(the (nNeg−k+1)-th smallest magnitude in neg)  when k ≤ nNeg,
//	the (k−nNeg)-th smallest value in pos            otherwise.
type dist struct {
	neg, pos *hdrhistogram.Histogram
	n, nNeg  int64
	min, max int64
	sum      int128
}

func (d *dist) add(v int64) {
	if d.n == 0 || v < d.min {
		d.min = v
	}
	if d.n == 0 || v > d.max {
		d.max = v
	}
	d.n++
	d.sum.add(v)
	if v < 0 {
		d.nNeg++
		m := histHighest // also covers -MinInt64, which overflows
		if v > -histHighest {
			m = -v
		}
		record(&d.neg, m)
	} else {
		record(&d.pos, min(v, histHighest))
	}
}

func record(h **hdrhistogram.Histogram, v int64) {
	if *h == nil {
		*h = hdrhistogram.New(1, histHighest, histSigFigs)
	}
	// v is within [0, histHighest], which cannot fail.
	_ = (*h).RecordValue(v)
}

func (d *dist) merge(o *dist) {
	if o.n == 0 {
		return
	}
	if d.n == 0 || o.min < d.min {
		d.min = o.min
	}
	if d.n == 0 || o.max > d.max {
		d.max = o.max
	}
	d.n += o.n
	d.nNeg += o.nNeg
	d.sum.addWide(o.sum)
	mergeHist(&d.neg, o.neg)
	mergeHist(&d.pos, o.pos)
}

// mergeHist adds src's counts to *dst. Same geometry on both sides makes
// this exact: every count lands in the bucket it came from.
func mergeHist(dst **hdrhistogram.Histogram, src *hdrhistogram.Histogram) {
	switch {
	case src == nil || src.TotalCount() == 0:
	case *dst == nil:
		*dst = src.Clone()
	default:
		(*dst).Merge(src)
	}
}

// quantile returns the nearest-rank pct-th percentile (see dist and
// LatencyStats for how it is computed and how exact it is).
func (d *dist) quantile(pct int64) int64 {
	if d.n == 0 {
		return 0
	}
	k := max((d.n*pct+99)/100, 1) // ⌈n·pct/100⌉ in integers
	var v int64
	if k <= d.nNeg {
		v = -valueAtRank(d.neg, d.nNeg-k+1)
	} else {
		v = valueAtRank(d.pos, k-d.nNeg)
	}
	return min(max(v, d.min), d.max)
}

// valueAtRank returns the highest value equivalent to the r-th smallest
// recorded value (1 ≤ r ≤ h.TotalCount()). hdrhistogram-go exposes no rank
// query, so it asks for the percentile 100·r/n, which the library turns back
// into the rank ⌊(100·r/n)/100·n + 0.5⌋ = r: the floating-point error is a
// few ulps of r, far below the 0.5 of slack, for any n below 2^50.
func valueAtRank(h *hdrhistogram.Histogram, r int64) int64 {
	return h.ValueAtPercentile(100 * float64(r) / float64(h.TotalCount()))
}

func (d *dist) stats() LatencyStats {
	if d.n == 0 {
		return LatencyStats{}
	}
	return LatencyStats{
		Count: d.n,
		Min:   time.Duration(d.min),
		P50:   time.Duration(d.quantile(50)),
		P90:   time.Duration(d.quantile(90)),
		P99:   time.Duration(d.quantile(99)),
		Max:   time.Duration(d.max),
		Mean:  time.Duration(d.sum.mean(d.n)),
	}
}

// int128 is a two's-complement 128-bit sum. Summing nanoseconds in int64
// overflows after 292 years of cycle time — within reach of 100k simulated
// users over a long virtual run — and a float64 sum would depend on the
// order of additions, breaking exact merges.
type int128 struct {
	hi int64
	lo uint64
}

func (x *int128) add(v int64) {
	var c uint64
	x.lo, c = bits.Add64(x.lo, uint64(v), 0)
	x.hi += v>>63 + int64(c)
}

func (x *int128) addWide(y int128) {
	var c uint64
	x.lo, c = bits.Add64(x.lo, y.lo, 0)
	x.hi += y.hi + int64(c)
}

// mean returns x/n rounded half away from zero (n > 0).
func (x *int128) mean(n int64) int64 {
	if x.hi == int64(x.lo)>>63 { // fits in int64
		s := int64(x.lo)
		q, r := s/n, s%n
		if r < 0 && -r >= n+r {
			q--
		} else if r > 0 && r >= n-r {
			q++
		}
		return q
	}
	// A mean of int64 values fits in an int64, but float rounding can
	// carry it just past either end.
	f := math.Round((float64(x.hi)*0x1p64 + float64(x.lo)) / float64(n))
	switch {
	case f >= 0x1p63:
		return math.MaxInt64
	case f <= -0x1p63:
		return math.MinInt64
	}
	return int64(f)
}
