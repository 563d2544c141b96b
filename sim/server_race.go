package sim

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"ftpbench/internal/synth"
	"ftpbench/loadgen"
)

// This file is what the race knobs (server_knobs.go) do on the wire: the
// end-of-transfer behaviours as a table of step-by-step functions, the
// setup and data faults as small named pieces called from the session's
// data connection code, the passive port range, and the seeded generator
// the per-transfer draws come from.

// raceState is a Server's share of the knobs: the generator, the
// counters and the passive port table.
type raceState struct {
	ends   EndMix
	faults FaultMix
	fixed  bool // one behaviour and no faults: nothing to draw
	end0   End  // the behaviour when fixed

	mu         sync.Mutex
	rng        *rand.Rand
	endCount   map[End]int64
	faultCount map[Fault]int64

	noFreePort atomic.Int64
	ports      *srvPassivePorts // nil: any ephemeral port
}

// raceSeed2 is the second half of the PCG seed: any fixed constant will
// do, so that Seed alone names the stream.
const raceSeed2 = 0x9e3779b97f4a7c15

func newRaceState(k RaceKnobs, n loadgen.Network, clock loadgen.Clock) *raceState {
	rs := &raceState{
		ends:       k.End,
		faults:     k.Faults,
		rng:        rand.New(rand.NewPCG(k.Seed, raceSeed2)),
		endCount:   make(map[End]int64),
		faultCount: make(map[Fault]int64),
	}
	if len(k.Faults) == 0 && len(k.End) <= 1 {
		rs.fixed, rs.end0 = true, k.End.pick(0)
	}
	if k.PassivePorts != [2]int{} {
		tw := k.PassiveTimeWait
		if tw == 0 {
			tw = srvNetworkTimeWait(n)
		}
		rs.ports = &srvPassivePorts{
			lo:    max(k.PassivePorts[0], 1),
			hi:    min(k.PassivePorts[1], 65535),
			tw:    max(tw, 0),
			clock: clock,
			use:   make(map[uint16]*srvPortUse),
		}
	}
	return rs
}

// srvNetworkTimeWait is the TIME_WAIT of the simulated network n belongs
// to, or 0 for any other Network.
func srvNetworkTimeWait(n loadgen.Network) time.Duration {
	if h, ok := n.(*Host); ok {
		return h.n.cfg.TimeWait
	}
	return 0
}

// srvDraw is what one transfer drew: how it ends and what fault it has.
type srvDraw struct {
	end   End
	fault Fault
}

// draw makes the draws of one transfer: always two numbers, the end
// behaviour's and the fault's, so the stream stays aligned whatever the
// mixes are.
func (rs *raceState) draw() srvDraw {
	if rs.fixed {
		return srvDraw{end: rs.end0}
	}
	rs.mu.Lock()
	u, v := rs.rng.Float64(), rs.rng.Float64()
	rs.mu.Unlock()
	return srvDraw{end: rs.ends.pick(u), fault: rs.faults.pick(v)}
}

func (rs *raceState) countEnd(e End) {
	rs.mu.Lock()
	rs.endCount[e]++
	rs.mu.Unlock()
}

func (rs *raceState) countFault(f Fault) {
	rs.mu.Lock()
	rs.faultCount[f]++
	rs.mu.Unlock()
}

// RaceStats count what the race knobs did since NewServer.
type RaceStats struct {
	// Ends counts the transfers that reached their end (the data
	// connection was open), by the behaviour that ended them; a
	// transfer that a hang, garbage-reply, drop-control or 421 fault
	// ended instead is not counted here.
	Ends map[End]int64
	// Faults counts the faults injected, by fault: late-listen and
	// refuse-data when PASV/EPSV (or, refuse-data, a transfer on
	// PORT/EPRT) applied them, the others when the transfer did (trickle
	// when a final reply was trickled).
	Faults map[Fault]int64
	// NoFreePassivePort counts PASV/EPSV answered 425 because every port
	// of PassivePorts was busy.
	NoFreePassivePort int64
}

// RaceStats returns a snapshot of the race knobs' counters.
func (s *Server) RaceStats() RaceStats {
	rs := s.race
	rs.mu.Lock()
	defer rs.mu.Unlock()
	st := RaceStats{
		Ends:              make(map[End]int64, len(rs.endCount)),
		Faults:            make(map[Fault]int64, len(rs.faultCount)),
		NoFreePassivePort: rs.noFreePort.Load(),
	}
	for e, n := range rs.endCount {
		st.Ends[e] = n
	}
	for f, n := range rs.faultCount {
		st.Faults[f] = n
	}
	return st
}

// drawNext makes the draws for the transfer that the data connection
// setup being processed (PASV, EPSV, PORT, EPRT) prepares.
func (ss *serverSession) drawNext() srvDraw {
	d := ss.race.draw()
	ss.next = &d
	return d
}

// takeDraw returns the draws of the transfer command being processed:
// those made at its setup command or, on the default data port, new ones.
func (ss *serverSession) takeDraw() srvDraw {
	if d := ss.next; d != nil {
		ss.next = nil
		return *d
	}
	return ss.race.draw()
}

// ---- End of transfer ----

// endBehaviours says, for each EndKind, how a transfer whose data
// connection is open ends: the steps in order. Steps after a failure do
// nothing but close, and final then replies 426.
var endBehaviours = map[EndKind]func(x *srvXfer){
	EndCloseThen226:        closeThen226,
	End226ThenClose:        reply226ThenClose,
	End226BeforeFlush:      reply226BeforeFlush,
	EndDelayedClose:        delayedClose,
	EndCloseThen250:        closeThen250,
	End226AfterClientClose: reply226AfterClientClose,
	EndNoFinalReply:        noFinalReply,
}

// closeThen226 is RFC 959 §5.2: the server moves the data, closes the
// data connection, then sends 226.
func closeThen226(x *srvXfer) { x.moveAll(); x.closeData(); x.final(226) }

// reply226ThenClose moves all the data, sends 226, then closes the data
// connection.
func reply226ThenClose(x *srvXfer) { x.moveAll(); x.final(226); x.closeData() }

// reply226BeforeFlush sends 226 while the tail of a RETR is unwritten:
// all but the last End.Tail bytes (one chunk by default) are written, 226
// is sent, then the tail is written and the connection closed. On a STOR
// the 226 goes as soon as the first bytes have arrived, before the
// client's EOF; the rest is read to EOF, then the connection closed.
func reply226BeforeFlush(x *srvXfer) {
	x.moveAllBut(x.end.tail())
	x.final(226)
	x.moveAll()
	x.closeData()
}

// delayedClose moves all the data and sends 226, and closes the data
// connection End.Delay later, while the session goes on reading commands.
func delayedClose(x *srvXfer) { x.moveAll(); x.final(226); x.closeDataAfter(x.end.Delay) }

// closeThen250 closes the data connection, then replies 250 instead of
// 226.
func closeThen250(x *srvXfer) { x.moveAll(); x.closeData(); x.final(250) }

// reply226AfterClientClose withholds the final reply until the client has
// closed: after a RETR's data the server half-closes (FIN), waits to read
// the client's EOF (or RST), then closes and sends 226; a client that holds
// the data connection until 226 stalls until Timeout, then gets 426. A
// STOR ends at the client's EOF, which already is its close (a server
// cannot tell a half-close from a close without writing), so it ends like
// close-then-226.
func reply226AfterClientClose(x *srvXfer) {
	x.moveAll()
	x.closeWrite()
	x.awaitClientClose()
	x.closeData()
	x.final(226)
}

// noFinalReply closes the data connection and sends no final reply, not
// even 426; the session then reads the next command.
func noFinalReply(x *srvXfer) { x.moveAll(); x.closeData(); x.noReply() }

func (e End) tail() int64 {
	if e.Tail > 0 {
		return e.Tail
	}
	return synth.Chunk
}

// errFaultReset is the failure of a transfer whose data connection the
// reset-mid-transfer fault reset.
var errFaultReset = errors.New("data connection reset mid-transfer (fault reset-mid-transfer)")

// errClientHeldData is the failure of a 226-after-client-close transfer
// whose client did not close the data connection.
var errClientHeldData = errors.New("client did not close the data connection")

// errFaultRefused is the failure of a transfer whose data connection the
// refuse-data fault refused.
var errFaultRefused = errors.New("data connection refused (fault refuse-data)")

// errFaultDropControl is the failure of a transfer whose session the
// drop-control fault ended.
var errFaultDropControl = errors.New("control connection dropped mid-transfer (fault drop-control)")

// srvXfer is one RETR or STOR with its data connection open: the state
// the steps of an end behaviour share.
type srvXfer struct {
	ss       *serverSession
	verb     string // "RETR" or "STOR"
	c        net.Conn
	size     int64 // RETR: bytes to send; STOR: -1
	end      End
	fault    Fault // the transfer's draw; the faults that act on an open data connection use it
	strikeAt int64 // reset-mid-transfer, drop-control: strike once this many bytes moved; -1: never

	moved   int64
	err     error // the transfer failed
	eof     bool  // the client's end closed (EOF or RST read): our close is the passive one
	closed  bool  // the data connection is closed or handed to a timer
	replied int   // the final reply code sent, 0 if none
}

func (ss *serverSession) newXfer(verb string, c net.Conn, size int64, d srvDraw) *srvXfer {
	x := &srvXfer{ss: ss, verb: verb, c: c, size: size, end: d.end.normal(), fault: d.fault, strikeAt: -1}
	if k := d.fault.Kind; k == FaultResetMidTransfer || k == FaultDropControl {
		x.strikeAt = strikePoint(size)
	}
	return x
}

// strikePoint is where reset-mid-transfer and drop-control strike:
// half-way through a RETR; on a STOR, whose length the server does not
// know, once the first bytes have arrived.
func strikePoint(size int64) int64 {
	if size < 0 {
		return 1
	}
	return size / 2
}

// endTransfer ends a transfer the way its drawn End says, or the way its
// fault does when that replaces the end.
func (ss *serverSession) endTransfer(x *srvXfer) {
	if f, ok := faultEnds[x.fault.Kind]; ok {
		f(x)
	} else {
		ss.race.countEnd(x.end)
		endBehaviours[x.end.Kind](x)
	}
	x.closeData()
	if x.err != nil && x.replied != 0 && x.replied != 426 {
		ss.logf("%s: after the %d reply: %v", x.verb, x.replied, x.err)
	}
}

// moveAll moves the rest of the data: RETR writes the file to its end,
// STOR reads to the client's EOF.
func (x *srvXfer) moveAll() {
	if x.size >= 0 {
		x.sendUpTo(x.size)
	} else {
		x.receive(false)
	}
}

// moveAllBut moves all but the last tail bytes of a RETR, or the first
// bytes of a STOR.
func (x *srvXfer) moveAllBut(tail int64) {
	if x.size >= 0 {
		x.sendUpTo(max(x.size-tail, 0))
	} else {
		x.receive(true)
	}
}

// sendUpTo writes the file's bytes up to offset n from the shared pattern
// buffer, and strikes where reset-mid-transfer or drop-control says.
func (x *srvXfer) sendUpTo(n int64) {
	if x.strikeAt >= 0 {
		n = min(n, x.strikeAt)
	}
	for x.err == nil && x.moved < n {
		k := int(min(n-x.moved, synth.Chunk))
		x.c.SetWriteDeadline(x.ss.deadline())
		w, err := x.c.Write(synth.At(x.moved, k))
		x.moved += int64(w)
		x.ss.srv.bytesSent.Add(int64(w))
		if err != nil {
			x.err = fmt.Errorf("send at byte %d of %d: %w", x.moved, x.size, err)
		}
	}
	if x.err == nil && x.strikeAt >= 0 && x.moved >= x.strikeAt {
		x.strike()
	}
}

// receive reads and discards the upload to EOF or, if first, until some
// bytes (or EOF) have arrived; it strikes where reset-mid-transfer or
// drop-control says.
func (x *srvXfer) receive(first bool) {
	if x.err != nil || x.eof {
		return
	}
	bp := serverBufPool.Get().(*[]byte)
	defer serverBufPool.Put(bp)
	for {
		x.c.SetReadDeadline(x.ss.deadline())
		n, err := x.c.Read(*bp)
		x.moved += int64(n)
		x.ss.srv.bytesReceived.Add(int64(n))
		switch {
		case n > 0 && x.strikeAt >= 0 && x.moved >= x.strikeAt:
			x.strike()
			return
		case err == io.EOF:
			x.clientClosed()
			return
		case err != nil:
			x.err = fmt.Errorf("receive after %d bytes: %w", x.moved, err)
			return
		case first && n > 0:
			return
		}
	}
}

// strike applies the transfer's mid-transfer fault.
func (x *srvXfer) strike() {
	x.strikeAt = -1
	if x.fault.Kind == FaultDropControl {
		x.dropControl()
		return
	}
	x.reset()
}

// reset is the reset-mid-transfer fault: the data connection is aborted
// with an RST, which overtakes the bytes still in flight.
func (x *srvXfer) reset() {
	x.ss.race.countFault(Fault{Kind: FaultResetMidTransfer})
	x.closed = true
	x.ss.forgetData(x.c)
	srvAbort(x.c)
	x.err = errFaultReset
}

// closeWrite half-closes the data connection after a RETR's data: the
// client reads EOF but may still send (and close).
func (x *srvXfer) closeWrite() {
	if x.err != nil || x.eof || x.closed {
		return
	}
	if cw, ok := srvUnwrap(x.c).(interface{ CloseWrite() error }); ok {
		if err := cw.CloseWrite(); err != nil {
			x.err = fmt.Errorf("half-close: %w", err)
		}
	}
}

// awaitClientClose reads the data connection, discarding what comes,
// until the client's EOF or RST, within Timeout.
func (x *srvXfer) awaitClientClose() {
	if x.err != nil || x.eof || x.closed {
		return
	}
	var buf [512]byte
	for {
		x.c.SetReadDeadline(x.ss.deadline())
		_, err := x.c.Read(buf[:])
		switch {
		case err == nil:
		case err == io.EOF, errors.Is(err, syscall.ECONNRESET):
			x.clientClosed()
			return
		case errors.Is(err, os.ErrDeadlineExceeded) || srvIsTimeout(err):
			x.err = fmt.Errorf("%w within %v", errClientHeldData, x.ss.srv.timeout)
			return
		default:
			x.err = fmt.Errorf("waiting for the client to close the data connection: %w", err)
			return
		}
	}
}

// clientClosed records that the client's end has closed, so our close is
// the passive one (no TIME_WAIT on our side).
func (x *srvXfer) clientClosed() {
	x.eof = true
	if pc, ok := x.c.(*srvPortConn); ok {
		pc.peerClosed.Store(true)
	}
}

// closeData closes the data connection now.
func (x *srvXfer) closeData() {
	if x.closed {
		return
	}
	x.closed = true
	x.ss.forgetData(x.c)
	x.c.Close()
}

// closeDataAfter closes the data connection d from now, by a timer: the
// session does not wait for it.
func (x *srvXfer) closeDataAfter(d time.Duration) {
	if x.closed {
		return
	}
	if x.err != nil || d <= 0 {
		x.closeData()
		return
	}
	x.closed = true
	x.ss.closeDataLater(x.c, d)
}

// final sends the final reply: code if the transfer went well, else (after
// closing the data connection) 426.
func (x *srvXfer) final(code int) {
	if x.replied != 0 {
		return
	}
	ss := x.ss
	if x.err != nil {
		x.closeData()
		x.replied = 426
		ss.srv.errs.Add(1)
		ss.logf("%s: %v", x.verb, x.err)
		x.sendFinal(426, x.failure())
		return
	}
	x.replied = code
	ss.srv.transfers.Add(1)
	if x.size < 0 {
		x.sendFinal(code, fmt.Sprintf("Transfer complete (%d bytes).", x.moved))
	} else {
		x.sendFinal(code, "Transfer complete.")
	}
}

// sendFinal sends the final reply: at once, or one byte every D under
// the trickle:D fault.
func (x *srvXfer) sendFinal(code int, text string) {
	if x.fault.Kind != FaultTrickle {
		x.ss.reply(code, "%s", text)
		return
	}
	x.ss.trickle(fmt.Sprintf("%d %s\r\n", code, text), x.fault.Delay)
}

// noReply is where the final reply would be.
func (x *srvXfer) noReply() {
	if x.err != nil {
		x.ss.srv.errs.Add(1)
		x.ss.logf("%s: %v (no reply: no-final-reply)", x.verb, x.err)
	}
}

func (x *srvXfer) failure() string {
	switch {
	case errors.Is(x.err, errFaultReset):
		return "Connection closed; transfer aborted."
	case errors.Is(x.err, errClientHeldData):
		return "Data connection not closed by the client; transfer aborted."
	case x.size >= 0:
		return "Failure writing network stream."
	}
	return "Failure reading network stream."
}

// srvAbort resets c: linger 0, then close, as a server aborting a
// transfer does.
func srvAbort(c net.Conn) {
	if l, ok := srvUnwrap(c).(interface{ SetLinger(int) error }); ok {
		l.SetLinger(0)
	}
	if pc, ok := c.(*srvPortConn); ok {
		pc.peerClosed.Store(true) // an RST leaves no TIME_WAIT
	}
	c.Close()
}

// srvLinger is a data connection whose close delayed-close put off.
type srvLinger struct {
	c net.Conn
	t loadgen.Timer
}

// closeDataLater closes c d from now, or at kill if that comes first.
func (ss *serverSession) closeDataLater(c net.Conn, d time.Duration) {
	ss.forgetData(c)
	l := &srvLinger{c: c}
	ss.mu.Lock()
	if ss.killed {
		ss.mu.Unlock()
		c.Close()
		return
	}
	l.t = ss.srv.clock.AfterFunc(d, func() {
		ss.mu.Lock()
		for i, x := range ss.lingering {
			if x == l {
				ss.lingering = append(ss.lingering[:i], ss.lingering[i+1:]...)
				break
			}
		}
		ss.mu.Unlock()
		c.Close()
	})
	ss.lingering = append(ss.lingering, l)
	ss.mu.Unlock()
}

// ---- Faults that end a transfer ----

// faultEnds are the faults that end a transfer in place of its end
// behaviour, once the data connection is open and the 150 sent.
var faultEnds = map[FaultKind]func(x *srvXfer){
	FaultHang:         endByHang,
	FaultGarbageReply: endByGarbageReply,
	FaultDropControl:  endByDropControl,
	Fault421:          endBy421,
}

// endByHang is the hang fault: no data, no final reply. The session discards
// what the client sends until the client closes the control connection
// or Timeout passes, then ends without a reply; the data connection stays
// open until then.
func endByHang(x *srvXfer) {
	ss := x.ss
	ss.race.countFault(x.fault)
	ss.srv.errs.Add(1)
	deadline := ss.deadline()
	var buf [512]byte
	var err error
	for err == nil {
		ss.conn.SetReadDeadline(deadline)
		_, err = ss.br.Read(buf[:])
	}
	ss.logf("%s: hung until %v (fault hang)", x.verb, err)
	ss.quit = true
}

// endByGarbageReply moves the data and closes the data connection as RFC 959
// asks, then sends GarbageReply instead of 226.
func endByGarbageReply(x *srvXfer) {
	x.moveAll()
	x.closeData()
	if x.err != nil {
		x.final(226) // the transfer failed first: 426
		return
	}
	ss := x.ss
	ss.race.countFault(x.fault)
	if ss.werr == nil {
		ss.conn.SetWriteDeadline(ss.deadline())
		ss.werr = ss.tw.PrintfLine("%s", GarbageReply)
	}
}

// endByDropControl moves the data until drop-control strikes half-way (see
// (*srvXfer).dropControl); a transfer that failed first ends like
// close-then-226, with 426.
func endByDropControl(x *srvXfer) {
	x.moveAll()
	if !errors.Is(x.err, errFaultDropControl) {
		x.closeData()
		x.final(226)
	}
}

// dropControl closes the control connection, then the data connection
// (a FIN each: the client reads EOF on both), and ends the session.
func (x *srvXfer) dropControl() {
	ss := x.ss
	ss.race.countFault(Fault{Kind: FaultDropControl})
	ss.srv.errs.Add(1)
	ss.conn.Close()
	x.closeData()
	x.err = errFaultDropControl
	ss.quit = true
}

// endBy421 closes the data connection without moving data, replies 421
// and ends the session, which closes the control connection.
func endBy421(x *srvXfer) {
	ss := x.ss
	ss.race.countFault(x.fault)
	x.closeData()
	x.replied = 421
	ss.reply(421, "Service not available, closing control connection.")
	ss.quit = true
}

// trickle sends line (CRLF included) one byte every d: the trickle:D
// fault. A write error or the session's end stops it.
func (ss *serverSession) trickle(line string, d time.Duration) {
	if ss.werr != nil {
		return
	}
	ss.race.countFault(Fault{Kind: FaultTrickle, Delay: d})
	for i := range len(line) {
		if i > 0 {
			if err := loadgen.Sleep(ss.sctx, ss.srv.clock, d); err != nil {
				ss.werr = fmt.Errorf("trickling a reply: %w", err)
				return
			}
		}
		ss.conn.SetWriteDeadline(ss.deadline())
		if _, err := io.WriteString(ss.conn, line[i:i+1]); err != nil {
			ss.werr = err
			return
		}
	}
}

// ---- Setup faults ----

// refuseListen is refuse-data on PASV/EPSV: the port is announced but
// its listener closed at once, so the connect is refused and the transfer
// command gets 425.
func (ss *serverSession) refuseListen(ln net.Listener, port uint16) *srvPassive {
	ss.race.countFault(Fault{Kind: FaultRefuseData})
	ln.Close()
	return &srvPassive{port: port, refused: true}
}

// listenLater is late-listen:D on PASV/EPSV: the port is announced now
// but listened on only D later (by a timer, or by the transfer command
// if it comes first and waits for that instant), so an early connect is
// refused. In a passive range the port stays reserved meanwhile.
func (ss *serverSession) listenLater(ln net.Listener, port uint16, d time.Duration) *srvPassive {
	ss.race.countFault(Fault{Kind: FaultLateListen, Delay: d})
	p := &srvPassive{port: port, at: ss.srv.clock.Now().Add(d)}
	if pp := ss.race.ports; pp != nil {
		pp.reserve(port)
		p.reserved = true
	}
	ln.Close()
	p.timer = ss.srv.clock.AfterFunc(d, func() {
		if _, err := ss.startListening(p); err != nil && !errors.Is(err, net.ErrClosed) {
			ss.logf("late passive listen on port %d: %v", port, err)
		}
	})
	return p
}

// startListening makes the late listener of p, once: whichever of its
// timer and the transfer command comes first does it.
func (ss *serverSession) startListening(p *srvPassive) (net.Listener, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.killed || ss.pasv != p {
		return nil, net.ErrClosed
	}
	if p.ln == nil && p.err == nil {
		ln, err := ss.srv.net.Listen(ss.sctx, ss.passiveAddr(int(p.port)))
		p.ln, p.err = ln, err
		if p.reserved {
			ss.race.ports.unreserve(p.port)
			p.reserved = false
		}
	}
	return p.ln, p.err
}

// slowAccept is slow-accept:D: the server-DTP takes the data connection
// only D after the transfer command.
func (ss *serverSession) slowAccept(d time.Duration) error {
	ss.race.countFault(Fault{Kind: FaultSlowAccept, Delay: d})
	return loadgen.Sleep(ss.sctx, ss.srv.clock, d)
}

// ---- Passive port range ----

// errNoFreePassivePort: every port of PassivePorts is busy.
var errNoFreePassivePort = errors.New("no free passive port")

// srvPassivePorts is the passive port range and what holds its ports
// beyond what the network knows: a server that binds its passive sockets
// without SO_REUSEADDR cannot reuse a port while a data connection on it
// is open or in TIME_WAIT.
type srvPassivePorts struct {
	lo, hi int
	tw     time.Duration
	clock  loadgen.Clock

	mu  sync.Mutex
	use map[uint16]*srvPortUse
}

type srvPortUse struct {
	open     int       // data connections accepted on the port and not closed
	reserved int       // late-listen setups waiting to listen on it
	until    time.Time // TIME_WAIT until then
}

func (pp *srvPassivePorts) busy(p uint16, now time.Time) bool {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	u := pp.use[p]
	return u != nil && (u.open > 0 || u.reserved > 0 || u.until.After(now))
}

func (pp *srvPassivePorts) get(p uint16) *srvPortUse {
	u := pp.use[p]
	if u == nil {
		u = &srvPortUse{}
		pp.use[p] = u
	}
	return u
}

// tidy forgets p once nothing holds it; with pp.mu held.
func (pp *srvPassivePorts) tidy(p uint16, now time.Time) {
	if u := pp.use[p]; u != nil && u.open == 0 && u.reserved == 0 && !u.until.After(now) {
		delete(pp.use, p)
	}
}

func (pp *srvPassivePorts) reserve(p uint16) {
	pp.mu.Lock()
	pp.get(p).reserved++
	pp.mu.Unlock()
}

func (pp *srvPassivePorts) unreserve(p uint16) {
	pp.mu.Lock()
	pp.get(p).reserved--
	pp.tidy(p, pp.clock.Now())
	pp.mu.Unlock()
}

// opened wraps c, a data connection accepted on port p, so that closing
// it releases the port.
func (pp *srvPassivePorts) opened(p uint16, c net.Conn) net.Conn {
	pp.mu.Lock()
	pp.get(p).open++
	pp.mu.Unlock()
	return &srvPortConn{Conn: c, pp: pp, port: p}
}

// closed releases p; active means the server closed first, so the port
// enters TIME_WAIT.
func (pp *srvPassivePorts) closed(p uint16, active bool) {
	now := pp.clock.Now()
	pp.mu.Lock()
	u := pp.get(p)
	u.open--
	if active && pp.tw > 0 {
		u.until = now.Add(pp.tw)
	}
	pp.tidy(p, now)
	pp.mu.Unlock()
}

// srvPortConn is a data connection on a port of the passive range.
type srvPortConn struct {
	net.Conn
	pp         *srvPassivePorts
	port       uint16
	peerClosed atomic.Bool // the client closed first
	once       sync.Once
}

// Close closes the connection and releases its port.
func (c *srvPortConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.pp.closed(c.port, !c.peerClosed.Load()) })
	return err
}

// srvUnwrap returns the network's connection under c.
func srvUnwrap(c net.Conn) net.Conn {
	if pc, ok := c.(*srvPortConn); ok {
		return pc.Conn
	}
	return c
}
