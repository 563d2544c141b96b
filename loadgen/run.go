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
	"math"
	"net/netip"
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
	// Users is the number of user-PIs, each with its own control
	// connection: the concurrency of the closed model, the pool that
	// serves the open model's cycles. Default 1.
	Users int
	// Cycles bounds the total number of cycles; 0 means no bound.
	Cycles int64
	// Duration bounds the time new cycles may start; cycles already
	// running then finish (bounded by Timeout). 0 means no bound.
	Duration time.Duration
	Think    time.Duration // pause between a user-PI's cycles (closed model)
	Policy   Policy        // how a transfer ends; default strict
	Timeout  time.Duration // deadline of every read, write, dial and accept; default 10s

	// Pacer, when set, makes the run an open model: cycles are due when
	// the pacer says, whatever the server does, and each is handed to an
	// idle user-PI. A due cycle waits for one (its record keeps the due
	// time as Intended) unless MaxInFlight cycles are already waiting or
	// running: then it is dropped, and recorded as such.
	Pacer Pacer
	// MaxInFlight bounds the open model's cycles waiting or running;
	// default Users (a due cycle never waits behind another).
	MaxInFlight int
	// UserStages ramps the closed model's active user-PIs from Users
	// through these targets; user-PIs beyond the current target finish
	// their cycle, QUIT and wait. The run ends with the last stage.
	UserStages []Stage

	// CyclesPerLogin makes a user-PI QUIT and log in again after this
	// many cycles on one control connection (0: never). The cycle that
	// logs in records the login phase.
	CyclesPerLogin int
	// LoginOnly makes every cycle a connect, login and QUIT: a "login
	// storm" with no transfer (mode "login").
	LoginOnly bool

	// SourceAddrs spreads the user-PIs over local addresses (user i
	// dials from SourceAddrs[i mod n], data connections included), so a
	// PASV/PORT-heavy run does not exhaust one address's ephemeral ports.
	// The Network must be a SourceDialer.
	SourceAddrs []netip.Addr

	// Segment makes this run shard Index of Count (from 0) of a larger
	// one: see Segment.
	Segment Segment

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
	if c.MaxInFlight == 0 {
		c.MaxInFlight = c.Users
	}
	if err := c.Segment.validate(); err != nil {
		return err
	}
	if _, ok := c.Network.(SourceDialer); len(c.SourceAddrs) > 0 && !ok {
		return fmt.Errorf("loadgen: source addresses need a network that can dial from one; %T cannot", c.Network)
	}
	switch {
	case c.Users < 0:
		return fmt.Errorf("users %d: must be at least 1", c.Users)
	case c.Cycles < 0 || c.Duration < 0 || c.Think < 0 || c.Timeout < 0 || c.Size < 0:
		return errors.New("loadgen: cycles, duration, think, timeout and size must not be negative")
	case c.Cycles == 0 && c.Duration == 0 && len(c.UserStages) == 0 && !c.pacerEnds():
		return errors.New("loadgen: a run needs a bound: cycles, duration or stages")
	case c.Pacer != nil && len(c.UserStages) > 0:
		return errors.New("loadgen: user stages are for the closed model; give the pacer rate stages instead")
	case c.MaxInFlight < 0 || c.CyclesPerLogin < 0:
		return errors.New("loadgen: max in-flight and cycles per login must not be negative")
	case c.Op == OpSTOR && c.Size == 0:
		return errors.New("loadgen: STOR needs a payload size")
	}
	return nil
}

// pacerEnds reports whether the pacer's schedule is finite.
func (c *Config) pacerEnds() bool {
	if c.Pacer == nil {
		return false
	}
	_, ok := c.Pacer.Due(math.MaxInt64 / 2)
	return !ok
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
	r := &run{cfg: &cfg, out: make(chan results.Record, 2*cfg.Users), start: cfg.Clock.Now()}
	r.seg = cfg.Segment.String()
	r.halt = cfg.Clock.NewSignal()
	stopHalt := context.AfterFunc(ctx, r.halt.Fire)
	if cfg.Duration > 0 {
		r.stopTimer = cfg.Clock.AfterFunc(cfg.Duration, r.expire)
	}
	wg := NewGroup(cfg.Clock)
	if cfg.Pacer != nil {
		r.jobs = newJobQueue(cfg.Clock)
		wg.Add(1)
		cfg.Clock.Go(func() {
			defer wg.Done()
			r.dispatch(ctx)
		})
	} else if len(cfg.UserStages) > 0 {
		r.gate = newUserGate(cfg.Clock, cfg.Users)
		wg.Add(1)
		cfg.Clock.Go(func() {
			defer wg.Done()
			r.rampUsers(ctx)
		})
	}
	users := cfg.Users
	if len(cfg.UserStages) > 0 {
		users = max(users, int(math.Ceil(maxTarget(cfg.UserStages))))
	}
	wg.Add(users)
	for i := range users {
		u := newUserPI(i, r.cfg)
		cfg.Clock.Go(func() {
			defer wg.Done()
			r.drive(ctx, u)
		})
	}
	cfg.Clock.Go(func() {
		wg.Wait()
		stopHalt()
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
	start     time.Time
	seg       string       // the Segment as records carry it
	next      atomic.Int64 // next ticket of the closed model
	expired   atomic.Bool  // Duration has passed
	stopTimer Timer
	halt      Signal    // fired when the run is over (duration, ctx): pauses end
	jobs      *jobQueue // open model: due cycles waiting for a user-PI
	gate      *userGate // closed model with stages: how many user-PIs may run
}

// job is one cycle to run: its number and, in the open model, when it
// was due.
type job struct {
	n        int64
	intended time.Time
}

func (r *run) expire() {
	r.expired.Store(true)
	r.halt.Fire()
	if r.gate != nil {
		r.gate.set(0) // wake ramped-down user-PIs so they can leave
	}
}

// seq maps a run-local cycle number to the record's seq: shards of one
// run interleave, so their seq spaces are disjoint and their union is
// 0, 1, 2, … as if one process had run them all.
func (r *run) seq(n int64) int64 {
	return n*int64(r.cfg.Segment.count()) + int64(r.cfg.Segment.Index)
}

// ticket hands out the next closed-model cycle, or false when the run's
// bounds say no more cycles start. A ticket always becomes exactly one
// record.
func (r *run) ticket(ctx context.Context) (int64, bool) {
	if ctx.Err() != nil || r.expired.Load() {
		return 0, false
	}
	n := r.next.Add(1) - 1
	if r.cfg.Cycles > 0 && n >= r.cfg.Cycles {
		return 0, false
	}
	return n, true
}

// ticketsGone reports whether every cycle of a bounded closed model has
// been handed out, so a user-PI need not pause before learning there is
// no more work.
func (r *run) ticketsGone() bool {
	return r.cfg.Cycles > 0 && r.next.Load() >= r.cfg.Cycles
}

// nextJob is where a user-PI gets its next cycle: from the open model's
// queue, or a ticket once the stage gate lets it run.
func (r *run) nextJob(ctx context.Context, u *userPI) (job, bool) {
	if r.jobs != nil {
		return r.jobs.pop()
	}
	if r.gate != nil && !r.gate.admit(ctx, u.id, func() { u.quit() }) {
		return job{}, false
	}
	n, ok := r.ticket(ctx)
	return job{n: n}, ok
}

// drive is one user-PI's life: run cycles back to back, on one control
// connection as long as it lasts, until the run is over; QUIT at the end.
func (r *run) drive(ctx context.Context, u *userPI) {
	defer u.quit()
	for {
		if !r.step(ctx, u) {
			return
		}
		pause := r.cfg.Think
		if u.backoff > 0 {
			pause = u.backoff
		}
		if r.jobs == nil && pause > 0 && (r.ticketsGone() || r.halt.Wait(u.clock.Now().Add(pause))) {
			return
		}
	}
}

// step runs u's next job and hands its record over; it reports whether u
// goes on. It is a function of its own, kept out of drive, because its
// records are big locals: an idle user-PI thinks in drive, and a parked
// goroutine's stack shrinks only if what it uses is small, which takes an
// idle simulated user from 8 to 4 KiB of stack.
//
//go:noinline
func (r *run) step(ctx context.Context, u *userPI) bool {
	j, ok := r.nextJob(ctx, u)
	if !ok {
		return false
	}
	rec, stop := r.cycle(ctx, u, j)
	r.out <- rec
	if r.jobs != nil {
		r.jobs.done()
	}
	return !stop
}

// cycle runs job j on u, (re)connecting first when needed, and returns
// its record; stop is set when u cannot go on (its login is refused).
func (r *run) cycle(ctx context.Context, u *userPI, j job) (rec results.Record, stop bool) {
	seq := r.seq(j.n)
	mode := r.cfg.Modes[j.n%int64(len(r.cfg.Modes))]
	if r.cfg.LoginOnly {
		mode = modeLogin
	}
	defer func() {
		rec.Segment, rec.Intended = r.seg, j.intended
	}()
	if u.ctrl != nil && r.cfg.CyclesPerLogin > 0 && u.onConn >= r.cfg.CyclesPerLogin {
		u.quit()
	}
	var loggedIn time.Time
	if u.ctrl == nil {
		start := u.clock.Now()
		if err := u.connect(ctx); err != nil {
			rec = loginFailure(ctx, u, seq, mode, start, err)
			var re *ReplyError
			if errors.As(err, &re) && re.Code/100 == 5 {
				return rec, true // wrong login or a server that refuses us: retrying won't help
			}
			u.backoff = min(max(2*u.backoff, 10*time.Millisecond), time.Second)
			return rec, false
		}
		u.backoff, u.onConn, loggedIn = 0, 0, start
	}
	if r.cfg.LoginOnly {
		rec = u.loginRecord(seq, loggedIn)
		u.quit()
		return rec, false
	}
	rec = u.runCycle(ctx, seq, mode, loggedIn)
	if u.exhausted {
		u.backoff = min(max(2*u.backoff, 10*time.Millisecond), time.Second)
	} else {
		u.backoff = 0
	}
	u.onConn++
	if u.broken {
		u.close()
	}
	return rec, false
}

// modeLogin is the mode of login-only cycles.
const modeLogin Mode = "login"

// loginRecord is the record of a login-only cycle that logged in at
// start.
func (u *userPI) loginRecord(seq int64, start time.Time) results.Record {
	rec := results.Record{
		Seq: seq, User: u.id, Mode: string(modeLogin), Op: string(u.cfg.Op),
		Start: start, T: results.NoPhases, Want: 0, Outcome: results.OK,
	}
	rec.T[results.Login] = int64(u.clock.Now().Sub(start))
	rec.T[results.Done] = rec.T[results.Login]
	return rec
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
