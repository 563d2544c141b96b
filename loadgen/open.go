package loadgen

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"ftpbench/results"
)

// dispatch is the open model's clock: it sleeps until each cycle is due
// and hands it to the queue the user-PIs serve, or records it as dropped
// when MaxInFlight cycles are already waiting or running.
func (r *run) dispatch(ctx context.Context) {
	defer r.jobs.close()
	for n := int64(0); ; n++ {
		if r.cfg.Cycles > 0 && n >= r.cfg.Cycles {
			return
		}
		due, ok := r.cfg.Pacer.Due(n)
		if !ok || (r.cfg.Duration > 0 && due >= r.cfg.Duration) {
			return
		}
		at := r.start.Add(due)
		if Sleep(ctx, r.cfg.Clock, at.Sub(r.cfg.Clock.Now())) != nil || r.expired.Load() {
			return
		}
		if !r.jobs.push(job{n: n, intended: at}, r.cfg.MaxInFlight) {
			r.out <- r.dropped(n, at)
		}
	}
}

// dropped is the record of a due cycle that never started.
func (r *run) dropped(n int64, at time.Time) results.Record {
	rec := results.Record{
		Seq: r.seq(n), User: -1, Segment: r.seg, Op: string(r.cfg.Op),
		Mode: string(r.cfg.Modes[n%int64(len(r.cfg.Modes))]), Start: r.cfg.Clock.Now(), Intended: at,
		T: results.NoPhases, Want: -1, Outcome: results.Dropped,
		Err: fmt.Sprintf("%d cycles already in flight (--max-inflight)", r.cfg.MaxInFlight),
	}
	if r.cfg.LoginOnly {
		rec.Mode = string(modeLogin)
	}
	rec.T[results.Done] = 0
	return rec
}

// jobQueue holds due cycles until a user-PI takes them. Waiting goes
// through a Signal so a virtual clock sees who is blocked.
type jobQueue struct {
	clock    Clock
	mu       sync.Mutex
	q        []job
	inFlight int    // queued or running
	closed   bool   // no more jobs will come
	wake     Signal // fired when a job arrives or the queue closes; nil while nobody waits
}

func newJobQueue(c Clock) *jobQueue { return &jobQueue{clock: c} }

// push queues j unless limit cycles are already in flight.
func (q *jobQueue) push(j job, limit int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.inFlight >= limit {
		return false
	}
	q.inFlight++
	q.q = append(q.q, j)
	q.fireLocked()
	return true
}

// pop takes the oldest job, waiting for one; false once the queue is
// closed and empty.
func (q *jobQueue) pop() (job, bool) {
	for {
		q.mu.Lock()
		if len(q.q) > 0 {
			j := q.q[0]
			q.q = q.q[1:]
			q.mu.Unlock()
			return j, true
		}
		if q.closed {
			q.mu.Unlock()
			return job{}, false
		}
		if q.wake == nil {
			q.wake = q.clock.NewSignal()
		}
		w := q.wake
		q.mu.Unlock()
		w.Wait(time.Time{})
	}
}

// done marks a popped job finished.
func (q *jobQueue) done() {
	q.mu.Lock()
	q.inFlight--
	q.mu.Unlock()
}

func (q *jobQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.fireLocked()
	q.mu.Unlock()
}

func (q *jobQueue) fireLocked() {
	if q.wake != nil {
		q.wake.Fire()
		q.wake = nil
	}
}

// userGate is how many user-PIs of a closed model with stages may run
// now; the others wait at the gate.
type userGate struct {
	clock   Clock
	mu      sync.Mutex
	allowed int
	over    bool
	wake    Signal
}

func newUserGate(c Clock, initial int) *userGate { return &userGate{clock: c, allowed: initial} }

// set changes how many user-PIs may run.
func (g *userGate) set(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.allowed = n
	if g.wake != nil {
		g.wake.Fire()
		g.wake = nil
	}
}

// end lets every waiting user-PI leave.
func (g *userGate) end() {
	g.mu.Lock()
	g.over = true
	g.mu.Unlock()
	g.set(0)
}

// admit returns true when user id may run a cycle, waiting while it may
// not, and false when the run is over. leave is called once before the
// first wait, so a ramped-down user-PI closes its session while idle.
func (g *userGate) admit(ctx context.Context, id int, leave func()) bool {
	left := false
	for {
		g.mu.Lock()
		if g.over || ctx.Err() != nil {
			g.mu.Unlock()
			return false
		}
		if id < g.allowed {
			g.mu.Unlock()
			return true
		}
		if g.wake == nil {
			g.wake = g.clock.NewSignal()
		}
		w := g.wake
		g.mu.Unlock()
		if !left {
			leave()
			left = true
		}
		w.Wait(time.Time{})
	}
}

// rampUsers moves the gate through the user stages: within a stage the
// number of users runs linearly from the previous target to the next, so
// the gate changes each time it crosses an integer.
func (r *run) rampUsers(ctx context.Context) {
	// The run ends with the last stage: thinking user-PIs stop thinking.
	defer r.expire()
	defer r.gate.end()
	from := float64(r.cfg.Users)
	var stageStart time.Duration
	for _, st := range r.cfg.UserStages {
		to := st.Target
		for _, at := range crossings(from, to, st.Duration) {
			if Sleep(ctx, r.cfg.Clock, r.start.Add(stageStart+at.at).Sub(r.cfg.Clock.Now())) != nil {
				return
			}
			r.gate.set(at.users)
		}
		stageStart += st.Duration
		from = to
	}
	Sleep(ctx, r.cfg.Clock, r.start.Add(stageStart).Sub(r.cfg.Clock.Now()))
}

type crossing struct {
	at    time.Duration
	users int
}

// crossings lists when a linear ramp from→to over d reaches each whole
// number of users (floor), and that number; a step (d = 0) is one
// crossing at 0.
func crossings(from, to float64, d time.Duration) []crossing {
	if d == 0 || from == to {
		return []crossing{{0, int(math.Floor(to))}}
	}
	var out []crossing
	lo, hi := math.Floor(from), math.Floor(to)
	step := 1.0
	if hi < lo {
		step = -1
	}
	for u := lo + step; (step > 0 && u <= hi) || (step < 0 && u >= hi); u += step {
		level := u
		if step < 0 {
			level = u + 1 // going down, the count drops to u as soon as it is below u+1
		}
		frac := (level - from) / (to - from)
		out = append(out, crossing{time.Duration(frac * float64(d)), int(u)})
	}
	return out
}

func maxTarget(stages []Stage) float64 {
	m := 0.0
	for _, s := range stages {
		m = math.Max(m, s.Target)
	}
	return m
}
