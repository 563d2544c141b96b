// Command ftpbench benchmarks FTP servers: it drives many concurrent user-PIs
// through PASV/PORT/EPSV/EPRT transfer cycles, records every cycle, and
// summarises the records. With no URL it runs against the in-process
// simulation. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
)

// Exit codes, as DESIGN.md's CLI section fixes them.
const (
	exitOK          = 0
	exitFailed      = 1 // the run failed: no cycle succeeded, or output could not be written
	exitUsage       = 2 // bad flags, URL or input file
	exitInterrupted = 130
)

const usage = `usage: ftpbench <command> [flags] [args]

commands:
  run [URL]       run transfer cycles against ftp://user:pass@host:port/path,
                  or the in-process simulated server when no URL is given
  report FILE...  summarise result files; --plots DIR, --html FILE, --threshold EXPR
  merge -o OUT FILE...
                  join result files (shards of one run) into one
  compare BASE NEW
                  compare two result files; exit 1 on a regression
  probe URL [URL2]
                  check a server's data connections against RFC 959 §5.2;
                  with URL2, also server-to-server (FXP) from URL to URL2
  serve           run the simulated FTP server on real TCP

Run 'ftpbench <command> --help' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// runMain dispatches a command line to its command and returns the exit
// code; tests call it in-process.
func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	var cmd func(context.Context, []string, io.Writer, io.Writer) int
	switch args[0] {
	case "run":
		cmd = cmdRun
	case "report":
		cmd = cmdReport
	case "merge":
		cmd = cmdMerge
	case "compare":
		cmd = cmdCompare
	case "probe":
		cmd = cmdProbe
	case "serve":
		cmd = cmdServe
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "ftpbench: unknown command %q\n%s", args[0], usage)
		return exitUsage
	}
	return cmd(ctx, args[1:], stdout, stderr)
}

// parseFlags parses args into fs and prints a one-line error on failure.
// It returns exitOK with done set when --help was asked for.
func parseFlags(fs *pflag.FlagSet, args []string, stderr io.Writer) (code int, done bool) {
	fs.SetOutput(stderr)
	err := fs.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		return exitOK, true
	}
	if err != nil {
		return usageError(stderr, fs.Name(), err), true
	}
	return exitOK, false
}

// usageError prints "ftpbench CMD: problem" and returns the usage exit code.
func usageError(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "ftpbench %s: %v\n", cmd, err)
	return exitUsage
}
