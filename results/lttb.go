package results

import (
	"math"

	"gonum.org/v1/plot/plotter"
)

// lttb downsamples pts, sorted by X, to n points with Steinarsson's
// Largest-Triangle-Three-Buckets algorithm ("Downsampling Time Series for
// Visual Representation", 2013): the first and last points are kept, the
// rest are split into n−2 buckets of equal count, and each bucket keeps the
// point forming the largest triangle with the point kept before it and the
// average of the next bucket. Unlike averaging or striding, it keeps the
// peaks and dips a reader looks for — a p99 spike survives. pts is
// returned as is when it has at most n points (or n < 3).
func lttb(pts plotter.XYs, n int) plotter.XYs {
	if n < 3 || len(pts) <= n {
		return pts
	}
	out := make(plotter.XYs, 0, n)
	out = append(out, pts[0])
	// Bucket i is [start(i), start(i+1)); start(n−2) is the last point,
	// which alone makes the "bucket" after the last one.
	start := func(i int) int { return 1 + i*(len(pts)-2)/(n-2) }
	a := 0 // index of the point kept last
	for i := range n - 2 {
		// This bucket is [lo, hi); the next one, averaged, is [hi, next).
		lo, hi := start(i), start(i+1)
		next := len(pts)
		if i < n-3 {
			next = start(i + 2)
		}
		var avgX, avgY float64
		for _, p := range pts[hi:next] {
			avgX += p.X
			avgY += p.Y
		}
		avgX /= float64(next - hi)
		avgY /= float64(next - hi)
		best, bestArea := lo, -1.0
		for j := lo; j < hi; j++ {
			area := math.Abs((pts[a].X-avgX)*(pts[j].Y-pts[a].Y) - (pts[a].X-pts[j].X)*(avgY-pts[a].Y))
			if area > bestArea {
				best, bestArea = j, area
			}
		}
		out = append(out, pts[best])
		a = best
	}
	return append(out, pts[len(pts)-1])
}
