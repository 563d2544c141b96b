package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"ftpbench/results"
)

func cmdCompare(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("compare", pflag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: ftpbench compare [flags] BASE NEW\n\nCompares two results files per mode and metric; exits 1 when NEW regressed beyond the tolerance.\n\n")
		fs.PrintDefaults()
	}
	tolerance := fs.String("tolerance", "5%", "relative change for the worse that is still not a regression")
	format := fs.String("format", "text", "output format: text, markdown or json")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	tol, err := results.ParsePercent(*tolerance)
	switch {
	case err != nil:
		return usageError(stderr, "compare", fmt.Errorf("--tolerance: %w", err))
	case fs.NArg() != 2:
		return usageError(stderr, "compare", fmt.Errorf("want BASE and NEW results files, have %d arguments", fs.NArg()))
	case *format != "text" && *format != "markdown" && *format != "json":
		return usageError(stderr, "compare", fmt.Errorf("--format %q: want text, markdown or json", *format))
	}
	var sums [2]*results.Summary
	for i, path := range fs.Args() {
		sums[i] = results.NewSummary()
		warnings, err := results.ReadFiles([]string{path}, func(r *results.Record) error {
			sums[i].Add(r)
			return ctx.Err()
		})
		for _, w := range warnings {
			fmt.Fprintf(stderr, "ftpbench compare: warning: %s\n", w)
		}
		switch {
		case ctx.Err() != nil:
			fmt.Fprintln(stderr, "ftpbench compare: interrupted")
			return exitInterrupted
		case err != nil:
			return usageError(stderr, "compare", err)
		}
	}
	c := results.Compare(sums[0], sums[1], tol)
	switch *format {
	case "markdown":
		err = c.WriteMarkdown(stdout)
	case "json":
		err = c.WriteJSON(stdout)
	default:
		err = c.WriteText(stdout)
	}
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "ftpbench compare: %v\n", err)
		return exitFailed
	case c.Regressions() > 0:
		return exitFailed
	}
	return exitOK
}
