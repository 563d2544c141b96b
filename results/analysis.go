package results

import (
	"context"
	"fmt"
)

// An Analysis is what a report shows about a set of results files,
// gathered in one streaming pass: the Summary (whole-run statistics) and a
// per-interval series (throughput, cycle-time percentiles and failures per
// time bucket). Both are bounded — a Summary by its HDR histograms, the
// series by seriesMaxBuckets and reservoirSize — so an Analysis of ten
// million records takes the memory of one of a thousand.
type Analysis struct {
	Summary *Summary
	// Sources lists the files read, in order, when they came from
	// AnalyzeFiles.
	Sources []Source
	series  *series
}

// Source is one results file of an Analysis.
type Source struct {
	Path    string
	Records int64
	// Info is the file's sidecar (ReadRunInfo), or nil when it has none.
	Info *RunInfo
}

// NewAnalysis returns an empty Analysis.
func NewAnalysis() *Analysis {
	return &Analysis{Summary: NewSummary(), series: newSeries()}
}

// Add counts one record. Only its values are kept, so r may be reused.
func (a *Analysis) Add(r *Record) {
	a.Summary.Add(r)
	a.series.add(r)
}

// AnalyzeFiles reads the results files at paths, in order, into a new
// Analysis, with each file's sidecar when it has one. It stops with ctx's
// error when ctx is done. Warnings are as ReadFiles gives them, plus one
// per unreadable sidecar (a report without the run's options is still a
// report).
func AnalyzeFiles(ctx context.Context, paths []string) (*Analysis, []string, error) {
	a := NewAnalysis()
	var warnings []string
	for _, path := range paths {
		src := Source{Path: path}
		w, err := ReadFiles([]string{path}, func(r *Record) error {
			a.Add(r)
			src.Records++
			return ctx.Err()
		})
		warnings = append(warnings, w...)
		if err != nil {
			return nil, warnings, err
		}
		if src.Info, err = ReadRunInfo(path); err != nil {
			warnings = append(warnings, fmt.Sprintf("run info ignored: %v", err))
		}
		a.Sources = append(a.Sources, src)
	}
	return a, warnings, nil
}
