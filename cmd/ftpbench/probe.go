package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"

	"ftpbench/loadgen"
	"ftpbench/probe"
)

func cmdProbe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("probe", pflag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: ftpbench probe [flags] ftp://user:pass@host:port/file [ftp://user:pass@host2:port/destination]\n\n"+
			"Checks the server's data connections against RFC 959 §5.2: one PASS/FAIL/N/A line per check, with evidence.\n"+
			"A file of 16 MiB or more gives the most telling results. With a second URL, also copies the file there\n"+
			"server to server (FXP). Exit 0 when the server was probed, whatever it got wrong.\n\n")
		fs.PrintDefaults()
	}
	format := fs.String("format", "text", "report format: text, markdown or json")
	timeout := fs.Duration("timeout", 2*time.Second, "bound of each read, write, dial and accept")
	transfers := fs.Int("transfers", 100, "transfers measured by the close-then-226 check")
	closeWithin := fs.Duration("close-within", 100*time.Millisecond, "how soon after the last byte the server must close the data connection")
	budget := fs.Duration("budget", 25*time.Second, "bound of the whole probe; checks that would start later are N/A")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	bad := func(err error) int { return usageError(stderr, "probe", err) }
	switch {
	case fs.NArg() < 1 || fs.NArg() > 2:
		return bad(fmt.Errorf("want a URL and optionally a second one, have %d arguments", fs.NArg()))
	case *format != "text" && *format != "markdown" && *format != "json":
		return bad(fmt.Errorf("--format %q: want text, markdown or json", *format))
	case *timeout <= 0 || *transfers < 1 || *closeWithin <= 0 || *budget <= 0:
		return bad(errors.New("--timeout, --transfers, --close-within and --budget must be positive"))
	}
	cfg := probe.Config{Timeout: *timeout, Transfers: *transfers, CloseWithin: *closeWithin, Budget: *budget}
	var err error
	if cfg.Target, err = loadgen.ParseTarget(fs.Arg(0)); err != nil {
		return bad(err)
	}
	if fs.NArg() == 2 {
		if cfg.FXPTarget, err = loadgen.ParseTarget(fs.Arg(1)); err != nil {
			return bad(fmt.Errorf("second URL: %w", err))
		}
	}
	rep, err := probe.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "ftpbench probe: %v\n", err)
		return exitFailed
	}
	write := rep.WriteText
	switch *format {
	case "markdown":
		write = rep.WriteMarkdown
	case "json":
		write = rep.WriteJSON
	}
	if err := write(stdout); err != nil {
		fmt.Fprintf(stderr, "ftpbench probe: %v\n", err)
		return exitFailed
	}
	if ctx.Err() != nil {
		return exitInterrupted
	}
	return exitOK
}
