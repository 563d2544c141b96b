package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"ftpbench/results"
)

func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("report", pflag.ContinueOnError)
	format := fs.String("format", "text", "summary format: text or json")
	plotsDir := fs.String("plots", "", "write charts (PNG and SVG) to this directory")
	htmlPath := fs.String("html", "", "write a self-contained HTML report (tables and charts) to this file")
	var thresholds thresholdsFlag
	fs.Var(&thresholds, "threshold", thresholdUsage)
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	if fs.NArg() == 0 {
		return usageError(stderr, "report", errors.New("no results file given"))
	}
	if *format != "text" && *format != "json" {
		return usageError(stderr, "report", fmt.Errorf("--format %q: want text or json", *format))
	}
	a, warnings, err := results.AnalyzeFiles(ctx, fs.Args())
	for _, w := range warnings {
		fmt.Fprintf(stderr, "ftpbench report: warning: %s\n", w)
	}
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "ftpbench report: interrupted")
		return exitInterrupted
	case err != nil:
		return usageError(stderr, "report", err)
	}
	code := writeSummary(stdout, stderr, a.Summary, *format)
	failed := func(err error) {
		fmt.Fprintf(stderr, "ftpbench report: %v\n", err)
		code = exitFailed
	}
	if *plotsDir != "" {
		if err := writeCharts(stderr, "report", *plotsDir, a); err != nil {
			failed(err)
		}
	}
	if *htmlPath != "" {
		if err := writeHTML(stderr, "report", *htmlPath, a, thresholds); err != nil {
			failed(err)
		}
	}
	if !checkThresholds(stdout, stderr, *format, thresholds, a.Summary) {
		code = exitFailed
	}
	return code
}

// writeSummary prints sum as text or JSON.
func writeSummary(stdout, stderr io.Writer, sum *results.Summary, format string) int {
	var err error
	if format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(sum)
	} else {
		err = sum.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ftpbench: writing summary: %v\n", err)
		return exitFailed
	}
	return exitOK
}
