package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"ftpbench/loadgen"
	"ftpbench/progress"
	"ftpbench/results"
	"ftpbench/sim"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: ftpbench run [flags] [ftp://user:pass@host:port/path]\n\nWith no URL, runs against the in-process simulated server.\n\n")
		fs.PrintDefaults()
	}
	modes := fs.StringP("mode", "m", "pasv,port", "data connection modes, comma-separated: pasv, port, epsv, eprt, default (RFC 959 default data port), fxp (server to server: give the source URL, then the destination URL) (cycles alternate)")
	op := fs.String("op", "retr", "transfer: retr (download) or stor (upload)")
	size := fs.String("size", "64KiB", "STOR payload; RETR file size in the simulation, or expected size when the server lacks SIZE")
	users := fs.IntP("users", "c", 10, "concurrent user-PIs, each with its own control connection")
	duration := fs.DurationP("duration", "d", 0, "stop starting cycles after this long (default 5s when -n is not given)")
	cycles := fs.Int64P("cycles", "n", 0, "total cycles to run (0: bounded by -d only)")
	think := fs.Duration("think", 0, "pause between a user-PI's cycles")
	timeout := fs.Duration("timeout", 10*time.Second, "deadline of every read, write, dial and accept")
	out := fs.StringP("out", "o", "results.jsonl", "results file (JSON Lines, one record per cycle)")
	format := fs.String("format", "text", "summary format: text or json")
	trustPASV := fs.Bool("trust-pasv-address", false, "connect to the address in the 227 reply instead of the control connection's peer")
	simLatency := fs.Duration("sim-latency", 0, "simulation only: one-way latency of every link")
	simBandwidth := fs.String("sim-bandwidth", "0", "simulation only: bytes per second per direction of every link (0: unlimited)")
	rate := fs.Float64("rate", 0, "open model: cycles per second across all users (0: closed model, each user-PI runs back to back)")
	stages := fs.String("stages", "", "ramp users (closed model) or the rate (with --rate) through DURATION:TARGET legs, e.g. 30s:100,1m:500,30s:0")
	maxInFlight := fs.Int("max-inflight", 0, "open model: cycles waiting or running before due cycles are dropped (default -c)")
	perLogin := fs.Int("cycles-per-login", 0, "QUIT and log in again every K cycles; the login is then a phase of the cycle (0: never)")
	loginOnly := fs.Bool("login-only", false, "cycles are connect, login and QUIT only (a login storm)")
	segment := fs.String("segment", "", "run shard i of N (i/N): its share of users, cycles and rate, and seqs i, i+N, …")
	startAt := fs.String("start-at", "", "wait until this wall-clock time (RFC 3339) before starting, so shards start together")
	sourceAddrs := fs.String("source-addrs", "", "spread user-PIs over local addresses, e.g. 127.0.0.1-127.0.0.16 (user i uses address i mod N for control and data); in the simulation each is a simulated client host (default there: one per 14,116 users, half a host's ephemeral ports)")
	progressInterval := fs.Duration("progress-interval", 5*time.Second, "progress on stderr: a line per interval, a live bar on a terminal (0: none)")
	policy := fs.String("policy", "strict", "how a transfer ends: strict (RFC 959), eager, eof-only, hold-open, close-first")
	virtual := fs.Bool("virtual", false, "simulation only: run in virtual time, deterministic for a --seed (-d counts virtual time)")
	seed := fs.Uint64("seed", 1, "simulation only: seed of scheduling (--virtual), jitter and server draws")
	plotsDir := fs.String("plots", "", "after the run, write charts (PNG, SVG) and report.html to this directory")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	var thresholds thresholdsFlag
	fs.Var(&thresholds, "threshold", thresholdUsage)
	creds := addCredentialFlags(fs)
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return usageError(stderr, "run", fmt.Errorf("--cpuprofile: %w", err))
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return usageError(stderr, "run", fmt.Errorf("--cpuprofile: %w", err))
		}
		defer pprof.StopCPUProfile()
	}

	cfg := loadgen.Config{Users: *users, Cycles: *cycles, Duration: *duration, Think: *think, Timeout: *timeout, TrustPASVAddress: *trustPASV,
		MaxInFlight: *maxInFlight, CyclesPerLogin: *perLogin, LoginOnly: *loginOnly}
	bad := func(err error) int { return usageError(stderr, "run", err) }
	var err error
	if cfg.Modes, err = loadgen.ParseModes(*modes); err != nil {
		return bad(fmt.Errorf("--mode: %w", err))
	}
	if cfg.Op, err = loadgen.ParseOp(*op); err != nil {
		return bad(fmt.Errorf("--op: %w", err))
	}
	if cfg.Policy, err = loadgen.ParsePolicy(*policy); err != nil {
		return bad(fmt.Errorf("--policy: %w", err))
	}
	var legs []loadgen.Stage
	if *stages != "" {
		if legs, err = loadgen.ParseStages(*stages); err != nil {
			return bad(fmt.Errorf("--stages: %w", err))
		}
	}
	switch {
	case *progressInterval < 0:
		return bad(fmt.Errorf("--progress-interval %v: must not be negative", *progressInterval))
	case *rate < 0 || *maxInFlight < 0 || *perLogin < 0:
		return bad(errors.New("--rate, --max-inflight and --cycles-per-login must not be negative"))
	case fs.Changed("rate"):
		cfg.Pacer = loadgen.StagesPacer{Start: *rate, Stages: legs}
	case fs.Changed("max-inflight"):
		return bad(errors.New("--max-inflight applies to the open model: give --rate"))
	default:
		cfg.UserStages = legs
	}
	// fxp and default cycles need a second server and a shareable control
	// port (loadgen.ModeFXP, loadgen.ModeDefault).
	fxp, dflt := slices.Contains(cfg.Modes, loadgen.ModeFXP), slices.Contains(cfg.Modes, loadgen.ModeDefault)
	var startTime time.Time
	if *startAt != "" {
		if startTime, err = time.Parse(time.RFC3339, *startAt); err != nil {
			return bad(fmt.Errorf("--start-at %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", *startAt))
		}
	}
	n, err := loadgen.ParseSize(*size)
	if err != nil {
		return bad(fmt.Errorf("--size: %w", err))
	}
	bw, err := loadgen.ParseSize(*simBandwidth)
	if err != nil {
		return bad(fmt.Errorf("--sim-bandwidth: %w", err))
	}
	switch {
	case *users < 1:
		return bad(fmt.Errorf("--users %d: need at least 1", *users))
	case *cycles < 0 || *duration < 0 || *think < 0:
		return bad(errors.New("--cycles, --duration and --think must not be negative"))
	case *timeout <= 0:
		return bad(fmt.Errorf("--timeout %v: must be positive", *timeout))
	case *format != "text" && *format != "json":
		return bad(fmt.Errorf("--format %q: want text or json", *format))
	case fs.NArg() > 1 && !(fxp && fs.NArg() == 2):
		return bad(fmt.Errorf("want at most one URL (two with --mode fxp), have %d arguments", fs.NArg()))
	case fxp && fs.NArg() == 1:
		return bad(errors.New("--mode fxp copies between two servers: give the source URL and the destination URL (or neither: the simulation)"))
	case fxp && cfg.Op != loadgen.OpRETR:
		return bad(errors.New("--mode fxp copies the source URL's file to the destination URL; --op does not apply"))
	case cfg.Op == loadgen.OpSTOR && n == 0:
		return bad(errors.New("--size 0: stor needs a payload"))
	}
	if *cycles == 0 && *duration == 0 && len(legs) == 0 {
		cfg.Duration = 5 * time.Second
	}
	if *segment != "" {
		seg, err := loadgen.ParseSegment(*segment)
		if err != nil {
			return bad(fmt.Errorf("--segment: %w", err))
		}
		cfg = seg.Split(cfg)
	}

	var sources []netip.Addr
	if *sourceAddrs != "" {
		if sources, err = loadgen.ParseSourceAddrs(*sourceAddrs); err != nil {
			return bad(fmt.Errorf("--source-addrs: %w", err))
		}
	}

	where := "simulated server"
	if fs.NArg() >= 1 {
		cfg.SourceAddrs = sources
		for _, f := range []string{"sim-latency", "sim-bandwidth", "virtual", "seed"} {
			if fs.Changed(f) {
				return bad(fmt.Errorf("--%s applies only to the simulation (no URL)", f))
			}
		}
		if cfg.Target, err = loadgen.ParseTarget(fs.Arg(0)); err != nil {
			return bad(err)
		}
		if err := creds.apply(&cfg.Target, fs.Arg(0)); err != nil {
			return bad(err)
		}
		cfg.Network = loadgen.TCP{ReuseAddr: dflt}
		if fs.Changed("size") || cfg.Op == loadgen.OpSTOR {
			cfg.Size = n
		}
		where = cfg.Target.String()
		if lim, err := raiseFileLimit(); err == nil {
			if err := checkFileLimit(cfg.Users, cfg.Modes, lim); err != nil {
				return bad(err)
			}
		}
		if fxp {
			if cfg.FXPTarget, err = loadgen.ParseTarget(fs.Arg(1)); err != nil {
				return bad(fmt.Errorf("destination URL: %w", err))
			}
			where += " (fxp to " + cfg.FXPTarget.String() + ")"
		}
	} else {
		if err := creds.apply(nil, ""); err != nil {
			return bad(err)
		}
		for _, a := range sources {
			if !a.Is4() {
				return bad(fmt.Errorf("--source-addrs %s: the simulation's hosts have IPv4 addresses", a))
			}
		}
		var clock loadgen.Clock
		if *virtual {
			vc := sim.NewVirtualClock(*seed, time.Time{})
			clock, cfg.Clock = vc, vc
			where = fmt.Sprintf("simulated server in virtual time, seed %d", *seed)
		}
		tb, err := sim.StartTestbed(sim.TestbedConfig{
			Net: sim.Config{Link: sim.Link{Latency: *simLatency, Bandwidth: bw}, Seed: *seed, Clock: clock, Backlog: max(128, cfg.Users), ReuseAddr: dflt,
				EphemeralPorts: simEphemeralPorts},
			Server: sim.ServerConfig{Anonymous: true, Timeout: *timeout, MaxSessions: max(10000, cfg.Users), DefaultDataPort: dflt, AllowFXP: fxp},
		})
		if err != nil {
			fmt.Fprintf(stderr, "ftpbench run: starting the simulation: %v\n", err)
			return exitFailed
		}
		defer tb.Close()
		cfg.Network = tb.Client
		cfg.SourceAddrs = tb.ClientAddrs(simUsers(cfg), sources)
		if n := len(cfg.SourceAddrs); n > 1 && len(sources) == 0 {
			where += fmt.Sprintf(", users spread over %d simulated client addresses", n)
		}
		cfg.Size = n
		cfg.Target = loadgen.Target{Addr: tb.Addr, User: "anonymous", Password: "ftpbench@", Path: fmt.Sprintf("/size/%d", n)}
		// fxp in the simulation: the server copies to itself over a
		// second session (Figure 3 with A = B).
		cfg.FXPTarget = loadgen.Target{Addr: tb.Addr, User: "anonymous", Password: "ftpbench@", Path: "/fxp-{user}-{seq}"}
	}

	f, err := os.Create(*out)
	if err != nil {
		return bad(fmt.Errorf("--out: %w", err))
	}
	bound := fmt.Sprintf("for %v", cfg.Duration)
	switch {
	case cfg.Cycles > 0:
		bound = fmt.Sprintf("%d cycles", cfg.Cycles)
	case len(legs) > 0:
		bound = "stages " + loadgen.FormatStages(legs)
	}
	model := fmt.Sprintf("%d users", cfg.Users)
	if cfg.Pacer != nil {
		model = fmt.Sprintf("%v with %d users", cfg.Pacer, cfg.Users)
	}
	if cfg.Segment.Count > 0 {
		model += ", segment " + cfg.Segment.String()
	}
	fmt.Fprintf(stderr, "ftpbench: %s, %s %s of %s, %s, against %s; records to %s\n",
		model, strings.Join(strings.Split(*modes, ","), "/"), cfg.Op, *size, bound, where, *out)
	if !startTime.IsZero() {
		if err := loadgen.Sleep(ctx, loadgen.WallClock{}, time.Until(startTime)); err != nil {
			f.Close()
			return exitInterrupted
		}
	}

	clock := cfg.Clock
	if clock == nil {
		clock = loadgen.WallClock{}
	}
	runStart := clock.Now()
	records, err := loadgen.Run(ctx, cfg)
	if err != nil {
		f.Close()
		return bad(err)
	}
	if vc, ok := cfg.Clock.(*sim.VirtualClock); ok {
		vc.Start() // the server and every user-PI are set up: let them run
	}
	sum := results.NewSummary()
	enc := results.NewEncoder(f)
	var writeErr error
	bounds := cfg.Duration
	if len(legs) > 0 {
		bounds = loadgen.StagesDuration(legs)
	}
	prog := progress.Start(progress.Options{Out: stderr, Terminal: progress.IsTerminal(stderr), Interval: *progressInterval, Cycles: cfg.Cycles, Duration: bounds})
	for rec := range records {
		sum.Add(&rec)
		prog.Add(&rec)
		if writeErr == nil {
			writeErr = enc.Encode(&rec)
		}
	}
	prog.Stop()
	if writeErr == nil {
		writeErr = enc.Flush()
	}
	if err := f.Close(); writeErr == nil {
		writeErr = err
	}
	code := writeSummary(stdout, stderr, sum, *format)
	info := &results.RunInfo{Command: results.RedactCommand(append([]string{"ftpbench", "run"}, args...)),
		Target: where, Start: sum.All().Start, End: clock.Now().UTC(), EndReason: "completed",
		Stages: stageMarks(runStart, legs, cfg.Pacer != nil)}
	switch {
	case writeErr != nil:
		fmt.Fprintf(stderr, "ftpbench run: writing %s: %v\n", *out, writeErr)
		info.EndReason, code = "write error: "+writeErr.Error(), exitFailed
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "ftpbench run: interrupted; every record so far is in", *out)
		info.EndReason, code = "interrupted", exitInterrupted
	case sum.All().OK == 0:
		fmt.Fprintln(stderr, "ftpbench run: no cycle succeeded")
		info.EndReason, code = "no cycle succeeded", exitFailed
	}
	return finishRun(ctx, stdout, stderr, *out, info, sum, thresholds, *plotsDir, *format, code)
}

// simEphemeralPorts is the simulated hosts' ephemeral port range:
// Linux's default, as the simulation's. Tests shrink it.
var simEphemeralPorts = [2]int{32768, 60999}

// simUsers is the most user-PIs a run has at once.
func simUsers(cfg loadgen.Config) int {
	users := cfg.Users
	for _, leg := range cfg.UserStages {
		users = max(users, int(math.Ceil(leg.Target)))
	}
	return users
}

// stageMarks lists when each stage began, for the charts: runStart plus
// the durations of the stages before it.
func stageMarks(runStart time.Time, legs []loadgen.Stage, rate bool) []results.StageMark {
	unit := " users"
	if rate {
		unit = "/s"
	}
	marks := make([]results.StageMark, len(legs))
	at := runStart.UTC()
	for i, leg := range legs {
		marks[i] = results.StageMark{At: at, Label: fmt.Sprintf("→ %g%s", leg.Target, unit)}
		at = at.Add(leg.Duration)
	}
	return marks
}
