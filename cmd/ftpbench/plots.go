package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"ftpbench/results"
)

// thresholdsFlag is a repeatable --threshold. Each value is parsed as it is
// given, so a mistyped threshold is a usage error before a run starts.
type thresholdsFlag []results.Threshold

var _ pflag.Value = (*thresholdsFlag)(nil)

// String lists the thresholds given, for pflag's defaults and messages.
func (f *thresholdsFlag) String() string {
	s := make([]string, len(*f))
	for i, t := range *f {
		s[i] = t.String()
	}
	return strings.Join(s, ",")
}

// Set parses and appends one threshold.
func (f *thresholdsFlag) Set(v string) error {
	t, err := results.ParseThreshold(v)
	if err != nil {
		return err
	}
	*f = append(*f, t)
	return nil
}

// Type names the value in --help: "--threshold expr".
func (f *thresholdsFlag) Type() string { return "expr" }

const thresholdUsage = "pass/fail condition, repeatable: 'p99(setup)<5ms', 'errors<0.1%', 'rate(cycles)>1000', 'pasv:p50(cycle)<=2ms' (see README)"

// checkThresholds prints one PASS/FAIL line per threshold and reports
// whether all passed (true when there are none). The lines go to stdout
// after a text summary and to stderr after a JSON one, which must stay the
// only thing on stdout.
func checkThresholds(stdout, stderr io.Writer, format string, ts thresholdsFlag, sum *results.Summary) bool {
	if len(ts) == 0 {
		return true
	}
	w := stdout
	if format == "json" {
		w = stderr
	}
	res, pass := results.CheckThresholds(ts, sum)
	if err := results.WriteThresholds(w, res); err != nil {
		return false
	}
	return pass
}

// writeCharts writes a's charts as PNG and SVG into dir and says so on
// stderr.
func writeCharts(stderr io.Writer, cmd, dir string, a *results.Analysis) error {
	charts, err := a.Charts()
	if err != nil {
		return err
	}
	paths, err := results.SaveCharts(dir, charts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "ftpbench %s: wrote %d chart files to %s\n", cmd, len(paths), dir)
	return nil
}

// writeHTML writes a's HTML report, with the threshold results, to path.
func writeHTML(stderr io.Writer, cmd, path string, a *results.Analysis, ts thresholdsFlag) error {
	res, _ := results.CheckThresholds(ts, a.Summary)
	if err := results.SaveHTML(path, a, res); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "ftpbench %s: wrote %s\n", cmd, path)
	return nil
}

// finishRun does what cmdRun does once the records are written: the
// sidecar with info, the thresholds, and with plotsDir the charts and
// report.html of the results file out, read back from disk so that memory
// stays bounded however long the run. It returns code, or exitFailed when
// code was exitOK and one of those failed.
func finishRun(ctx context.Context, stdout, stderr io.Writer, out string, info *results.RunInfo,
	sum *results.Summary, ts thresholdsFlag, plotsDir, format string, code int) int {
	fail := func(err error) {
		fmt.Fprintf(stderr, "ftpbench run: %v\n", err)
		if code == exitOK {
			code = exitFailed
		}
	}
	if err := results.WriteRunInfo(out, info); err != nil {
		fail(err)
	}
	if !checkThresholds(stdout, stderr, format, ts, sum) && code == exitOK {
		code = exitFailed
	}
	if plotsDir == "" {
		return code
	}
	// Ctrl-C may have ended the run; the charts of what was recorded are
	// still wanted.
	a, warnings, err := results.AnalyzeFiles(context.WithoutCancel(ctx), []string{out})
	for _, w := range warnings {
		fmt.Fprintf(stderr, "ftpbench run: warning: %s\n", w)
	}
	if err != nil {
		fail(err)
		return code
	}
	if err := writeCharts(stderr, "run", plotsDir, a); err != nil {
		fail(err)
		return code
	}
	if err := writeHTML(stderr, "run", filepath.Join(plotsDir, "report.html"), a, ts); err != nil {
		fail(err)
	}
	return code
}
