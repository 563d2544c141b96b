// Command ftpsim runs experiments on the in-memory simulation in virtual
// time: the race matrix of server end-behaviours × client end-policies
// (ftpsim race) and capacity sweeps (ftpsim sweep). The same seed prints
// the same output, byte for byte. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"ftpbench/loadgen"
	"ftpbench/results"
	"ftpbench/scenario"
	"ftpbench/sim"
)

const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

const usage = `usage: ftpsim <command> [flags]

commands:
  race    server end-behaviours × client end-policies: what each pair does to transfers
  sweep   capacity curve: users × link latency → cycles/s, setup latency, errors

Run 'ftpsim <command> --help' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "race":
		return cmdRace(ctx, args[1:], stdout, stderr)
	case "sweep":
		return cmdSweep(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "ftpsim: unknown command %q\n%s", args[0], usage)
	return exitUsage
}

// fail prints a one-line usage error and returns exit code 2.
func fail(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "ftpsim %s: %v\n", cmd, err)
	return exitUsage
}

// parse parses args into fs; done is set when the command should stop
// with code (--help, or a bad flag).
func parse(fs *pflag.FlagSet, args []string, stderr io.Writer) (code int, done bool) {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); errors.Is(err, pflag.ErrHelp) {
		return exitOK, true
	} else if err != nil {
		return fail(stderr, fs.Name(), err), true
	}
	if fs.NArg() > 0 {
		return fail(stderr, fs.Name(), fmt.Errorf("unexpected argument %q", fs.Arg(0))), true
	}
	return exitOK, false
}

func validFormat(f string) bool { return f == "text" || f == "csv" || f == "json" }

// linkFlags are a link's three flags under a prefix ("" or "control-").
type linkFlags struct {
	latency   *time.Duration
	bandwidth *string
	jitter    *time.Duration
}

func addLinkFlags(fs *pflag.FlagSet, prefix, what string, def sim.Link) linkFlags {
	bw := "0"
	if def.Bandwidth > 0 {
		bw = fmt.Sprint(def.Bandwidth)
	}
	return linkFlags{
		latency:   fs.Duration(prefix+"latency", def.Latency, "one-way latency of "+what),
		bandwidth: fs.String(prefix+"bandwidth", bw, "bytes per second per direction of "+what+" (0: unlimited)"),
		jitter:    fs.Duration(prefix+"jitter", def.Jitter, "extra one-way delay of "+what+", uniform in [0, jitter), seeded"),
	}
}

func (lf linkFlags) link(prefix string) (sim.Link, error) {
	bw, err := loadgen.ParseSize(*lf.bandwidth)
	if err != nil {
		return sim.Link{}, fmt.Errorf("--%sbandwidth: %w", prefix, err)
	}
	if *lf.latency < 0 || *lf.jitter < 0 {
		return sim.Link{}, fmt.Errorf("--%slatency and --%sjitter must not be negative", prefix, prefix)
	}
	return sim.Link{Latency: *lf.latency, Bandwidth: bw, Jitter: *lf.jitter}, nil
}

func cmdRace(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("race", pflag.ContinueOnError)
	ends := fs.String("ends", "all", "server end-behaviours, comma-separated (close-then-226, 226-then-close, 226-before-flush[:N], delayed-close:D, close-then-250, 226-after-client-close, no-final-reply)")
	policies := fs.String("policies", "all", "client end-policies, comma-separated (strict, eager, eof-only, hold-open, close-first)")
	mode := fs.StringP("mode", "m", "pasv", "data connection modes, comma-separated")
	op := fs.String("op", "retr", "retr or stor")
	cycles := fs.Int64P("cycles", "n", 100, "cycles per cell")
	users := fs.IntP("users", "c", 2, "user-PIs per cell")
	size := fs.String("size", "256KiB", "bytes per transfer")
	timeout := fs.Duration("timeout", 2*time.Second, "user-PI and server deadline, in virtual time")
	seed := fs.Uint64("seed", 1, "seed of scheduling, jitter and server draws")
	format := fs.String("format", "text", "text, csv or json")
	plots := fs.String("plots", "", "also draw the matrix as heat maps (race-matrix.png, .svg) in this directory")
	data := addLinkFlags(fs, "", "the link (data, and control unless --control-* is given)", scenario.DefaultLinks.Data)
	control := addLinkFlags(fs, "control-", "the control connections' own link", sim.Link{})
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	bad := func(err error) int { return fail(stderr, "race", err) }
	cfg := scenario.RaceConfig{Cycles: *cycles, Users: *users, Timeout: *timeout, Seed: *seed}
	var err error
	if *ends != "all" {
		for _, s := range strings.Split(*ends, ",") {
			e, err := sim.ParseEnd(s)
			if err != nil {
				return bad(fmt.Errorf("--ends: %w", err))
			}
			cfg.Ends = append(cfg.Ends, e)
		}
	}
	if *policies != "all" {
		for _, s := range strings.Split(*policies, ",") {
			p, err := loadgen.ParsePolicy(s)
			if err != nil {
				return bad(fmt.Errorf("--policies: %w", err))
			}
			cfg.Policies = append(cfg.Policies, p)
		}
	}
	if cfg.Modes, err = loadgen.ParseModes(*mode); err != nil {
		return bad(fmt.Errorf("--mode: %w", err))
	}
	if cfg.Op, err = loadgen.ParseOp(*op); err != nil {
		return bad(fmt.Errorf("--op: %w", err))
	}
	if cfg.Size, err = loadgen.ParseSize(*size); err != nil || cfg.Size == 0 {
		return bad(fmt.Errorf("--size %q: want a positive byte count", *size))
	}
	if cfg.Links.Data, err = data.link(""); err != nil {
		return bad(err)
	}
	if fs.Changed("control-latency") || fs.Changed("control-bandwidth") || fs.Changed("control-jitter") {
		l, err := control.link("control-")
		if err != nil {
			return bad(err)
		}
		cfg.Links.Control = &l
	}
	switch {
	case *cycles < 1 || *users < 1:
		return bad(errors.New("--cycles and --users must be at least 1"))
	case *timeout <= 0:
		return bad(fmt.Errorf("--timeout %v: must be positive", *timeout))
	case !validFormat(*format):
		return bad(fmt.Errorf("--format %q: want text, csv or json", *format))
	}
	cells, err := scenario.Race(ctx, cfg)
	if err == nil {
		err = scenario.WriteRaceTable(stdout, cells, *format)
	}
	if err == nil && *plots != "" {
		_, err = results.SaveCharts(*plots, []*results.Chart{scenario.RaceChart(cells)})
	}
	return done(stderr, "race", err)
}

// done reports a failed experiment or write on one line and returns the
// exit code.
func done(stderr io.Writer, cmd string, err error) int {
	if err != nil {
		fmt.Fprintf(stderr, "ftpsim %s: %v\n", cmd, err)
		return exitFail
	}
	return exitOK
}

func cmdSweep(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("sweep", pflag.ContinueOnError)
	users := fs.IntSlice("users", []int{1, 10, 100, 1000}, "numbers of user-PIs, comma-separated")
	lats := fs.DurationSlice("latencies", []time.Duration{time.Millisecond, 10 * time.Millisecond, 50 * time.Millisecond}, "one-way link latencies, comma-separated")
	bandwidth := fs.String("bandwidth", "0", "bytes per second per direction of the link (0: unlimited)")
	duration := fs.DurationP("duration", "d", 10*time.Second, "virtual time per point")
	mode := fs.StringP("mode", "m", "pasv", "data connection modes, comma-separated")
	op := fs.String("op", "retr", "retr or stor")
	size := fs.String("size", "64KiB", "bytes per transfer")
	think := fs.Duration("think", 0, "pause between a user-PI's cycles")
	timeout := fs.Duration("timeout", 10*time.Second, "user-PI and server deadline, in virtual time")
	seed := fs.Uint64("seed", 1, "seed of scheduling")
	format := fs.String("format", "text", "text, csv or json")
	plots := fs.String("plots", "", "also draw the capacity curve (capacity.png, .svg) in this directory")
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	bad := func(err error) int { return fail(stderr, "sweep", err) }
	cfg := scenario.SweepConfig{Users: *users, Latencies: *lats, Duration: *duration, Think: *think, Timeout: *timeout, Seed: *seed}
	var err error
	if cfg.Bandwidth, err = loadgen.ParseSize(*bandwidth); err != nil {
		return bad(fmt.Errorf("--bandwidth: %w", err))
	}
	if cfg.Modes, err = loadgen.ParseModes(*mode); err != nil {
		return bad(fmt.Errorf("--mode: %w", err))
	}
	if cfg.Op, err = loadgen.ParseOp(*op); err != nil {
		return bad(fmt.Errorf("--op: %w", err))
	}
	if cfg.Size, err = loadgen.ParseSize(*size); err != nil || cfg.Size == 0 {
		return bad(fmt.Errorf("--size %q: want a positive byte count", *size))
	}
	for _, u := range *users {
		if u < 1 {
			return bad(fmt.Errorf("--users %d: need at least 1", u))
		}
	}
	for _, l := range *lats {
		if l < 0 {
			return bad(fmt.Errorf("--latencies %v: must not be negative", l))
		}
	}
	switch {
	case *duration <= 0 || *timeout <= 0 || *think < 0:
		return bad(errors.New("--duration and --timeout must be positive, --think not negative"))
	case !validFormat(*format):
		return bad(fmt.Errorf("--format %q: want text, csv or json", *format))
	}
	points, err := scenario.Sweep(ctx, cfg)
	if err == nil {
		err = scenario.WriteSweep(stdout, points, *format)
	}
	if err == nil && *plots != "" {
		var c *results.Chart
		if c, err = scenario.SweepChart(points); err == nil {
			_, err = results.SaveCharts(*plots, []*results.Chart{c})
		}
	}
	return done(stderr, "sweep", err)
}
