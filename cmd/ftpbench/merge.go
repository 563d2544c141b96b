package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"ftpbench/results"
)

func cmdMerge(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("merge", pflag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: ftpbench merge -o OUT FILE...\n\nJoins results files (shards of one run, --segment i/N) into one, in cycle end order,\nwith seq renumbered 0..n-1; prints the summary of the whole.\n\n")
		fs.PrintDefaults()
	}
	out := fs.StringP("out", "o", "", "merged results file (required)")
	format := fs.String("format", "text", "summary format: text or json")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	switch {
	case *out == "":
		return usageError(stderr, "merge", errors.New("no output file: give -o FILE"))
	case fs.NArg() == 0:
		return usageError(stderr, "merge", errors.New("no results file given"))
	case *format != "text" && *format != "json":
		return usageError(stderr, "merge", fmt.Errorf("--format %q: want text or json", *format))
	}
	sum, warnings, err := results.Merge(ctx, fs.Args(), *out)
	for _, w := range warnings {
		fmt.Fprintf(stderr, "ftpbench merge: warning: %s\n", w)
	}
	switch {
	case ctx.Err() != nil:
		fmt.Fprintf(stderr, "ftpbench merge: interrupted; %s not written\n", *out)
		return exitInterrupted
	case errors.Is(err, results.ErrInput):
		return usageError(stderr, "merge", err)
	case err != nil:
		fmt.Fprintf(stderr, "ftpbench merge: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stderr, "ftpbench merge: %d records from %d files into %s\n", sum.All().Cycles, fs.NArg(), *out)
	return writeSummary(stdout, stderr, sum, *format)
}
