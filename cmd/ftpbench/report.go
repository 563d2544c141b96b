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
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	if fs.NArg() == 0 {
		return usageError(stderr, "report", errors.New("no results file given"))
	}
	if *format != "text" && *format != "json" {
		return usageError(stderr, "report", fmt.Errorf("--format %q: want text or json", *format))
	}
	sum := results.NewSummary()
	warnings, err := results.ReadFiles(fs.Args(), func(r *results.Record) error {
		sum.Add(r)
		return ctx.Err()
	})
	for _, w := range warnings {
		fmt.Fprintf(stderr, "ftpbench report: warning: %s\n", w)
	}
	if err != nil {
		return usageError(stderr, "report", err)
	}
	return writeSummary(stdout, stderr, sum, *format)
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
