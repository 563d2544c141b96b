package sim

import (
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"ftpbench/loadgen"
)

// npSegSize is the largest run of bytes that becomes readable at one
// instant on a bandwidth-limited link. A write is cut into runs of this
// size so that a reader sees data trickle in at the link's rate (like a
// burst of coalesced TCP segments) instead of all at once when the last
// byte of a large write has been serialised.
const npSegSize = 16 << 10

// npSeg says that the stream's bytes up to offset end are readable from
// instant at on.
type npSeg struct {
	end int64
	at  time.Time
}

// npLinkDir is one direction of a bandwidth-limited link. Every connection
// between the same two hosts in the same direction reserves serialisation
// time here, so they share the bandwidth first come, first served, like
// packets queued at a bottleneck router.
type npLinkDir struct {
	mu   sync.Mutex
	bw   int64     // bytes per second, > 0
	busy time.Time // when the last reserved byte has left the sender
	frac int64     // remainder of busy below 1ns, in units of 1/bw ns
}

// reserve queues n bytes written at now behind the bytes already on the
// link and returns when the last of them has been serialised. The
// sub-nanosecond remainder is carried over, so serialising N bytes in any
// number of pieces takes exactly N/bw while the link stays busy.
func (l *npLinkDir) reserve(now time.Time, n int) time.Time {
	l.mu.Lock()
	if l.busy.Before(now) {
		l.busy, l.frac = now, 0
	}
	x := int64(n)*int64(time.Second) + l.frac
	l.busy = l.busy.Add(time.Duration(x / l.bw))
	l.frac = x % l.bw
	t := l.busy
	l.mu.Unlock()
	return t
}

// npStream is one direction of a connection: the bytes one end wrote and
// the other has not read yet, each tagged with the instant it reaches the
// reader. Offsets count bytes since the connection opened. Delivery is
// computed lazily from the clock when the reader looks, so no goroutine or
// timer runs per byte or per write.
type npStream struct {
	lat    time.Duration        // one-way propagation delay
	link   *npLinkDir           // nil: unlimited bandwidth
	jitter func() time.Duration // nil: none

	buf []byte // buf[off:] holds the bytes [read, written)
	off int

	written   int64 // bytes accepted by Write
	delivered int64 // bytes that have reached the reader (readable)
	read      int64 // bytes consumed by Read

	segs []npSeg // runs written but not yet delivered, from segs[head]
	head int
	last time.Time // arrival of the last byte written so far

	fin   bool      // the writer sent FIN
	finAt time.Time // when the FIN reaches the reader
	rst   bool      // the writer's end sent RST
	rstAt time.Time // when the RST reaches the reader
}

// push copies p into the stream, written at now. Without latency or
// bandwidth limit the bytes are readable at once; otherwise each run of at
// most npSegSize bytes arrives at max(now+lat, arrival of the previous
// byte) + len/bandwidth, computed by the link's reservation.
func (s *npStream) push(now time.Time, p []byte) {
	if len(s.buf)+len(p) > cap(s.buf) && s.off > 0 && s.off >= len(s.buf)/2 {
		// Slide the unread bytes to the front instead of growing; only
		// when at least half the buffer is dead, so the copy is amortised.
		n := copy(s.buf, s.buf[s.off:])
		s.buf, s.off = s.buf[:n], 0
	}
	s.buf = append(s.buf, p...)
	start := s.written
	s.written += int64(len(p))
	if s.lat <= 0 && s.link == nil && s.jitter == nil {
		s.delivered = s.written
		return
	}
	if s.link == nil {
		s.addSeg(s.written, now.Add(s.delay()))
		return
	}
	for off := 0; off < len(p); off += npSegSize {
		n := min(npSegSize, len(p)-off)
		s.addSeg(start+int64(off+n), s.link.reserve(now, n).Add(s.delay()))
	}
}

// delay is the one-way delay of the next run of bytes: latency plus jitter.
func (s *npStream) delay() time.Duration {
	if s.jitter == nil {
		return s.lat
	}
	return s.lat + s.jitter()
}

// addSeg records that bytes up to end arrive at at. Arrivals never go
// backwards within a stream (TCP delivers in order), and runs arriving at
// the same instant are merged so many small writes cost one entry.
func (s *npStream) addSeg(end int64, at time.Time) {
	if at.Before(s.last) {
		at = s.last
	}
	s.last = at
	if n := len(s.segs); n > s.head && s.segs[n-1].at.Equal(at) {
		s.segs[n-1].end = end
		return
	}
	if s.head > 0 && s.head == len(s.segs) {
		s.segs, s.head = s.segs[:0], 0
	} else if s.head >= 32 && s.head*2 >= len(s.segs) {
		n := copy(s.segs, s.segs[s.head:])
		s.segs, s.head = s.segs[:n], 0
	}
	s.segs = append(s.segs, npSeg{end, at})
}

// pending reports whether some written bytes have not been delivered yet.
func (s *npStream) pending() bool { return s.head < len(s.segs) }

// horizon is the latest instant whose arrivals still count at now: bytes
// arriving after an RST are discarded, as the RST tears the connection
// down before they land.
func (s *npStream) horizon(now time.Time) time.Time {
	if s.rst && s.rstAt.Before(now) {
		return s.rstAt
	}
	return now
}

// deliver makes readable every run that has arrived by now.
func (s *npStream) deliver(now time.Time) {
	lim := s.horizon(now)
	for s.head < len(s.segs) && !s.segs[s.head].at.After(lim) {
		s.delivered = s.segs[s.head].end
		s.head++
	}
}

// take copies delivered bytes into b.
func (s *npStream) take(b []byte) int {
	n := int(min(int64(len(b)), s.delivered-s.read))
	copy(b, s.buf[s.off:s.off+n])
	s.off += n
	s.read += int64(n)
	if s.off == len(s.buf) {
		s.buf, s.off = s.buf[:0], 0
	}
	return n
}

// finished reports whether the reader has consumed everything before a FIN
// that has arrived: the reader then gets io.EOF. A FIN that would arrive
// after an RST is discarded with the data.
func (s *npStream) finished(now time.Time) bool {
	return s.fin && !s.finAt.After(now) && (!s.rst || !s.finAt.After(s.rstAt)) &&
		s.read == s.written
}

// reset reports whether an RST has reached the reader by now.
func (s *npStream) reset(now time.Time) bool { return s.rst && !s.rstAt.After(now) }

// npHeaderSize is what a FIN costs on a bandwidth-limited link: one
// TCP/IP header.
const npHeaderSize = 40

// sendFIN queues a FIN behind the bytes already written, so the reader
// sees io.EOF only after all of them. On a bandwidth-limited link the FIN
// is a packet like any other: it also queues behind what other
// connections between the same hosts sent before it, so a 226 written
// before the data connection is closed arrives before its EOF.
func (s *npStream) sendFIN(now time.Time) {
	if s.fin {
		return
	}
	s.fin = true
	sent := now
	if s.link != nil {
		sent = s.link.reserve(now, npHeaderSize)
	}
	s.finAt = sent.Add(s.delay())
	if s.finAt.Before(s.last) {
		s.finAt = s.last
	}
}

// sendRST records an RST reaching the reader at at, keeping the earliest
// if there already is one.
func (s *npStream) sendRST(at time.Time) {
	if !s.rst || at.Before(s.rstAt) {
		s.rst, s.rstAt = true, at
	}
}

// npPipe is one connection: both directions and both ends, in a single
// allocation. Its mutex guards everything in it and is never held across
// a wait: each blocked Read or Write parks on its own reusable Waker (one
// per end and direction, as a Conn has at most one reader and one writer)
// until broadcast wakes it or the next instant something is due, which
// keeps the package usable under testing/synctest and a virtual-time
// Clock, and costs no allocation per wait.
type npPipe struct {
	mu      sync.Mutex
	clock   loadgen.Clock
	spare   *wakerPool       // the network's wakers of closed connections
	window  int64            // Config.Buffer
	wakers  [4]loadgen.Waker // by npWaiter; taken from spare on first use
	waiting uint8            // bit i set while wakers[i] is waited on
	inWait  int              // Reads and Writes between unlock and relock in wait
	s       [2]npStream      // s[i] is written by c[i]
	c       [2]Conn          // c[0] dialled, c[1] accepted
	addrs   [2]net.TCPAddr   // c[0]'s local and remote address
}

// npWaiter names a blocked operation: side*2 for a Read, side*2+1 for a
// Write.
type npWaiter int

func npReader(side int) npWaiter { return npWaiter(2 * side) }
func npWriter(side int) npWaiter { return npWaiter(2*side + 1) }

// broadcast wakes every waiter so that it re-examines the state.
func (p *npPipe) broadcast() {
	for i := range p.wakers {
		if p.waiting&(1<<i) != 0 {
			p.wakers[i].Wake()
		}
	}
	p.waiting = 0
}

// wait releases p.mu, blocks until the state changes or until the instant
// at (if not zero), and takes p.mu again.
func (p *npPipe) wait(who npWaiter, at time.Time) {
	k := p.wakers[who]
	if k == nil {
		k = p.spare.get(p.clock)
		p.wakers[who] = k
	}
	p.waiting |= 1 << who
	p.inWait++
	p.mu.Unlock()
	k.Wait(at)
	p.mu.Lock()
	p.inWait--
	p.waiting &^= 1 << who
	p.recycle()
}

// recycle gives the wakers back to the network once both ends are closed
// and nobody is inside a Wait (a woken Read may not have returned yet):
// then nothing can wait on this pipe again. A waker may come back with a
// wake or an armed deadline left over, which only ends its next Wait
// early; callers re-check what they wait for. With p.mu held.
func (p *npPipe) recycle() {
	if !p.c[0].closed || !p.c[1].closed || p.inWait > 0 {
		return
	}
	for i, k := range p.wakers {
		if k != nil {
			p.spare.put(k)
			p.wakers[i] = nil
		}
	}
}

// wakerPool keeps the wakers of closed connections for new ones: every
// data connection would otherwise make up to four wakers and their
// timers. A plain list, not a sync.Pool, so that which waker a
// connection gets is the same in every run of a seed.
type wakerPool struct {
	mu    sync.Mutex
	spare []loadgen.Waker
}

// maxSpareWakers bounds what a pool keeps after a burst of connections.
const maxSpareWakers = 4096

func (wp *wakerPool) get(c loadgen.Clock) loadgen.Waker {
	wp.mu.Lock()
	defer wp.mu.Unlock()
	if n := len(wp.spare); n > 0 {
		k := wp.spare[n-1]
		wp.spare[n-1] = nil
		wp.spare = wp.spare[:n-1]
		return k
	}
	return c.NewWaker()
}

func (wp *wakerPool) put(k loadgen.Waker) {
	wp.mu.Lock()
	defer wp.mu.Unlock()
	if len(wp.spare) < maxSpareWakers {
		wp.spare = append(wp.spare, k)
	}
}

// npEarliest returns the earlier of a and b, a zero time meaning "never".
func npEarliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// Conn is one end of a simulated TCP connection. It is a net.Conn with the
// extras of *net.TCPConn that matter to FTP: CloseWrite (FIN) and
// SetLinger(0) (RST), plus Reset. Its addresses are *net.TCPAddr.
//
// Timing: bytes written at t become readable at the peer at
// max(t + Latency, arrival of the previous byte on the link) + len/Bandwidth,
// i.e. bandwidth serialises and latency pipelines. Flow control: Write
// blocks while the bytes written and not yet read by the peer (in flight
// plus unread) reach Config.Buffer; the window reopens as soon as the
// peer reads (window updates take no time), so one connection moves at
// most Buffer bytes per one-way latency.
//
// Errors mirror Linux TCP as seen through Go's net package: io.EOF after
// the peer's FIN; ECONNRESET (read or write) once the peer's RST has
// arrived; EPIPE writing after our own CloseWrite; net.ErrClosed for any
// operation on a Conn closed locally; os.ErrDeadlineExceeded past a
// deadline. All are *net.OpError values except io.EOF.
//
// One reader and one writer may run concurrently with each other and with
// Close, CloseWrite, Reset and the deadline setters.
type Conn struct {
	p      *npPipe
	side   int // writes p.s[side], reads p.s[1-side]
	local  *net.TCPAddr
	remote *net.TCPAddr

	// port ownership, for dialled connections only
	host     *Host // nil: the port is not ours to free (accepted conn)
	lport    uint16
	explicit bool           // dialled from a chosen port (DialFrom)
	rap      netip.AddrPort // remote address, for the explicit port's tuple

	// guarded by p.mu
	closed      bool
	activeClose bool // we sent FIN before the peer did: TIME_WAIT is ours
	linger      int
	rdDL, wrDL  time.Time
}

var _ net.Conn = (*Conn)(nil)

func (c *Conn) opErr(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.local, Addr: c.remote, Err: err}
}

// Read reads delivered bytes, at most len(b). It blocks until some byte has
// arrived, the peer's FIN has arrived after all its data (io.EOF), the
// peer's RST has arrived (ECONNRESET, after the bytes that arrived before
// it, like Linux), the read deadline passes, or the Conn is closed. As in
// Go's net package an expired deadline fails the Read even when data is
// waiting, and a zero-length Read returns at once.
func (c *Conn) Read(b []byte) (int, error) {
	p := c.p
	in := &p.s[1-c.side]
	p.mu.Lock()
	for {
		if c.closed {
			p.mu.Unlock()
			return 0, c.opErr("read", net.ErrClosed)
		}
		var now time.Time
		if !c.rdDL.IsZero() || in.pending() || in.fin || in.rst {
			now = p.clock.Now()
		}
		if !c.rdDL.IsZero() && !now.Before(c.rdDL) {
			p.mu.Unlock()
			return 0, c.opErr("read", os.ErrDeadlineExceeded)
		}
		if len(b) == 0 {
			p.mu.Unlock()
			return 0, nil
		}
		if in.pending() {
			in.deliver(now)
		}
		if in.delivered > in.read {
			n := in.take(b)
			p.broadcast() // the window reopened for a blocked writer
			p.mu.Unlock()
			return n, nil
		}
		if in.finished(now) {
			p.mu.Unlock()
			return 0, io.EOF
		}
		if in.reset(now) {
			p.mu.Unlock()
			return 0, c.opErr("read", os.NewSyscallError("read", syscall.ECONNRESET))
		}
		// Sleep until the next thing due: a run of bytes, the FIN, the
		// RST or the deadline; any other change (a write, a close, a new
		// deadline) comes through the wake channel.
		var at time.Time
		if in.pending() {
			if next := in.segs[in.head].at; !in.rst || !next.After(in.rstAt) {
				at = next
			}
		}
		if in.fin && in.finAt.After(now) {
			at = npEarliest(at, in.finAt)
		}
		if in.rst && in.rstAt.After(now) {
			at = npEarliest(at, in.rstAt)
		}
		at = npEarliest(at, c.rdDL)
		p.wait(npReader(c.side), at)
	}
}

// Write copies b into the connection and returns once all of it is
// buffered (it does not wait for delivery). It blocks while the flow
// control window is full; a large Write is thus taken in chunks.
//
// Writing after the peer closed its end: as in TCP the first Write
// "succeeds" (its bytes are discarded), the closed peer answers with an
// RST one round trip later, and from then on Write fails with ECONNRESET.
// We always report ECONNRESET, never EPIPE, for the peer's RST; EPIPE is
// kept for writing after our own CloseWrite.
func (c *Conn) Write(b []byte) (int, error) {
	p := c.p
	out, in := &p.s[c.side], &p.s[1-c.side]
	peer := &p.c[1-c.side]
	n := 0
	var now time.Time
	fresh := false // now was read since the last wait: the clock costs
	p.mu.Lock()
	for {
		if c.closed {
			p.mu.Unlock()
			return n, c.opErr("write", net.ErrClosed)
		}
		if !fresh && (!c.wrDL.IsZero() || in.rst || out.lat > 0 || out.link != nil || peer.closed) {
			now, fresh = p.clock.Now(), true
		}
		if !c.wrDL.IsZero() && !now.Before(c.wrDL) {
			p.mu.Unlock()
			return n, c.opErr("write", os.ErrDeadlineExceeded)
		}
		if out.fin {
			p.mu.Unlock()
			return n, c.opErr("write", os.NewSyscallError("write", syscall.EPIPE))
		}
		if in.reset(now) {
			p.mu.Unlock()
			return n, c.opErr("write", os.NewSyscallError("write", syscall.ECONNRESET))
		}
		if n == len(b) {
			p.mu.Unlock()
			return n, nil
		}
		if peer.closed {
			// Nobody will read these bytes: the closed peer answers
			// their arrival with an RST that travels back to us.
			arrive := now.Add(out.lat)
			if arrive.Before(out.last) {
				arrive = out.last
			}
			in.sendRST(arrive.Add(in.lat))
			p.broadcast()
			p.mu.Unlock()
			return len(b), nil
		}
		if space := p.window - (out.written - out.read); space > 0 {
			k := int(min(space, int64(len(b)-n)))
			out.push(now, b[n:n+k])
			n += k
			p.broadcast()
			continue
		}
		var at time.Time
		if in.rst && in.rstAt.After(now) {
			at = in.rstAt
		}
		at = npEarliest(at, c.wrDL)
		p.wait(npWriter(c.side), at)
		fresh = false
	}
}

// Close closes both directions and frees the local port. Normally it sends
// a FIN behind the data already written, which the peer still receives.
// But if bytes the peer sent have not all been read here (delivered or
// still in flight), Close sends an RST instead, as real TCP does, so the
// peer learns its data was lost; so does SetLinger(0). Blocked Reads and
// Writes on this Conn return net.ErrClosed.
func (c *Conn) Close() error {
	return c.close(false)
}

// Reset aborts the connection: it sends an RST (which overtakes data not
// yet delivered, so the peer loses it and then gets ECONNRESET) and closes
// the Conn like Close. It is SetLinger(0) followed by Close.
func (c *Conn) Reset() error {
	return c.close(true)
}

func (c *Conn) close(abort bool) error {
	p := c.p
	out, in := &p.s[c.side], &p.s[1-c.side]
	p.mu.Lock()
	if c.closed {
		p.mu.Unlock()
		return c.opErr("close", net.ErrClosed)
	}
	now := p.clock.Now()
	abort = abort || c.linger == 0 || in.written > in.read
	if abort {
		out.sendRST(now.Add(out.lat))
	} else {
		c.sendFIN(now)
	}
	c.closed = true
	timeWait := c.activeClose && !abort
	// What the peer sends from now on is discarded; drop what it sent.
	in.buf, in.off, in.segs, in.head = nil, 0, nil, 0
	in.delivered, in.read = in.written, in.written
	p.broadcast()
	p.recycle()
	p.mu.Unlock()
	if c.host != nil {
		c.host.npRelease(c.lport, c.explicit, c.rap, timeWait, now)
	}
	return nil
}

// sendFIN sends our FIN; with p.mu held.
func (c *Conn) sendFIN(now time.Time) {
	out, in := &c.p.s[c.side], &c.p.s[1-c.side]
	if out.fin {
		return
	}
	if !in.fin && !in.rst {
		c.activeClose = true
	}
	out.sendFIN(now)
}

// CloseWrite shuts down the sending direction (half-close): it sends a FIN
// that reaches the peer after all bytes already written, so the peer reads
// them and then io.EOF. Reading continues to work.
func (c *Conn) CloseWrite() error {
	p := c.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.closed {
		return c.opErr("close", net.ErrClosed)
	}
	c.sendFIN(p.clock.Now())
	p.broadcast()
	return nil
}

// SetLinger sets the behaviour of Close like (*net.TCPConn).SetLinger:
// 0 makes Close send an RST and discard unsent data; any other value
// keeps the default graceful close (Close never blocks here).
func (c *Conn) SetLinger(sec int) error {
	p := c.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.closed {
		return c.opErr("set", net.ErrClosed)
	}
	c.linger = sec
	return nil
}

// LocalAddr returns the local address, a *net.TCPAddr.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the peer's address, a *net.TCPAddr.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets the read and write deadlines, measured against
// Config.Clock. It takes effect for Reads and Writes already blocked.
func (c *Conn) SetDeadline(t time.Time) error { return c.setDeadline(t, true, true) }

// SetReadDeadline sets the read deadline, measured against Config.Clock;
// a blocked Read picks up the new value at once. Zero means none.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.setDeadline(t, true, false) }

// SetWriteDeadline sets the write deadline, measured against Config.Clock;
// a blocked Write picks up the new value at once. Zero means none.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.setDeadline(t, false, true) }

func (c *Conn) setDeadline(t time.Time, rd, wr bool) error {
	p := c.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.closed {
		return c.opErr("set", net.ErrClosed)
	}
	if rd {
		c.rdDL = t
	}
	if wr {
		c.wrDL = t
	}
	p.broadcast()
	return nil
}
