// Package probe checks how an FTP server handles the data connection rules
// of RFC 959 §5.2 — PASV, PORT, EPSV, EPRT and the default data port, the
// order of the data connection's close and the 226, bounce protection,
// commands out of turn, failed data connections, FXP — and reports each
// check as PASS, FAIL or N/A with the evidence seen on the wire. Failures
// are findings about the server, not errors of the probe.
//
// Transfers are measured with loadgen cycles; the checks that a cycle
// cannot express (a second command before 226, PORT to a third party) talk
// to the server through a loadgen.Session. Every wait is bounded: by
// Config.Timeout per read, write, dial and accept, by a cap per check, and
// by Config.Budget for the whole probe, whatever the server does.
package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"ftpbench/loadgen"
)

// Verdict is a check's result.
type Verdict string

// The verdicts.
const (
	Pass Verdict = "PASS"
	Fail Verdict = "FAIL"
	// NA: the check does not apply (no second URL, a command the server
	// does not implement) or could not run (the time budget was used up).
	NA Verdict = "N/A"
)

// Result is one check's outcome.
type Result struct {
	ID      string  `json:"id"`    // stable name, e.g. "close-then-226"
	Check   string  `json:"check"` // what is checked, in a few words
	Verdict Verdict `json:"verdict"`
	// Note says what the server did in words that do not change from one
	// run to the next (reply codes and texts, no times, ports or
	// counts), so that reports of several servers can be compared.
	Note string `json:"note"`
	// Evidence is what was seen: replies, addresses, byte counts, times.
	Evidence string        `json:"evidence"`
	Elapsed  time.Duration `json:"elapsed_ns"`
}

// Report is the outcome of a probe.
type Report struct {
	Target    string        `json:"target"` // URL, password removed
	FXPTarget string        `json:"fxp_target,omitempty"`
	Greeting  string        `json:"greeting"` // the server's 220 text
	Results   []Result      `json:"results"`
	Elapsed   time.Duration `json:"elapsed_ns"`
}

// Config describes a probe.
type Config struct {
	// Network reaches the server; default loadgen.TCP{ReuseAddr: true}
	// (the default data port check listens on the control connection's
	// port). A sim.Host needs sim.Config.ReuseAddr for that check.
	Network loadgen.Network
	Clock   loadgen.Clock  // default loadgen.WallClock{}
	Target  loadgen.Target // required: the server and a file to RETR
	// FXPTarget, when set, is the destination of the fxp check: the
	// file of Target is copied there (RFC 959 Figure 3). Without it the
	// check is N/A.
	FXPTarget loadgen.Target
	// Timeout bounds each read, write, dial and accept; default 2s.
	Timeout time.Duration
	// Transfers is the number of transfers the close-then-226 check
	// measures; default 100. The order of two events microseconds apart
	// on different connections shows only now and then (see
	// checkCloseThen226), so the check needs many small transfers.
	Transfers int
	// CloseWithin is how soon after the last data byte the server must
	// close the data connection to count as closing "at once"; default
	// 100ms.
	CloseWithin time.Duration
	// Budget bounds the whole probe; default 25s. Checks that would
	// start after it are reported N/A.
	Budget time.Duration
}

func (c *Config) defaults() error {
	if c.Target.Addr == "" || c.Target.Path == "" {
		return errors.New("probe: Config.Target needs an address and a path")
	}
	if c.Network == nil {
		c.Network = loadgen.TCP{ReuseAddr: true}
	}
	if c.Clock == nil {
		c.Clock = loadgen.WallClock{}
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Second
	}
	if c.Transfers <= 0 {
		c.Transfers = 100
	}
	if c.CloseWithin <= 0 {
		c.CloseWithin = 100 * time.Millisecond
	}
	if c.Budget <= 0 {
		c.Budget = 25 * time.Second
	}
	return nil
}

// check is one line of the report: run returns its verdict, note and
// evidence within ctx.
type check struct {
	id, title string
	// capTimeouts bounds the check to this many Timeouts.
	capTimeouts int
	run         func(p *prober, ctx context.Context) (Verdict, string, string)
}

// prober is what the checks share.
type prober struct {
	cfg      *Config
	ctrlPort int    // L, the server-PI's port
	size     int64  // of Target.Path by SIZE, -1 if unknown
	greeting string // the 220 text

	// Observations that two checks read, made by whichever runs first.
	dflt *defaultPort
	end  *endObs
}

// Run probes cfg.Target. It returns an error only when the probe could not
// start: a bad Config, or no login (then there is nothing to probe). The
// checks run one after another, in the order of the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	clock := cfg.Clock
	begin := clock.Now()
	parent := ctx
	ctx, cancel := withDeadline(ctx, clock, cfg.Budget)
	defer cancel()

	p := &prober{cfg: &cfg}
	if err := p.login(ctx); err != nil {
		return nil, err
	}
	rep := &Report{Target: cfg.Target.String(), Greeting: p.greeting}
	if cfg.FXPTarget.Addr != "" {
		rep.FXPTarget = cfg.FXPTarget.String()
	}
	for _, c := range checks {
		start := clock.Now()
		r := Result{ID: c.id, Check: c.title}
		if ctx.Err() != nil {
			r.Verdict, r.Note = NA, "not run: the probe's time budget was used up"
			r.Evidence = fmt.Sprintf("%s (%v)", r.Note, cfg.Budget)
			if parent.Err() != nil {
				r.Note, r.Evidence = "not run: interrupted", "not run: the probe was interrupted"
			}
			rep.Results = append(rep.Results, r)
			continue
		}
		cctx, ccancel := withDeadline(ctx, clock, time.Duration(c.capTimeouts)*cfg.Timeout)
		r.Verdict, r.Note, r.Evidence = c.run(p, cctx)
		ccancel()
		r.Elapsed = clock.Now().Sub(start)
		if ctx.Err() != nil { // the budget ran out (or the caller gave up) mid-check
			r.Verdict, r.Note = NA, "cut short by the probe's time budget"
			if parent.Err() != nil {
				r.Note = "cut short: interrupted"
			}
			r.Evidence = fmt.Sprintf("%s after %v: %s", r.Note, r.Elapsed.Round(time.Millisecond), r.Evidence)
		}
		rep.Results = append(rep.Results, r)
	}
	rep.Elapsed = clock.Now().Sub(begin)
	return rep, nil
}

// login logs in once to learn the greeting, the size of the file and the
// control port, and to fail early when there is nothing to probe.
func (p *prober) login(ctx context.Context) error {
	cfg := p.sessionConfig()
	cfg.Trace = &loadgen.ClientTrace{GotReply: func(_ int, code int, text string) {
		if p.greeting == "" && code == 220 {
			p.greeting = text
		}
	}}
	s, err := loadgen.DialSession(ctx, cfg)
	if err != nil {
		return fmt.Errorf("probe %s: %w", p.cfg.Target, err)
	}
	defer s.Close()
	p.size, p.ctrlPort = s.Size(), int(s.Peer().Port())
	return nil
}

// sessionConfig is the loadgen.Config of the probe's sessions and runs.
func (p *prober) sessionConfig() loadgen.Config {
	return loadgen.Config{Network: p.cfg.Network, Clock: p.cfg.Clock, Target: p.cfg.Target, Timeout: p.cfg.Timeout}
}

// withDeadline derives a context that the clock cancels after d, so that
// budgets run in the simulation's time too.
func withDeadline(ctx context.Context, c loadgen.Clock, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	t := c.AfterFunc(d, func() { cancel(context.DeadlineExceeded) })
	return ctx, func() { t.Stop(); cancel(context.Canceled) }
}

// hostPort formats an address with a port for evidence.
func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }
