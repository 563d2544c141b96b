package results

import (
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

//go:embed report.html.tmpl
var reportTemplateText string

var reportTemplate = template.Must(template.New("report").Parse(reportTemplateText))

// WriteHTML writes a report of a as one self-contained HTML page: each
// source's run information (from its sidecar), the results of checks when
// there are any, the summary tables and every chart as inline SVG. It
// links to nothing — no scripts, styles, fonts or images from elsewhere —
// so it can be mailed, attached to a CI run or opened offline.
//
// Everything taken from the records or sidecars (modes, paths, command
// lines) is escaped by html/template; the charts' SVG is produced here by
// gonum/plot, which escapes its text.
func WriteHTML(w io.Writer, a *Analysis, checks []ThresholdResult) error {
	charts, err := a.Charts()
	if err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	page := htmlPage{Title: "ftpbench report"}
	for _, src := range a.Sources {
		page.Records += src.Records
		hs := htmlSource{Path: src.Path, Records: src.Records, Sidecar: MetaPath(src.Path)}
		if info := src.Info; info != nil {
			hs.Info = &htmlRunInfo{
				Command:   shellJoin(RedactCommand(info.Command)),
				Target:    info.Target,
				Start:     formatTime(info.Start),
				End:       formatTime(info.End),
				EndReason: info.EndReason,
			}
			if !info.Start.IsZero() && info.End.After(info.Start) {
				hs.Info.Duration = fmtDuration(info.End.Sub(info.Start))
			}
		}
		page.Sources = append(page.Sources, hs)
	}
	if len(page.Sources) == 1 && page.Sources[0].Info != nil && page.Sources[0].Info.Target != "" {
		page.Title += " — " + page.Sources[0].Info.Target
	}
	for _, c := range checks {
		ht := htmlThreshold{Pass: c.Pass, Expr: c.Threshold.String()}
		_, ht.Detail, _ = strings.Cut(c.String(), ": ")
		page.Thresholds = append(page.Thresholds, ht)
	}
	modes := a.Summary.Modes()
	if len(modes) > 1 {
		modes = append(modes, a.Summary.All())
	}
	for i := range modes {
		page.Modes = append(page.Modes, htmlModeRow(&modes[i]))
	}
	for _, c := range charts {
		svg, err := c.inlineSVG()
		if err != nil {
			return fmt.Errorf("html report: %w", err)
		}
		// The SVG is gonum/plot's output, not user input: its text
		// (mode names, titles) is XML-escaped by the SVG writer.
		page.Charts = append(page.Charts, htmlChart{Name: c.Name, Title: c.Title, About: c.About, SVG: template.HTML(svg)})
	}
	if err := reportTemplate.Execute(w, &page); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	return nil
}

// SaveHTML writes the report of WriteHTML to the file at path, atomically:
// a reader of path sees the previous report or the whole new one.
func SaveHTML(path string, a *Analysis, checks []ThresholdResult) error {
	return writeFileAtomic(path, func(f *os.File) error { return WriteHTML(f, a, checks) })
}

// The page's view model: every value already formatted for people.
type (
	htmlPage struct {
		Title      string
		Records    int64
		Sources    []htmlSource
		Thresholds []htmlThreshold
		Modes      []htmlMode
		Charts     []htmlChart
	}
	htmlSource struct {
		Path    string
		Records int64
		Sidecar string
		Info    *htmlRunInfo
	}
	htmlRunInfo struct {
		Command, Target, Start, End, Duration, EndReason string
	}
	htmlThreshold struct {
		Pass         bool
		Expr, Detail string
	}
	htmlMode struct {
		Mode, Failures, CyclesPerSec, MBPerSec, Window, BeforeEOF string
		Cycles, OK                                                int64
		Latencies                                                 []htmlLatency
	}
	htmlLatency struct {
		Name   string
		Count  int64
		Values []string // min, p50, p90, p99, max, mean
	}
	htmlChart struct {
		Name, Title, About string
		SVG                template.HTML
	}
)

func htmlModeRow(ms *ModeStats) htmlMode {
	row := htmlMode{
		Mode:         ms.Mode,
		Cycles:       ms.Cycles,
		OK:           ms.OK,
		Failures:     cmp.Or(ms.failureText(), "-"),
		CyclesPerSec: strconv.FormatFloat(ms.CyclesPerSec, 'f', 2, 64),
		MBPerSec:     strconv.FormatFloat(ms.BytesPerSec/1e6, 'f', 3, 64),
		Window:       fmtDuration(ms.Window),
		BeforeEOF:    fmt.Sprintf("%d (%s)", ms.BeforeEOF, percent(ms.BeforeEOF, ms.RaceGap.Count)),
	}
	for _, l := range []struct {
		name string
		ls   *LatencyStats
	}{{"setup", &ms.Setup}, {"cycle", &ms.Cycle}, {"race gap", &ms.RaceGap}} {
		hl := htmlLatency{Name: l.name, Count: l.ls.Count}
		for _, d := range []time.Duration{l.ls.Min, l.ls.P50, l.ls.P90, l.ls.P99, l.ls.Max, l.ls.Mean} {
			v := "-"
			if l.ls.Count > 0 {
				v = fmtDuration(d)
			}
			hl.Values = append(hl.Values, v)
		}
		row.Latencies = append(row.Latencies, hl)
	}
	return row
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05.000 MST")
}

// shellJoin joins args into one command line, single-quoting those that a
// POSIX shell would split or expand, so the line can be pasted back.
func shellJoin(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,@%+", r))
		}) < 0 {
			quoted[i] = a
			continue
		}
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(quoted, " ")
}
