package sim

import (
	"container/heap"
	"math/rand/v2"
	"sync"
	"time"

	"ftpbench/loadgen"
)

// VirtualClock is a loadgen.Clock that runs a simulation in virtual time,
// deterministically. Every goroutine of the simulation is a participant
// started with Go or AfterFunc, and exactly one participant runs at a time:
// it holds the baton until it blocks on a Signal (which is how every sim
// primitive and loadgen's user-PI block) or returns. The scheduler then
// hands the baton to a runnable participant chosen by a PCG generator
// seeded with the clock's seed, or, when none is runnable, advances
// virtual time straight to the earliest pending deadline or timer and
// wakes what is due there. Waiting costs no wall time, and since the order
// of every step comes from the seed, the same seed replays the same run.
//
// Participants must block only through the clock (Signals, and what is
// built on them: sim connections and listeners, loadgen.Sleep, Group);
// they may take sync.Mutexes for short critical sections. Goroutines
// outside the simulation (a consumer reading records from a channel, a
// context.AfterFunc callback on Ctrl-C) may Fire signals and start
// participants; they must not Wait.
type VirtualClock struct {
	mu       sync.Mutex
	now      time.Time
	rng      *rand.Rand
	runnable []*vcParticipant
	running  *vcParticipant // holds the baton; nil when nobody does
	timers   vcTimers
	seq      uint64 // orders timers that fall due at the same instant
	started  bool
}

var _ loadgen.Clock = (*VirtualClock)(nil)

// VirtualEpoch is where a VirtualClock's time starts unless told otherwise:
// fixed, so that records of a seeded run are identical byte for byte.
var VirtualEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// NewVirtualClock returns a stopped clock at start (VirtualEpoch if zero)
// whose scheduling choices are drawn from seed. Participants started
// before Start wait for it: setting up a simulation (a server, a load
// run) from outside takes as long as it takes, and must not race the
// participants already started.
func NewVirtualClock(seed uint64, start time.Time) *VirtualClock {
	if start.IsZero() {
		start = VirtualEpoch
	}
	return &VirtualClock{now: start, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

type vcParticipant struct {
	resume chan struct{} // the baton is handed over by a send
	fired  bool          // why the last Wait ended: signal (true) or deadline
	f      func()        // body of a participant not yet started
}

// vcWaiter is one participant blocked in Signal.Wait; the signal and the
// deadline timer race to wake it, and the first sets done.
type vcWaiter struct {
	p    *vcParticipant
	t    *vcTimer // the deadline, if any
	done bool
}

type vcTimer struct {
	at    time.Time
	seq   uint64
	index int       // in the heap; -1 once popped or stopped
	w     *vcWaiter // a Wait's deadline, or
	f     func()    // an AfterFunc's body
}

type vcTimers []*vcTimer

func (h vcTimers) Len() int { return len(h) }
func (h vcTimers) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h vcTimers) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *vcTimers) Push(x any) {
	t := x.(*vcTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *vcTimers) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}

// Start lets the participants run.
func (vc *VirtualClock) Start() {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	vc.started = true
	vc.scheduleLocked()
}

// Now returns the virtual time.
func (vc *VirtualClock) Now() time.Time {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	return vc.now
}

// Go starts f as a participant. It runs when the scheduler picks it.
func (vc *VirtualClock) Go(f func()) {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	vc.spawnLocked(f)
	vc.scheduleLocked()
}

func (vc *VirtualClock) spawnLocked(f func()) {
	p := &vcParticipant{resume: make(chan struct{}, 1)}
	go func() {
		<-p.resume
		defer vc.exit()
		f()
	}()
	vc.runnable = append(vc.runnable, p)
}

// exit gives up the baton of a participant that returned.
func (vc *VirtualClock) exit() {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	vc.running = nil
	vc.scheduleLocked()
}

type vcTimerHandle struct {
	vc *VirtualClock
	t  *vcTimer
}

// Stop cancels the timer if it has not fired yet.
func (h vcTimerHandle) Stop() bool {
	h.vc.mu.Lock()
	defer h.vc.mu.Unlock()
	if h.t.index < 0 {
		return false
	}
	heap.Remove(&h.vc.timers, h.t.index)
	return true
}

// AfterFunc starts f as a participant once virtual time reaches now+d.
func (vc *VirtualClock) AfterFunc(d time.Duration, f func()) loadgen.Timer {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	t := vc.addTimerLocked(vc.now.Add(max(d, 0)))
	t.f = f
	return vcTimerHandle{vc, t}
}

func (vc *VirtualClock) addTimerLocked(at time.Time) *vcTimer {
	vc.seq++
	t := &vcTimer{at: at, seq: vc.seq}
	heap.Push(&vc.timers, t)
	return t
}

// scheduleLocked hands the baton on if nobody holds it: to a runnable
// participant drawn from the seeded generator or, when none is runnable,
// after moving time to the next timer and waking what is due then. With
// neither, the simulation is idle until something outside it fires a
// signal or starts a participant.
func (vc *VirtualClock) scheduleLocked() {
	if vc.running != nil || !vc.started {
		return
	}
	for len(vc.runnable) == 0 && len(vc.timers) > 0 {
		at := vc.timers[0].at
		vc.now = at
		for len(vc.timers) > 0 && vc.timers[0].at.Equal(at) {
			t := heap.Pop(&vc.timers).(*vcTimer)
			switch {
			case t.f != nil:
				vc.spawnLocked(t.f)
			default:
				t.w.done = true
				t.w.p.fired = false
				vc.runnable = append(vc.runnable, t.w.p)
			}
		}
	}
	if len(vc.runnable) == 0 {
		return
	}
	i := vc.rng.IntN(len(vc.runnable))
	p := vc.runnable[i]
	last := len(vc.runnable) - 1
	vc.runnable[i] = vc.runnable[last]
	vc.runnable[last] = nil
	vc.runnable = vc.runnable[:last]
	vc.running = p
	p.resume <- struct{}{}
}

// NewSignal returns a Signal whose waiters are scheduled by vc.
func (vc *VirtualClock) NewSignal() loadgen.Signal { return &vcSignal{vc: vc} }

type vcSignal struct {
	vc      *VirtualClock
	fired   bool
	waiters []*vcWaiter
}

// Fire makes every waiter runnable, in the order they began to wait.
func (s *vcSignal) Fire() {
	vc := s.vc
	vc.mu.Lock()
	defer vc.mu.Unlock()
	if s.fired {
		return
	}
	s.fired = true
	for _, w := range s.waiters {
		if !w.done {
			w.done = true
			w.p.fired = true
			vc.runnable = append(vc.runnable, w.p)
			if w.t != nil && w.t.index >= 0 {
				heap.Remove(&vc.timers, w.t.index)
			}
		}
	}
	s.waiters = nil
	vc.scheduleLocked()
}

// Wait gives up the baton until the signal fires or virtual time reaches
// deadline. Only the running participant may call it.
func (s *vcSignal) Wait(deadline time.Time) bool {
	vc := s.vc
	vc.mu.Lock()
	if s.fired {
		vc.mu.Unlock()
		return true
	}
	w := new(vcWaiter)
	return vc.block(deadline, w, nil, func() { s.waiters = append(s.waiters, w) })
}

// block parks the running participant as w until a wake marks w done or
// virtual time reaches deadline (through t, a timer not in the heap, or a
// new one if t is nil), and
// reports whether the wake came first. enlist puts w where wakes find
// it. Called with vc.mu held; returns with it released.
func (vc *VirtualClock) block(deadline time.Time, w *vcWaiter, t *vcTimer, enlist func()) bool {
	p := vc.running
	if p == nil {
		vc.mu.Unlock()
		panic("sim: VirtualClock: Wait called outside a participant (start it with Clock.Go)")
	}
	if !deadline.IsZero() && !deadline.After(vc.now) {
		vc.mu.Unlock()
		return false
	}
	*w = vcWaiter{p: p}
	if !deadline.IsZero() {
		if t == nil {
			t = new(vcTimer)
		}
		vc.seq++
		*t = vcTimer{at: deadline, seq: vc.seq, w: w}
		heap.Push(&vc.timers, t)
		w.t = t
	}
	enlist()
	vc.running = nil
	vc.scheduleLocked()
	vc.mu.Unlock()
	<-p.resume
	vc.mu.Lock()
	fired := p.fired
	vc.mu.Unlock()
	return fired
}

// NewWaker returns a Waker whose waiter is scheduled by vc.
func (vc *VirtualClock) NewWaker() loadgen.Waker { return &vcWaker{vc: vc} }

// vcWaker keeps its waiter and deadline timer in itself: there is at most
// one of each at a time, so waiting allocates nothing.
type vcWaker struct {
	vc      *VirtualClock
	pending bool      // a Wake came while nobody waited
	w       *vcWaiter // &waiter once waited on; a waiter marked done waits no more
	waiter  vcWaiter
	timer   vcTimer
}

// Wake makes the waiter runnable, or the next Wait return at once.
func (k *vcWaker) Wake() {
	vc := k.vc
	vc.mu.Lock()
	defer vc.mu.Unlock()
	w := k.w
	if w == nil || w.done {
		k.pending = true
		return
	}
	w.done = true
	w.p.fired = true
	vc.runnable = append(vc.runnable, w.p)
	if w.t != nil && w.t.index >= 0 {
		heap.Remove(&vc.timers, w.t.index)
	}
	vc.scheduleLocked()
}

// Wait gives up the baton until Wake or until virtual time reaches
// deadline. Only the running participant may call it.
func (k *vcWaker) Wait(deadline time.Time) bool {
	vc := k.vc
	vc.mu.Lock()
	if k.pending {
		k.pending = false
		vc.mu.Unlock()
		return true
	}
	return vc.block(deadline, &k.waiter, &k.timer, func() { k.w = &k.waiter })
}
