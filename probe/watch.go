package probe

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"ftpbench/loadgen"
)

// watchNet is the Network of the default data port check. It passes
// everything to the real Network and watches the listener that a default
// port cycle opens on the control connection's port U: it records each
// connection accepted there, and listens on U-1 and U+1 as well, so that
// a server that connects to the wrong port (proftpd 1.3.8 connects to
// U-1) is caught in the act instead of being a mere timeout. A connection
// to a neighbour port is drained, like a user-DTP would, and closed.
type watchNet struct {
	loadgen.Network
	clock   loadgen.Clock
	timeout time.Duration
	drains  *loadgen.Group

	mu    sync.Mutex
	u     int  // the watched port
	blind bool // a neighbour of U was taken, so it could not be watched
	conns []watched
}

// watched is one data connection the server made.
type watched struct {
	from, to netip.AddrPort
	wrong    bool  // to a neighbour of U, not U
	bytes    int64 // drained from a wrong-port connection
}

func newWatchNet(n loadgen.Network, c loadgen.Clock, timeout time.Duration) *watchNet {
	return &watchNet{Network: n, clock: c, timeout: timeout, drains: loadgen.NewGroup(c)}
}

// Listen opens the listener on addr and, for a fixed port, the decoys
// next to it (where their ports are free).
func (w *watchNet) Listen(ctx context.Context, addr string) (net.Listener, error) {
	ln, err := w.Network.Listen(ctx, addr)
	if err != nil {
		return nil, err
	}
	host, ps, err := net.SplitHostPort(addr)
	port, perr := strconv.Atoi(ps)
	if err != nil || perr != nil || port == 0 {
		return ln, nil
	}
	w.mu.Lock()
	w.u = port
	w.mu.Unlock()
	wl := &watchListener{Listener: ln, w: w}
	for _, p := range []int{port - 1, port + 1} {
		if p < 1 || p > 65535 {
			continue
		}
		d, err := w.Network.Listen(ctx, net.JoinHostPort(host, strconv.Itoa(p)))
		if err != nil { // taken: that neighbour cannot be watched
			w.mu.Lock()
			w.blind = true
			w.mu.Unlock()
			continue
		}
		wl.decoys = append(wl.decoys, d)
		w.drains.Add(1)
		w.clock.Go(func() {
			defer w.drains.Done()
			w.decoy(d)
		})
	}
	return wl, nil
}

// decoy accepts connections on a neighbour port until it is closed.
func (w *watchNet) decoy(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		w.drains.Add(1)
		w.clock.Go(func() {
			defer w.drains.Done()
			defer c.Close()
			n, _, _, _, _ := drain(c, w.clock, w.timeout, w.clock.Now())
			w.record(c, true, n)
		})
	}
}

func (w *watchNet) record(c net.Conn, wrong bool, n int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.conns = append(w.conns, watched{from: addrPort(c.RemoteAddr()), to: addrPort(c.LocalAddr()), wrong: wrong, bytes: n})
}

// seen waits for the decoys to finish and returns what they and the
// listener saw.
func (w *watchNet) seen() []watched {
	w.drains.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]watched(nil), w.conns...)
}

// blindSpot reports whether a neighbour of U could not be watched.
func (w *watchNet) blindSpot() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.blind
}

// listened returns the port U that was watched, 0 if none.
func (w *watchNet) listened() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.u
}

// watchListener is the listener on U with its decoys.
type watchListener struct {
	net.Listener
	w      *watchNet
	decoys []net.Listener

	once sync.Once
}

// Accept records the connections it returns.
func (l *watchListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.w.record(c, false, 0)
	}
	return c, err
}

// Close closes the listener and the decoys; connections being drained
// end at their own deadline.
func (l *watchListener) Close() error {
	l.once.Do(func() {
		for _, d := range l.decoys {
			d.Close()
		}
	})
	return l.Listener.Close()
}

func addrPort(a net.Addr) netip.AddrPort {
	ap, err := netip.ParseAddrPort(a.String())
	if ta, ok := a.(*net.TCPAddr); ok {
		ap, err = ta.AddrPort(), nil
	}
	if err != nil {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// drain reads c to EOF, within timeout per read, and reports the bytes,
// whether EOF came, and when the last data and the end were read.
func drain(c net.Conn, clock loadgen.Clock, timeout time.Duration, start time.Time) (n int64, eof bool, lastData, end time.Time, err error) {
	buf := make([]byte, 32<<10)
	lastData = start
	for {
		c.SetReadDeadline(clock.Now().Add(timeout))
		k, rerr := c.Read(buf)
		now := clock.Now()
		if k > 0 {
			n += int64(k)
			lastData = now
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				return n, true, lastData, now, nil
			}
			return n, false, lastData, now, rerr
		}
	}
}
