package sim

import (
	"context"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"ftpbench/loadgen"
)

// Link is the path between two hosts, each direction independent.
// Connections between the same two hosts share it: bytes written in one
// direction queue behind each other for the bandwidth (first come, first
// served, whichever connection they belong to), then travel for Latency.
type Link struct {
	Latency   time.Duration // one-way propagation delay
	Bandwidth int64         // bytes per second per direction; 0 = unlimited
	// Jitter adds to each run of bytes (and each FIN) a delay drawn
	// uniformly from [0, Jitter) by the network's seeded generator. TCP
	// still delivers in order: a run never overtakes the one before it.
	Jitter time.Duration
}

// Config configures a Network. The zero value is usable.
type Config struct {
	// Clock gives all time (delivery instants, deadlines) and all timers.
	// Default loadgen.WallClock{}, which inside a testing/synctest bubble
	// runs in virtual time.
	Clock loadgen.Clock
	// Link is the default link between any two hosts (and a host to
	// itself); each pair of hosts gets its own link of these properties.
	Link Link
	// Buffer is the per-direction socket buffer in bytes (flow control
	// window): the most a writer can be ahead of its reader. Default 256 KiB.
	Buffer int
	// EphemeralPorts is the inclusive range Dial and Listen(port 0) take
	// local ports from. Default {32768, 60999}, Linux's.
	EphemeralPorts [2]int
	// Backlog is the accept queue length of a listener; a connection that
	// arrives when it is full is refused. Default 128.
	Backlog int
	// TimeWait, when positive, keeps the local port of a dialled
	// connection unusable for that long after it was closed by the side
	// that closed first (TCP's TIME_WAIT), so fast reconnecting can
	// exhaust the ephemeral ports as it does on real hosts. Default 0:
	// Close frees the port at once.
	TimeWait time.Duration
	// PortLinks gives connections with either end on one of these ports
	// their own link, e.g. {21: control}: with the default Link for data
	// connections, "data path slower than control path" is one setting.
	// The remote port is looked up first.
	PortLinks map[int]Link
	// Seed seeds the jitter generator.
	Seed uint64
	// ReuseAddr gives dialled connections the SO_REUSEADDR of
	// loadgen.TCP.ReuseAddr: Listen may then take the local port of an
	// open dialled connection, as a user-DTP does for RFC 959's default
	// data port (the control connection's own port). Off, that port gives
	// EADDRINUSE.
	ReuseAddr bool
}

// Network is an in-memory TCP/IP network of named hosts ("netpipe"). Its
// connections behave like TCP over links with latency and bandwidth, but
// they block only on channels and Clock timers, so a whole run can execute
// in virtual time under testing/synctest or a virtual-time Clock.
type Network struct {
	cfg Config

	mu     sync.Mutex
	byName map[string]*Host
	byAddr map[netip.Addr]*Host
	next   uint32 // host number of the next automatic address, 127.0.0.0 + next
	links  map[npPair]Link
	dirs   map[npPair]*npLinkDir

	jitterMu sync.Mutex
	jitter   *rand.Rand

	wakers wakerPool // of closed connections, for new ones
}

// npPair is an ordered pair of hosts: one direction of their link, for
// the connections of one PortLinks port (0: every other connection).
type npPair struct {
	from, to *Host
	port     int
}

// NewNetwork returns an empty network; hosts appear on first use.
func NewNetwork(cfg Config) *Network {
	if cfg.Clock == nil {
		cfg.Clock = loadgen.WallClock{}
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 256 << 10
	}
	if cfg.EphemeralPorts == [2]int{} {
		cfg.EphemeralPorts = [2]int{32768, 60999}
	}
	cfg.EphemeralPorts[0] = max(cfg.EphemeralPorts[0], 1)
	cfg.EphemeralPorts[1] = min(cfg.EphemeralPorts[1], 65535)
	if cfg.Backlog <= 0 {
		cfg.Backlog = 128
	}
	return &Network{
		cfg:    cfg,
		byName: make(map[string]*Host),
		byAddr: make(map[netip.Addr]*Host),
		next:   1,
		links:  make(map[npPair]Link),
		dirs:   make(map[npPair]*npLinkDir),
		jitter: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x6a09e667f3bcc908)),
	}
}

// Clock returns the clock the network runs on (Config.Clock or its
// default), so that code sharing the network, such as a simulated
// server, takes its time and goroutines from the same source.
func (n *Network) Clock() loadgen.Clock { return n.cfg.Clock }

// Host returns the host called name, creating it on first use. Hosts get
// the loopback-like addresses 127.0.0.1, 127.0.0.2, ... in creation order,
// so they look local to code that prints or checks addresses; a name that
// is itself an IPv4 address gets that address (and names the host already
// holding it, if any).
func (n *Network) Host(name string) *Host {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.hostLocked(name)
}

func (n *Network) hostLocked(name string) *Host {
	if h := n.byName[name]; h != nil {
		return h
	}
	a, err := netip.ParseAddr(name)
	if err == nil && a.Is4() {
		if h := n.byAddr[a]; h != nil {
			n.byName[name] = h
			return h
		}
	} else {
		for {
			b := [4]byte{127, byte(n.next >> 16), byte(n.next >> 8), byte(n.next)}
			n.next++
			if a = netip.AddrFrom4(b); n.byAddr[a] == nil {
				break
			}
		}
	}
	h := &Host{
		n:     n,
		name:  name,
		addr:  a,
		ip:    net.IP(a.AsSlice()),
		ports: make(map[uint16]*npPort),
		eph:   n.cfg.EphemeralPorts[0],
	}
	n.byName[name] = h
	n.byAddr[a] = h
	return h
}

// SetLink sets the link between hosts a and b (both directions), creating
// them if needed, instead of Config.Link. It applies to connections opened
// afterwards; open connections keep the link they were opened with.
func (n *Network) SetLink(a, b string, l Link) {
	n.mu.Lock()
	defer n.mu.Unlock()
	ha, hb := n.hostLocked(a), n.hostLocked(b)
	for _, k := range []npPair{{ha, hb, 0}, {hb, ha, 0}} {
		n.links[k] = l
		delete(n.dirs, k)
	}
}

// stream returns a new stream from one host to another, for a connection
// between ports fromPort and toPort, with the latency, jitter and (for a
// bandwidth-limited link) the shared serialisation state of its link.
func (n *Network) stream(from, to *Host, fromPort, toPort uint16) npStream {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := npPair{from, to, 0}
	l, ok := n.links[k]
	if !ok {
		l = n.cfg.Link
	}
	for _, port := range []int{int(toPort), int(fromPort)} {
		if pl, ok := n.cfg.PortLinks[port]; ok {
			k.port, l = port, pl
			break
		}
	}
	s := npStream{lat: max(l.Latency, 0)}
	if l.Jitter > 0 {
		s.jitter = func() time.Duration {
			n.jitterMu.Lock()
			defer n.jitterMu.Unlock()
			return time.Duration(n.jitter.Int64N(int64(l.Jitter)))
		}
	}
	if l.Bandwidth > 0 {
		s.link = n.dirs[k]
		if s.link == nil {
			s.link = &npLinkDir{bw: l.Bandwidth}
			n.dirs[k] = s.link
		}
	}
	return s
}

// resolve finds the host for a dial address: a host name, a host's
// address, or "localhost" (the dialling host itself, unless a host has
// that name).
func (n *Network) resolve(from *Host, name string) *Host {
	n.mu.Lock()
	defer n.mu.Unlock()
	if h := n.byName[name]; h != nil {
		return h
	}
	if a, err := netip.ParseAddr(name); err == nil {
		return n.byAddr[a.Unmap()]
	}
	if name == "localhost" {
		return from
	}
	return nil
}

// Host is a machine on a Network with its own address and port space
// (listeners, ephemeral ports, TIME_WAIT). It implements loadgen.Network,
// so client or server code is handed a *Host to act from.
type Host struct {
	n    *Network
	name string
	addr netip.Addr
	ip   net.IP // addr, shared by the *net.TCPAddr values of this host

	mu     sync.Mutex
	ports  map[uint16]*npPort
	tuples map[npTuple]time.Time // explicit-port connections: zero = open, else TIME_WAIT until
	eph    int                   // next ephemeral port to try
	locals []*Host               // other hosts whose addresses are local to this one (AddLocal)
}

// npPort is what holds one local port of a host.
type npPort struct {
	l        *Listener
	ephLive  bool      // an open connection dialled from this ephemeral port
	twUntil  time.Time // the ephemeral port is in TIME_WAIT until then
	explicit int       // open connections dialled from this port by DialFrom
}

func (pt *npPort) free(now time.Time) bool {
	return pt.l == nil && !pt.ephLive && pt.explicit == 0 && !pt.twUntil.After(now)
}

// npTuple identifies a connection dialled from an explicit local port.
type npTuple struct {
	lport uint16
	raddr netip.AddrPort
}

var (
	_ loadgen.Network      = (*Host)(nil)
	_ loadgen.SourceDialer = (*Host)(nil)
)

// AddLocal makes the addresses of other hosts of the same network local
// addresses of h, as a machine with several addresses on one interface
// has: h may then dial from them (DialFromAddr) and listen on them
// (Listen with their address or name). Each keeps its own port space —
// that of its host — so spreading connections over them multiplies the
// ephemeral ports, as loadgen.Config.SourceAddrs does on a real machine.
// Hosts of another network are ignored.
func (h *Host) AddLocal(others ...*Host) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, o := range others {
		if o != nil && o != h && o.n == h.n && !slices.Contains(h.locals, o) {
			h.locals = append(h.locals, o)
		}
	}
}

// local returns the host that holds local address host ("" and the
// wildcard names included) for h: h itself, one of the hosts given to
// AddLocal, or nil when host is not local to h.
func (h *Host) local(host string) *Host {
	if h.isSelf(host) {
		return h
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, o := range h.locals {
		if o.isSelf(host) { // its name or address: the wildcards were h's
			return o
		}
	}
	return nil
}

// DialFromAddr is Dial from an ephemeral port of local, which must be h's
// own address or that of a host given to AddLocal: the connection is then
// that host's, and takes a port of its range. Any other address fails like
// binding an address a machine does not have: EADDRNOTAVAIL.
func (h *Host) DialFromAddr(ctx context.Context, local netip.Addr, addr string) (net.Conn, error) {
	var from *Host
	if local.IsValid() {
		from = h.local(local.Unmap().String())
	}
	if from == nil {
		a := net.TCPAddrFromAddrPort(netip.AddrPortFrom(local, 0))
		return nil, &net.OpError{Op: "dial", Net: "tcp", Source: a, Err: os.NewSyscallError("bind", syscall.EADDRNOTAVAIL)}
	}
	return from.dial(ctx, 0, addr)
}

// Name returns the name the host was created with.
func (h *Host) Name() string { return h.name }

// Addr returns the host's IPv4 address.
func (h *Host) Addr() netip.Addr { return h.addr }

// String returns the host's name.
func (h *Host) String() string { return h.name }

func (h *Host) tcpAddr(port uint16) *net.TCPAddr {
	return &net.TCPAddr{IP: h.ip, Port: int(port)}
}

// Dial connects from an ephemeral port of h to addr ("host:port", host a
// host name or address). An unknown name fails like a failed DNS lookup
// (*net.DNSError, IsNotFound), an address no host has with EHOSTUNREACH. Like TCP it takes one round trip: the SYN reaches
// the peer after one latency, when the connection enters the listener's
// accept queue (so the server may already write), and Dial returns after
// the SYN-ACK came back, one more latency later. A missing listener or a
// full accept queue is answered with an RST: ECONNREFUSED after the round
// trip. No free ephemeral port: EADDRNOTAVAIL at once. Cancelling ctx
// aborts the wait (and resets the half-open connection, if any).
func (h *Host) Dial(ctx context.Context, addr string) (net.Conn, error) {
	return h.dial(ctx, 0, addr)
}

// DialFrom is Dial from a chosen local port, as a server-DTP connecting
// from port L-1 (RFC 959's default data port) does. Several connections
// may share the port when their peers differ; a second connection to the
// same peer address while the first is open or in TIME_WAIT fails with
// EADDRNOTAVAIL; a port held by a listener or an ephemeral connection
// fails with EADDRINUSE.
func (h *Host) DialFrom(ctx context.Context, localPort int, addr string) (net.Conn, error) {
	if localPort <= 0 || localPort > 65535 {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.AddrError{Err: "invalid local port", Addr: strconv.Itoa(localPort)}}
	}
	return h.dial(ctx, uint16(localPort), addr)
}

func (h *Host) dial(ctx context.Context, lport uint16, addr string) (net.Conn, error) {
	n := h.n
	fail := func(raddr net.Addr, err error) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: raddr, Err: err}
	}
	hostname, port, err := npSplit(addr)
	if err != nil {
		return fail(nil, err)
	}
	r := n.resolve(h, hostname)
	if r == nil {
		if a, err := netip.ParseAddr(hostname); err == nil {
			return fail(net.TCPAddrFromAddrPort(netip.AddrPortFrom(a, port)), os.NewSyscallError("connect", syscall.EHOSTUNREACH))
		}
		return fail(nil, &net.DNSError{Err: "no such host", Name: hostname, IsNotFound: true})
	}
	// The connection's two addresses live in its pipe: one allocation
	// for the pipe, none for the addresses.
	p := &npPipe{clock: n.cfg.Clock, spare: &n.wakers, window: int64(n.cfg.Buffer)}
	p.addrs[1] = net.TCPAddr{IP: r.ip, Port: int(port)}
	raddr := &p.addrs[1]
	if port == 0 {
		return fail(raddr, os.NewSyscallError("connect", syscall.ECONNREFUSED))
	}
	if err := ctx.Err(); err != nil {
		return fail(raddr, err)
	}
	explicit := lport != 0
	rap := netip.AddrPortFrom(r.addr, port)
	lport, err = h.bindDial(lport, rap, n.cfg.Clock.Now())
	if err != nil {
		return fail(raddr, err)
	}
	unbind := func() { h.npRelease(lport, explicit, rap, false, time.Time{}) }
	p.s[0] = n.stream(h, r, lport, port)
	p.s[1] = n.stream(r, h, port, lport)
	fwd, back := p.s[0].lat, p.s[1].lat

	// The SYN travels to the peer.
	if err := loadgen.Sleep(ctx, n.cfg.Clock, fwd); err != nil {
		unbind()
		return fail(raddr, err)
	}
	p.addrs[0] = net.TCPAddr{IP: h.ip, Port: int(lport)}
	laddr := &p.addrs[0]
	p.c[0] = Conn{p: p, side: 0, local: laddr, remote: raddr, linger: -1,
		host: h, lport: lport, explicit: explicit, rap: rap}
	p.c[1] = Conn{p: p, side: 1, local: raddr, remote: laddr, linger: -1}
	if !r.enqueue(port, &p.c[1]) {
		// The RST travels back.
		if err := loadgen.Sleep(ctx, n.cfg.Clock, back); err != nil {
			unbind()
			return fail(raddr, err)
		}
		unbind()
		return fail(raddr, os.NewSyscallError("connect", syscall.ECONNREFUSED))
	}
	// The SYN-ACK travels back.
	if err := loadgen.Sleep(ctx, n.cfg.Clock, back); err != nil {
		p.c[0].Reset() // the accepted side sees the abort
		return fail(raddr, err)
	}
	return &p.c[0], nil
}

// bindDial takes the local port for a new connection to rap: lport, or a
// free ephemeral port when lport is 0.
func (h *Host) bindDial(lport uint16, rap netip.AddrPort, now time.Time) (uint16, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if lport != 0 {
		pt := h.ports[lport]
		if pt != nil && (pt.l != nil || pt.ephLive || pt.twUntil.After(now)) {
			return 0, os.NewSyscallError("bind", syscall.EADDRINUSE)
		}
		t := npTuple{lport, rap}
		if until, ok := h.tuples[t]; ok && (until.IsZero() || until.After(now)) {
			return 0, os.NewSyscallError("connect", syscall.EADDRNOTAVAIL)
		}
		if pt == nil {
			pt = &npPort{}
			h.ports[lport] = pt
		}
		pt.explicit++
		if h.tuples == nil {
			h.tuples = make(map[npTuple]time.Time)
		}
		h.tuples[t] = time.Time{}
		return lport, nil
	}
	p, ok := h.ephemeral(now)
	if !ok {
		return 0, os.NewSyscallError("connect", syscall.EADDRNOTAVAIL)
	}
	if pt := h.ports[p]; pt != nil {
		pt.ephLive = true
	} else {
		h.ports[p] = &npPort{ephLive: true}
	}
	return p, nil
}

// ephemeral finds a free port in the ephemeral range, going round from
// where the last search stopped (sequential, hence deterministic); with
// h.mu held.
func (h *Host) ephemeral(now time.Time) (uint16, bool) {
	lo, hi := h.n.cfg.EphemeralPorts[0], h.n.cfg.EphemeralPorts[1]
	for i := 0; i <= hi-lo; i++ {
		p := h.eph
		if h.eph++; h.eph > hi {
			h.eph = lo
		}
		if p < lo || p > hi {
			continue
		}
		pt := h.ports[uint16(p)]
		if pt == nil {
			return uint16(p), true
		}
		if pt.free(now) {
			pt.twUntil = time.Time{}
			return uint16(p), true
		}
	}
	return 0, false
}

// npRelease frees the local port of a dialled connection, or puts it in
// TIME_WAIT when timeWait is set and Config.TimeWait is positive.
func (h *Host) npRelease(lport uint16, explicit bool, rap netip.AddrPort, timeWait bool, now time.Time) {
	tw := h.n.cfg.TimeWait
	h.mu.Lock()
	defer h.mu.Unlock()
	pt := h.ports[lport]
	if pt == nil {
		return
	}
	if explicit {
		pt.explicit--
		t := npTuple{lport, rap}
		if timeWait && tw > 0 {
			h.tuples[t] = now.Add(tw)
			h.sweepTuples(now)
		} else {
			delete(h.tuples, t)
		}
	} else {
		pt.ephLive = false
		if timeWait && tw > 0 {
			pt.twUntil = now.Add(tw)
		}
	}
	if pt.free(now) {
		delete(h.ports, lport)
	}
}

// sweepTuples forgets expired TIME_WAIT tuples once there are many, so a
// long run does not accumulate them; with h.mu held.
func (h *Host) sweepTuples(now time.Time) {
	if len(h.tuples) < 1024 || len(h.tuples)%1024 != 0 {
		return
	}
	for t, until := range h.tuples {
		if !until.IsZero() && !until.After(now) {
			delete(h.tuples, t)
		}
	}
}

// enqueue puts the accepted end of a new connection into the accept queue
// of the listener on port; false means refused.
func (h *Host) enqueue(port uint16, c *Conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	pt := h.ports[port]
	if pt == nil || pt.l == nil {
		return false
	}
	l := pt.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || len(l.queue) >= h.n.cfg.Backlog {
		return false
	}
	l.queue = append(l.queue, c)
	l.broadcast()
	return true
}

// Listen opens a listener on addr: "host:port" or ":port", where host is
// empty, 0.0.0.0, "localhost" or this host's name or address (or those of
// a host given to AddLocal, which then holds the listener; anything else:
// EADDRNOTAVAIL), and port 0 takes an ephemeral port. A port that
// already has a listener, or is the local port of an open dialled
// connection (unless Config.ReuseAddr), gives EADDRINUSE; TIME_WAIT does
// not block it (Go listeners set SO_REUSEADDR).
func (h *Host) Listen(ctx context.Context, addr string) (net.Listener, error) {
	fail := func(err error) (net.Listener, error) {
		var a net.Addr
		if host, port, e := npSplit(addr); e == nil && h.isSelf(host) {
			a = h.tcpAddr(port)
		}
		return nil, &net.OpError{Op: "listen", Net: "tcp", Addr: a, Err: err}
	}
	host, port, err := npSplit(addr)
	if err != nil {
		return fail(err)
	}
	if !h.isSelf(host) {
		if o := h.local(host); o != nil {
			return o.Listen(ctx, addr)
		}
		return fail(os.NewSyscallError("bind", syscall.EADDRNOTAVAIL))
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	now := h.n.cfg.Clock.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if port == 0 {
		p, ok := h.ephemeral(now)
		if !ok {
			return fail(os.NewSyscallError("bind", syscall.EADDRINUSE))
		}
		port = p
	}
	pt := h.ports[port]
	if pt != nil && (pt.l != nil || (pt.ephLive || pt.explicit > 0) && !h.n.cfg.ReuseAddr) {
		return fail(os.NewSyscallError("bind", syscall.EADDRINUSE))
	}
	if pt == nil {
		pt = &npPort{}
		h.ports[port] = pt
	}
	l := &Listener{h: h, port: port, addr: h.tcpAddr(port)}
	pt.l = l
	return l, nil
}

func (h *Host) isSelf(host string) bool {
	switch host {
	case "", "0.0.0.0", "::", "localhost", h.name:
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap() == h.addr
}

// npSplit splits "host:port" with a numeric port.
func npSplit(addr string) (string, uint16, error) {
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.ParseUint(ps, 10, 16)
	if err != nil {
		return "", 0, &net.AddrError{Err: "invalid port", Addr: addr}
	}
	return host, uint16(port), nil
}

// Listener is a listening port of a Host, a net.Listener whose Addr is a
// *net.TCPAddr. Connections enter its accept queue when their SYN
// arrives, before Accept takes them, up to Config.Backlog.
type Listener struct {
	h    *Host
	port uint16
	addr *net.TCPAddr

	mu     sync.Mutex
	wake   loadgen.Signal // fired and replaced on change; nil while nobody waits
	queue  []*Conn
	closed bool
	dl     time.Time
}

var _ net.Listener = (*Listener)(nil)

func (l *Listener) broadcast() {
	if l.wake != nil {
		l.wake.Fire()
		l.wake = nil
	}
}

func (l *Listener) opErr(err error) error {
	return &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: err}
}

// Accept waits for and returns the next connection in the accept queue.
// After Close it fails with an error satisfying errors.Is(err,
// net.ErrClosed); past the deadline set by SetDeadline, with
// os.ErrDeadlineExceeded.
func (l *Listener) Accept() (net.Conn, error) {
	clock := l.h.n.cfg.Clock
	l.mu.Lock()
	for {
		if l.closed {
			l.mu.Unlock()
			return nil, l.opErr(net.ErrClosed)
		}
		if len(l.queue) > 0 {
			c := l.queue[0]
			l.queue[0] = nil
			l.queue = l.queue[1:]
			l.mu.Unlock()
			return c, nil
		}
		if !l.dl.IsZero() && !clock.Now().Before(l.dl) {
			l.mu.Unlock()
			return nil, l.opErr(os.ErrDeadlineExceeded)
		}
		if l.wake == nil {
			l.wake = clock.NewSignal()
		}
		sig, dl := l.wake, l.dl
		l.mu.Unlock()
		sig.Wait(dl)
		l.mu.Lock()
	}
}

// Close stops listening and frees the port at once. Connections still in
// the accept queue are reset (their dialler reads ECONNRESET); accepted
// ones are not affected. Blocked Accepts return net.ErrClosed.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return l.opErr(net.ErrClosed)
	}
	l.closed = true
	q := l.queue
	l.queue = nil
	l.broadcast()
	l.mu.Unlock()
	for _, c := range q {
		c.Reset()
	}
	h := l.h
	h.mu.Lock()
	if pt := h.ports[l.port]; pt != nil && pt.l == l {
		pt.l = nil
		if pt.free(h.n.cfg.Clock.Now()) {
			delete(h.ports, l.port)
		}
	}
	h.mu.Unlock()
	return nil
}

// Addr returns the listening address, a *net.TCPAddr.
func (l *Listener) Addr() net.Addr { return l.addr }

// SetDeadline sets the deadline for Accept, like
// (*net.TCPListener).SetDeadline; it applies to a blocked Accept at once.
// Zero means none.
func (l *Listener) SetDeadline(t time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return l.opErr(net.ErrClosed)
	}
	l.dl = t
	l.broadcast()
	return nil
}
