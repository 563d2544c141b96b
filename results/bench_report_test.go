package results

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"
)

// generate writes n records of a synthetic run to w as JSON Lines, without
// holding them: 10 000 cycles per second alternating pasv and port, cycle
// and set-up times spread over three orders of magnitude, 1% failures.
func generate(w *io.PipeWriter, n int) {
	enc := NewEncoder(w)
	for i := range n {
		r := syntheticRecord(i)
		if err := enc.Encode(&r); err != nil {
			w.CloseWithError(err)
			return
		}
	}
	w.CloseWithError(enc.Flush())
}

// syntheticRecord is record i of the synthetic run generate writes.
func syntheticRecord(i int) Record {
	d := int64(50_000 + (i*7919)%5_000_000)
	r := Record{Seq: int64(i), User: i % 100, Mode: [2]string{"pasv", "port"}[i%2], Op: "retr",
		Start: base.Add(time.Duration(i) * 100 * time.Microsecond),
		T:     Phases{-1, 0, d / 10, d / 5, d/5 + 1000, d / 3, d/3 + 500, d - 20_000 + (int64(i)%7)*5_000, d - 10_000, d},
		Bytes: 65536, Want: 65536, Code: 226, Outcome: OK}
	if i%100 == 0 {
		r.Outcome, r.Bytes = Timeout, 0
	}
	return r
}

// BenchmarkDecodeTypical decodes records as a run writes them (the fast
// path throughout), the per-record cost of every report.
func BenchmarkDecodeTypical(b *testing.B) {
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	const n = 10_000
	for i := range n {
		r := syntheticRecord(i)
		if err := enc.Encode(&r); err != nil {
			b.Fatal(err)
		}
	}
	if err := enc.Flush(); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var r Record
	for b.Loop() {
		d := NewDecoder(bytes.NewReader(data))
		for d.Decode(&r) == nil {
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/record")
}

// BenchmarkReport measures what `ftpbench report --html` does with a
// results file — decode (on every core, as ReadFiles does), summarise,
// bucket, chart, write HTML — at 10⁵, 10⁶ and 10⁷ records, and reports the
// peak live heap — it must stay flat as the number of records grows, since
// nothing holds records — and the time to draw every chart and write the
// page once the records are read. The records are generated as they are
// read, so ns/record includes encoding them (about a third).
//
//	go test ./results -run XXX -bench Report -benchtime 1x
func BenchmarkReport(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000, 10_000_000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			var peak uint64
			var charting time.Duration
			sample := func() {
				var ms runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
			for b.Loop() {
				pr, pw := io.Pipe()
				go generate(pw, n)
				a := NewAnalysis()
				i := 0
				err := decodeParallel(pr, readBlockSize, func(r *Record) error {
					a.Add(r)
					if i%50_000 == 0 {
						sample()
					}
					i++
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				if err := WriteHTML(io.Discard, a, nil); err != nil {
					b.Fatal(err)
				}
				charting += time.Since(t0)
				sample()
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/record")
			b.ReportMetric(float64(charting.Milliseconds())/float64(b.N), "html-ms")
		})
	}
}
