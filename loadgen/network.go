package loadgen

import (
	"context"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Network is the only way a user-PI reaches the wire, so the same client code
// runs over real TCP and over the in-memory simulation (sim.Network).
//
// Dial opens a connection to addr ("host:port"); Listen opens a listener on
// addr, where port 0 asks for an ephemeral port.
type Network interface {
	Dial(ctx context.Context, addr string) (net.Conn, error)
	Listen(ctx context.Context, addr string) (net.Listener, error)
}

// TCP is the Network of real sockets.
type TCP struct {
	// LocalAddr, when set, is the local address control and data
	// connections are dialled from (port 0: ephemeral).
	LocalAddr *net.TCPAddr
	// ReuseAddr makes the local port of every dialled connection one that
	// a listener of this process may share: the default data port mode
	// listens on the control connection's own port (RFC 959 §3.2). The
	// socket binds an ephemeral port of its own before connecting (a port
	// chosen by connect() may be shared with other connections, whose
	// sockets would block the listen) and sets SO_REUSEADDR; Go's
	// listeners set SO_REUSEADDR too, and on Linux that is all a
	// listener needs to bind a port held by a connected socket. Off by
	// default: explicitly bound ports are not shared between
	// destinations, so a run with many data connections would exhaust the
	// ephemeral range sooner. Without effect where the platform has no
	// SO_REUSEADDR (see reuseAddrControl).
	ReuseAddr bool
}

var _ Network = TCP{}

// Dial opens a TCP connection to addr.
func (t TCP) Dial(ctx context.Context, addr string) (net.Conn, error) {
	return t.dial(ctx, t.LocalAddr, addr)
}

// SourceDialer is a Network that can dial from a chosen local address, so
// a run can spread its connections over several (Config.SourceAddrs).
type SourceDialer interface {
	DialFromAddr(ctx context.Context, local netip.Addr, addr string) (net.Conn, error)
}

var _ SourceDialer = TCP{}

// DialFromAddr opens a TCP connection to addr from local (ephemeral port).
func (t TCP) DialFromAddr(ctx context.Context, local netip.Addr, addr string) (net.Conn, error) {
	return t.dial(ctx, net.TCPAddrFromAddrPort(netip.AddrPortFrom(local, 0)), addr)
}

func (t TCP) dial(ctx context.Context, local *net.TCPAddr, addr string) (net.Conn, error) {
	d := net.Dialer{}
	if local != nil {
		d.LocalAddr = local
	}
	if t.ReuseAddr && reuseAddrControl != nil {
		d.Control = reuseAddrControl
		if d.LocalAddr == nil {
			d.LocalAddr = &net.TCPAddr{} // bind(any, 0) before connect
		}
	}
	return d.DialContext(ctx, "tcp", addr)
}

// PortReserver is a Network that can hold a port closed: bound, so that
// nobody else takes it, but not listening, so that connections to it are
// refused.
type PortReserver interface {
	ReservePort(ip netip.Addr) (netip.AddrPort, io.Closer, error)
}

var _ PortReserver = TCP{}

// Listen opens a TCP listener on addr.
func (t TCP) Listen(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	return lc.Listen(ctx, "tcp", addr)
}

// String names the network the way a user would.
func (TCP) String() string { return "tcp" }

// Timer is a pending call from Clock.AfterFunc.
type Timer interface {
	// Stop prevents the call; it reports whether it stopped it before
	// the call started.
	Stop() bool
}

// Signal is a one-shot broadcast wake-up: once fired it stays fired, like
// a closed channel. It is how participants block on one another in a way
// the Clock can see, so that a virtual-time scheduler knows when everyone
// is blocked and time may advance.
type Signal interface {
	// Fire wakes every waiter, present and future. It may be called from
	// any goroutine, more than once.
	Fire()
	// Wait blocks until the signal fires or the clock reaches deadline (a
	// zero deadline: no limit). It reports whether the signal fired.
	Wait(deadline time.Time) bool
}

// Clock is where the user-PI and the simulated server take all their time,
// start all their goroutines ("participants") and block on one another.
// Over real TCP it is WallClock; the simulation may inject a virtual-time
// scheduler (sim.VirtualClock) that runs one participant at a time in an
// order drawn from a seed, so that a run is reproducible. Code that takes
// a Clock must not call time.Now, time.Sleep or time.After, start
// goroutines with `go`, or block on channels or WaitGroups shared with
// other participants: it uses Signal, Group and Sleep instead.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f as a new participant after d, unless stopped.
	AfterFunc(d time.Duration, f func()) Timer
	// Go runs f as a new participant.
	Go(f func())
	// NewSignal returns an unfired Signal.
	NewSignal() Signal
	// NewWaker returns a Waker with no wake pending.
	NewWaker() Waker
}

// A Waker is a reusable wake-up call for one waiter at a time, for a
// participant that blocks over and over on the same thing (a simulated
// connection's reader): unlike a Signal it is not used up, so waiting
// again costs no allocation.
type Waker interface {
	// Wake ends the current Wait, or the next one if nobody waits now
	// (wakes while nobody waits collapse into one).
	Wake()
	// Wait blocks until Wake or the deadline (zero: none), and reports
	// whether it was woken. It may also end early, reporting false (the
	// deadline of an earlier Wait) or true (a Wake that came as an
	// earlier Wait timed out), so callers re-check what they wait for.
	Wait(deadline time.Time) bool
}

// WallClock is the real clock with plain goroutines. Inside a
// testing/synctest bubble it runs in the bubble's virtual time.
type WallClock struct{}

var _ Clock = WallClock{}

// Now returns time.Now().
func (WallClock) Now() time.Time { return time.Now() }

// AfterFunc wraps time.AfterFunc.
func (WallClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Go starts f in a new goroutine.
func (WallClock) Go(f func()) { go f() }

// NewSignal returns a Signal made of a channel that Fire closes.
func (WallClock) NewSignal() Signal { return &wallSignal{ch: make(chan struct{})} }

// NewWaker returns a Waker made of a one-slot channel and a timer, both
// reused by every Wait.
func (WallClock) NewWaker() Waker { return &wallWaker{ch: make(chan struct{}, 1)} }

type wallWaker struct {
	ch    chan struct{} // holds a pending wake
	timer *time.Timer   // made by the first Wait with a deadline
	armed time.Time     // when timer fires; zero: not armed
}

func (w *wallWaker) Wake() {
	select {
	case w.ch <- struct{}{}:
	default:
	}
}

func (w *wallWaker) Wait(deadline time.Time) bool {
	if deadline.IsZero() {
		<-w.ch
		return true
	}
	select {
	case <-w.ch:
		return true
	default:
	}
	d := time.Until(deadline)
	if d <= 0 {
		return false
	}
	// The timer stays armed after a wake: the next Wait's deadline is
	// usually the same or later (connection deadlines move forward), and
	// a timer that fires before it only ends that Wait early, which
	// callers allow for (they re-check their deadline). Re-arming only
	// when needed saves a timer Reset and Stop per wait. The timer is
	// made and reset by the waiter, so that a testing/synctest bubble
	// owns the timers of the wakers its goroutines wait on.
	switch {
	case w.timer == nil:
		w.timer = time.NewTimer(d)
		w.armed = deadline
	case w.armed.IsZero() || w.armed.After(deadline):
		w.timer.Reset(d)
		w.armed = deadline
	}
	select {
	case <-w.ch:
		return true
	case <-w.timer.C:
		w.armed = time.Time{}
		return false
	}
}

type wallSignal struct {
	once sync.Once
	ch   chan struct{}
}

func (s *wallSignal) Fire() { s.once.Do(func() { close(s.ch) }) }

func (s *wallSignal) Wait(deadline time.Time) bool {
	if deadline.IsZero() {
		<-s.ch
		return true
	}
	select {
	case <-s.ch:
		return true
	default:
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-s.ch:
		return true
	case <-t.C:
		return false
	}
}

// Sleep waits d on c, or until ctx is done, and returns ctx's error then.
func Sleep(ctx context.Context, c Clock, d time.Duration) error {
	if d <= 0 || ctx.Err() != nil {
		return ctx.Err()
	}
	sig := c.NewSignal()
	stop := context.AfterFunc(ctx, sig.Fire)
	sig.Wait(c.Now().Add(d))
	stop()
	return ctx.Err()
}

// Group waits for a set of participants to finish, like sync.WaitGroup,
// but blocks through a Signal so a Clock's scheduler sees the wait.
type Group struct {
	clock Clock
	mu    sync.Mutex
	n     int
	done  Signal // fired when n drops to 0; nil while nobody waits
}

// NewGroup returns an empty Group on c.
func NewGroup(c Clock) *Group { return &Group{clock: c} }

// Add adds delta participants to wait for.
func (g *Group) Add(delta int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n += delta
	if g.n < 0 {
		panic("loadgen: negative Group counter")
	}
	if g.n == 0 && g.done != nil {
		g.done.Fire()
		g.done = nil
	}
}

// Done marks one participant finished.
func (g *Group) Done() { g.Add(-1) }

// Wait blocks until the count is zero.
func (g *Group) Wait() {
	for {
		g.mu.Lock()
		if g.n == 0 {
			g.mu.Unlock()
			return
		}
		if g.done == nil {
			g.done = g.clock.NewSignal()
		}
		s := g.done
		g.mu.Unlock()
		s.Wait(time.Time{})
	}
}
