package loadgen

import (
	"context"
	"net"
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
}

var _ Network = TCP{}

// Dial opens a TCP connection to addr.
func (t TCP) Dial(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{}
	if t.LocalAddr != nil {
		d.LocalAddr = t.LocalAddr
	}
	return d.DialContext(ctx, "tcp", addr)
}

// Listen opens a TCP listener on addr.
func (t TCP) Listen(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	return lc.Listen(ctx, "tcp", addr)
}

// String names the network the way a user would.
func (TCP) String() string { return "tcp" }

// Timer is a one-shot timer from a Clock.
type Timer interface {
	// C delivers the time once the timer fires.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it stopped
	// the timer before it fired.
	Stop() bool
}

// Clock is where the user-PI and the simulated server take all their time
// and start all their goroutines. Over real TCP it is WallClock; a
// simulation may inject a virtual-time scheduler so that a run is
// reproducible from its seed. Code that takes a Clock must not call
// time.Now, time.Sleep, time.After or start goroutines with `go`.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
	// AfterFunc calls f in its own goroutine after d, unless stopped.
	AfterFunc(d time.Duration, f func()) Timer
	// Go runs f concurrently.
	Go(f func())
}

// WallClock is the real clock with plain goroutines. Inside a
// testing/synctest bubble it runs in the bubble's virtual time.
type WallClock struct{}

var _ Clock = WallClock{}

type wallTimer struct{ t *time.Timer }

func (w wallTimer) C() <-chan time.Time { return w.t.C }
func (w wallTimer) Stop() bool          { return w.t.Stop() }

// Now returns time.Now().
func (WallClock) Now() time.Time { return time.Now() }

// NewTimer returns a time.Timer.
func (WallClock) NewTimer(d time.Duration) Timer { return wallTimer{time.NewTimer(d)} }

// AfterFunc wraps time.AfterFunc.
func (WallClock) AfterFunc(d time.Duration, f func()) Timer {
	return wallTimer{time.AfterFunc(d, f)}
}

// Go starts f in a new goroutine.
func (WallClock) Go(f func()) { go f() }

// Sleep waits d on c, or until ctx is done, and returns ctx's error then.
func Sleep(ctx context.Context, c Clock, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := c.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
