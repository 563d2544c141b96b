// Package loadgen drives FTP transfer cycles: our own user-PI and user-DTP
// (RFC 959 §5.2) on net/textproto, and the closed load model that runs many
// of them at once. It reaches the wire only through a Network and takes all
// time from a Clock, so the same code runs over real TCP and in the
// simulation. It knows nothing of files or plots: it emits results.Record.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"ftpbench/results"
)

// ClientTrace is a set of hooks run as cycles pass the phases of §5.2, in
// the manner of net/http/httptrace. Any hook may be nil. Hooks run on the
// user-PI's goroutines, possibly two of one cycle at once (control and
// data), and must not block.
type ClientTrace struct {
	// PhaseReached is called when a cycle reaches phase p at the time the
	// record stamps.
	PhaseReached func(user int, seq int64, p results.Phase, at time.Time)
	// WroteCommand is called after a command line is sent; PASS's
	// argument is masked.
	WroteCommand func(user int, line string)
	// GotReply is called for every reply read, multi-line text joined by
	// newlines.
	GotReply func(user int, code int, text string)
}

// Config describes a run.
type Config struct {
	Network Network // required
	Clock   Clock   // default WallClock
	Target  Target  // required: server address, login, file
	// FXPTarget is the second server of fxp cycles (RFC 959 Figure 3):
	// Target is the source (RETR), FXPTarget the destination (STOR).
	FXPTarget Target

	Modes []Mode // cycles alternate among these by seq; default pasv
	Op    Op     // default retr
	Size  int64  // STOR payload; RETR expected size when SIZE fails
	Users int    // concurrent user-PIs (closed model); default 1
	// Cycles bounds the total number of cycles; 0 means no bound.
	Cycles int64
	// Duration bounds the time new cycles may start; cycles already
	// running then finish (bounded by Timeout). 0 means no bound.
	Duration time.Duration
	Think    time.Duration // pause between a user-PI's cycles
	Policy   Policy        // how a transfer ends; default strict
	Timeout  time.Duration // deadline of every read, write, dial and accept; default 10s

	// TrustPASVAddress makes PASV connect to the address in the 227 reply
	// instead of the control connection's peer. Off by default: a hostile
	// or misconfigured server could aim data connections anywhere (FTP
	// bounce), and NATed servers announce private addresses.
	TrustPASVAddress bool

	Trace *ClientTrace
}

func (c *Config) validate() error {
	if c.Network == nil {
		return errors.New("loadgen: Config.Network is nil")
	}
	if c.Target.Addr == "" || c.Target.Path == "" {
		return errors.New("loadgen: Config.Target needs an address and a path")
	}
	if c.Clock == nil {
		c.Clock = WallClock{}
	}
	if len(c.Modes) == 0 {
		c.Modes = []Mode{ModePASV}
	}
	if c.Op == "" {
		c.Op = OpRETR
	}
	if c.Policy == "" {
		c.Policy = PolicyStrict
	}
	if _, ok := policyRules[c.Policy]; !ok {
		return fmt.Errorf("loadgen: unknown policy %q", c.Policy)
	}
	if c.Users == 0 {
		c.Users = 1
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	switch {
	case c.Users < 0:
		return fmt.Errorf("users %d: must be at least 1", c.Users)
	case c.Cycles < 0 || c.Duration < 0 || c.Think < 0 || c.Timeout < 0 || c.Size < 0:
		return errors.New("loadgen: cycles, duration, think, timeout and size must not be negative")
	case c.Cycles == 0 && c.Duration == 0:
		return errors.New("loadgen: a run needs a bound: cycles or duration")
	case c.Op == OpSTOR && c.Size == 0:
		return errors.New("loadgen: STOR needs a payload size")
	}
	return nil
}

// Run starts the user-PIs and returns the channel on which every cycle's
// record arrives, one per cycle, whatever happened to it. The channel is
// closed when the run has ended: its bounds were reached, or ctx was
// cancelled (cycles in flight then end as canceled and are still sent).
// The caller must drain the channel.
func Run(ctx context.Context, cfg Config) (<-chan results.Record, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &run{cfg: &cfg, out: make(chan results.Record, 2*cfg.Users)}
	if cfg.Duration > 0 {
		t := cfg.Clock.AfterFunc(cfg.Duration, func() { r.expired.Store(true) })
		r.stopTimer = t
	}
	wg := NewGroup(cfg.Clock)
	wg.Add(cfg.Users)
	for i := range cfg.Users {
		u := newUserPI(i, r.cfg)
		cfg.Clock.Go(func() {
			defer wg.Done()
			r.drive(ctx, u)
		})
	}
	cfg.Clock.Go(func() {
		wg.Wait()
		if r.stopTimer != nil {
			r.stopTimer.Stop()
		}
		close(r.out)
	})
	return r.out, nil
}

type run struct {
	cfg       *Config
	out       chan results.Record
	next      atomic.Int64 // next seq
	expired   atomic.Bool  // Duration has passed
	stopTimer Timer
}

// ticket hands out the next cycle number, or false when the run's bounds
// say no more cycles start. A ticket always becomes exactly one record.
func (r *run) ticket(ctx context.Context) (int64, bool) {
	if ctx.Err() != nil || r.expired.Load() {
		return 0, false
	}
	seq := r.next.Add(1) - 1
	if r.cfg.Cycles > 0 && seq >= r.cfg.Cycles {
		return 0, false
	}
	return seq, true
}

// drive is one user-PI's life: log in, run cycles back to back on the same
// control connection, reconnect (with backoff) when it breaks, QUIT at the
// end.
func (r *run) drive(ctx context.Context, u *userPI) {
	defer u.quit()
	backoff := time.Duration(0)
	for {
		seq, ok := r.ticket(ctx)
		if !ok {
			return
		}
		mode := r.cfg.Modes[seq%int64(len(r.cfg.Modes))]
		if u.ctrl == nil {
			start := u.clock.Now()
			err := u.connect(ctx)
			if err != nil {
				rec := loginFailure(ctx, u, seq, mode, start, err)
				r.out <- rec
				var re *ReplyError
				if errors.As(err, &re) && re.Code/100 == 5 {
					return // wrong login or a server that refuses us: retrying won't help
				}
				backoff = min(max(2*backoff, 10*time.Millisecond), time.Second)
				if Sleep(ctx, u.clock, backoff) != nil {
					return
				}
				continue
			}
			backoff = 0
		}
		r.out <- u.runCycle(ctx, seq, mode)
		if u.broken {
			u.close()
		}
		if r.cfg.Think > 0 && Sleep(ctx, u.clock, r.cfg.Think) != nil {
			return
		}
	}
}

// loginFailure is the record of a cycle that could not start because the
// user-PI failed to connect or log in.
func loginFailure(ctx context.Context, u *userPI, seq int64, mode Mode, start time.Time, err error) results.Record {
	rec := results.Record{
		Seq: seq, User: u.id, Mode: string(mode), Op: string(u.cfg.Op),
		Start: start, T: results.NoPhases, Want: u.want,
		Outcome: classify(ctx, err), Err: err.Error(),
	}
	var re *ReplyError
	if errors.As(err, &re) {
		rec.Code = re.Code
	}
	rec.T[results.Done] = int64(u.clock.Now().Sub(start))
	return rec
}
