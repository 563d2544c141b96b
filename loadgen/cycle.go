package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"ftpbench/internal/ftpaddr"
	"ftpbench/internal/synth"
	"ftpbench/results"
)

// cycle is one transfer in progress: the record it fills and the data
// connection the user-DTP holds, which the control side may have to abort.
type cycle struct {
	u     *userPI
	mode  Mode
	rules rules // of the run's Policy
	start time.Time
	rec   results.Record

	mu      sync.Mutex
	data    net.Conn
	ln      net.Listener
	aborted bool

	// accepted fires when the user-DTP's listener (PORT/EPRT, default
	// port) has its connection or gave up, with acceptErr saying which.
	accepted  Signal
	acceptErr error
}

// mark stamps phase p with the current time. The user-PI and the user-DTP
// goroutine each stamp their own phases, so no two writers share a slot.
func (c *cycle) mark(p results.Phase) {
	now := c.u.clock.Now()
	c.rec.T[p] = int64(now.Sub(c.start))
	if tr := c.u.cfg.Trace; tr != nil && tr.PhaseReached != nil {
		tr.PhaseReached(c.u.id, c.rec.Seq, p, now)
	}
}

// setData hands the data connection to the cycle; it reports false (and
// closes dc) if the cycle was aborted meanwhile.
func (c *cycle) setData(dc net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.aborted {
		dc.Close()
		return false
	}
	c.data = dc
	return true
}

// abortData closes whatever data connection or listener the cycle holds,
// waking a user-DTP blocked on it.
func (c *cycle) abortData() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.aborted = true
	if c.data != nil {
		c.data.Close()
	}
	if c.ln != nil {
		c.ln.Close()
	}
}

// dataResult is what the user-DTP reports when its side of a cycle ends.
type dataResult struct {
	n   int64
	err error
}

// runCycle performs one full cycle and returns its record, whatever
// happened.
// A cycle that had to log in first starts when the connect did
// (loggedIn), with the login as its first phase.
func (u *userPI) runCycle(ctx context.Context, seq int64, mode Mode, loggedIn time.Time) results.Record {
	c := &cycle{u: u, mode: mode, rules: policyRules[u.cfg.Policy], start: u.clock.Now()}
	if !loggedIn.IsZero() {
		c.start = loggedIn
	}
	c.rec = results.Record{
		Seq: seq, User: u.id, Mode: string(mode), Op: string(u.cfg.Op),
		Start: c.start, T: results.NoPhases, Want: u.want,
	}
	if !loggedIn.IsZero() {
		c.mark(results.Login)
	}
	// Ctrl-C must not wait for a deadline: the connection's abort (see
	// connect) wakes this cycle's blocked reads at once; a run stopped
	// before the cycle became current is caught here.
	u.setCycle(c)
	if ctx.Err() != nil {
		c.abortData()
	}
	err := c.run(ctx)
	u.setCycle(nil)
	c.abortData()
	if c.accepted != nil {
		// The listener is closed: the user-DTP's accept ends now, and must
		// end before the record leaves.
		c.accepted.Wait(time.Time{})
	}
	c.mark(results.Done)
	c.rec.Outcome = classify(ctx, err)
	u.exhausted = localExhaustion(err)
	if err != nil {
		c.rec.Err = err.Error()
	}
	if ctx.Err() != nil {
		u.broken = true
	}
	return c.rec
}

func (c *cycle) run(ctx context.Context) error {
	u := c.u
	var setup func() error
	switch {
	case c.mode == ModeFXP:
		return c.runFXP(ctx)
	case c.mode == ModeDefault:
		setup = c.setupDefault
	case c.mode.Passive():
		setup = func() error { return c.setupPassive(ctx) }
	default:
		setup = c.setupActive
	}
	if err := setup(); err != nil {
		return err
	}

	verb := "RETR"
	if u.cfg.Op == OpSTOR {
		verb = "STOR"
	}
	cmd := verb + " " + u.path(c.rec.Seq)
	if err := u.send(cmd, cmd); err != nil {
		return err
	}
	c.mark(results.CmdSent)

	var d dataResult
	// Every path below waits for the data side exactly once, so one
	// reusable Waker per user-PI serves all its cycles.
	if u.dataDone == nil {
		u.dataDone = u.clock.NewWaker()
	}
	dataDone := u.dataDone
	u.clock.Go(func() {
		d = c.transferData()
		dataDone.Wake()
	})

	code, text, err := u.reply(verb)
	final := true // the reply in hand is the transfer's final one
	if err == nil && code/100 == 1 {
		c.mark(results.Prelim)
		final = false
		if c.rules.final == finalWithData {
			code, text, err = u.reply(verb)
			final = true
		}
	}
	if err != nil {
		c.abortData()
		dataDone.Wait(time.Time{})
		c.rec.Bytes = d.n
		return withDataEvidence(err, d.err)
	}
	closedByUs := false
	if final {
		if err := c.gotFinal(cmd, code, text); err != nil {
			// No transfer is coming (or it failed): don't wait on the data side.
			c.abortData()
			dataDone.Wait(time.Time{})
			c.rec.Bytes = d.n
			return err
		}
		if c.rules.closeOnFinal {
			c.abortData()
			closedByUs = true
		}
	}
	// Otherwise a final reply may come before the data EOF: keep reading
	// to EOF, bounded by the data side's own deadlines.
	dataDone.Wait(time.Time{})
	c.rec.Bytes = d.n
	if d.err != nil && !closedByUs {
		return d.err
	}
	if !final && c.rules.final == finalAfterData {
		if code, text, err = u.reply(verb); err != nil {
			return err
		}
		if err := c.gotFinal(cmd, code, text); err != nil {
			return err
		}
	}
	if u.want >= 0 && d.n < u.want {
		return fmt.Errorf("%s: %d of %d bytes: %w", cmd, d.n, u.want, ErrTruncated)
	}
	return nil
}

// withDataEvidence adds to the error that ended the control side what the
// data side had found, when it failed on its own (no data connection came,
// the server reset it): a timeout on the final reply alone would hide
// that the server never connected.
func withDataEvidence(err, dataErr error) error {
	if dataErr == nil || errors.Is(dataErr, context.Canceled) || errors.Is(dataErr, net.ErrClosed) {
		return err
	}
	return fmt.Errorf("%w (data: %v)", err, dataErr)
}

// gotFinal records the transfer's final reply and fails on anything but 2xx.
func (c *cycle) gotFinal(cmd string, code int, text string) error {
	c.mark(results.Final)
	c.rec.Code = code
	if code/100 != 2 {
		return &ReplyError{Cmd: cmd, Code: code, Text: text}
	}
	return nil
}

// setupPassive sends PASV or EPSV and connects to the port in the reply, on
// the control connection's peer address unless told to trust the reply's.
func (c *cycle) setupPassive(ctx context.Context) error {
	u := c.u
	verb, want := "PASV", 227
	if c.mode == ModeEPSV {
		verb, want = "EPSV", 229
	}
	c.mark(results.SetupSent)
	code, text, err := u.exchange(verb, verb)
	if err != nil {
		return err
	}
	c.mark(results.SetupReply)
	if code != want {
		return u.unexpected(verb, code, text)
	}
	addr, err := u.passiveAddr(verb, text)
	if err != nil {
		return err
	}
	dc, err := u.dialData(ctx, addr)
	if err != nil {
		return err
	}
	if !c.setData(dc) {
		return ctx.Err()
	}
	c.mark(results.DataOpen)
	return nil
}

// passiveAddr is where the user-DTP connects after a 227 (verb PASV) or
// 229 (EPSV) reply: the port of the reply on the control connection's
// peer, or the 227's own address when TrustPASVAddress.
func (u *userPI) passiveAddr(verb, text string) (netip.AddrPort, error) {
	if verb == "EPSV" {
		port, err := ftpaddr.Parse229(text)
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("EPSV: %w", err)
		}
		return netip.AddrPortFrom(u.peer, port), nil
	}
	ap, err := ftpaddr.Parse227(text)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("PASV: %w", err)
	}
	if u.cfg.TrustPASVAddress {
		return ap, nil
	}
	return netip.AddrPortFrom(u.peer, ap.Port()), nil
}

// dialData opens a data connection to addr within Timeout.
func (u *userPI) dialData(ctx context.Context, addr netip.AddrPort) (net.Conn, error) {
	dctx, cancel := withTimeout(ctx, u.clock, u.cfg.Timeout)
	dc, err := u.dial(dctx, addr.String())
	cancel()
	if err != nil {
		if context.Cause(dctx) == context.DeadlineExceeded && ctx.Err() == nil {
			err = fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
		}
		return nil, fmt.Errorf("data connection to %s: %w", addr, err)
	}
	return dc, nil
}

// setupActive makes the user-DTP listen, then sends PORT or EPRT. §5.2: the
// user-DTP must be listening before the command that makes the server
// connect, and some servers (pyftpdlib) connect as soon as they read PORT,
// before replying, so accepting starts before PORT is sent.
func (c *cycle) setupActive() error {
	u := c.u
	ln, err := u.cfg.Network.Listen(context.Background(), netip.AddrPortFrom(u.local, 0).String())
	if errors.Is(err, syscall.EADDRINUSE) {
		// Port 0 "in use": the kernel (or the simulation) found no free
		// ephemeral port, the listening side of running out of them.
		return fmt.Errorf("user-DTP listen on %s: %w: %w", u.local, ErrNoLocalPort, err)
	}
	if err != nil {
		return fmt.Errorf("user-DTP listen on %s: %w", u.local, err)
	}
	c.startAccept(ln)
	ap := addrOf(ln.Addr())
	port := uint16(0)
	if ta, ok := ln.Addr().(*net.TCPAddr); ok {
		port = uint16(ta.Port)
	}
	listenAddr := netip.AddrPortFrom(ap, port)

	var line string
	if c.mode == ModePORT {
		arg, err := ftpaddr.FormatHostPort(listenAddr)
		if err != nil {
			return err
		}
		line = "PORT " + arg
	} else {
		line = "EPRT " + ftpaddr.FormatEPRT(listenAddr)
	}
	c.mark(results.SetupSent)
	code, text, err := u.exchange(line, line)
	if err != nil {
		return err
	}
	c.mark(results.SetupReply)
	if code != 200 {
		return u.unexpected(line, code, text)
	}
	return nil
}

// startAccept hands ln to the cycle and starts the user-DTP's wait for the
// server-DTP's connection on it, bounded by Timeout; accepted fires when
// it ends.
func (c *cycle) startAccept(ln net.Listener) {
	u := c.u
	c.mu.Lock()
	c.ln = ln
	c.mu.Unlock()
	c.accepted = u.clock.NewSignal()
	timer := u.clock.AfterFunc(u.cfg.Timeout, func() { ln.Close() })
	u.clock.Go(func() {
		c.acceptErr = c.accept(ln)
		timer.Stop()
		c.accepted.Fire()
	})
}

// accept waits for the server-DTP's connection. Only the server-PI's host
// may connect: a passive third party that wins the race (LightFTP #74's
// server-side twin) would otherwise get or feed the transfer. A timeout
// names the connections it turned away, if any.
func (c *cycle) accept(ln net.Listener) error {
	defer ln.Close()
	var foreign []string
	for {
		dc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				ignored := ""
				if len(foreign) > 0 {
					ignored = fmt.Sprintf(" (closed connections from %s)", strings.Join(foreign, ", "))
				}
				return fmt.Errorf("no data connection to %s from %s within %v%s: %w", ln.Addr(), c.u.peer, c.u.cfg.Timeout, ignored, errAcceptTimeout)
			}
			return fmt.Errorf("accept data connection: %w", err)
		}
		if addrOf(dc.RemoteAddr()) != c.u.peer {
			if len(foreign) < 3 {
				foreign = append(foreign, dc.RemoteAddr().String())
			}
			dc.Close()
			continue
		}
		if !c.setData(dc) {
			return context.Canceled
		}
		c.mark(results.DataOpen)
		return nil
	}
}

// errAcceptTimeout is a timeout: the listener was closed by its timer.
var errAcceptTimeout = timeoutError{}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// transferData is the user-DTP's side of a cycle: wait for the data
// connection if the server opens it, then move the bytes.
func (c *cycle) transferData() dataResult {
	if c.accepted != nil {
		if c.accepted.Wait(time.Time{}); c.acceptErr != nil {
			return dataResult{err: c.acceptErr}
		}
	}
	c.mu.Lock()
	dc := c.data
	c.mu.Unlock()
	if dc == nil {
		return dataResult{err: context.Canceled}
	}
	if c.u.cfg.Op == OpSTOR {
		return c.store(dc)
	}
	return c.retrieve(dc)
}

// readBufs lends user-DTPs their read buffers for the length of a
// transfer: an idle user-PI holds none (thousands of idle users would
// otherwise pin a buffer each). Loopback-speed transfers want big reads
// (bench/peers.sh: a raw copy moves a third more with 128 KiB reads than
// with 32 KiB, and a third more again with 1 MiB), so transfers known to
// be large read 1 MiB at a time and all others 128 KiB.
var readBufs = [2]sync.Pool{
	{New: func() any { b := make([]byte, 128<<10); return &b }},
	{New: func() any { b := make([]byte, 1<<20); return &b }},
}

// largeTransfer is the size from which a RETR reads 1 MiB at a time.
const largeTransfer = 8 << 20

func readBufPool(want int64) *sync.Pool {
	if want >= largeTransfer {
		return &readBufs[1]
	}
	return &readBufs[0]
}

// retrieve reads the data connection to EOF and closes it at once, as §5.2
// asks of the side that sees the close.
func (c *cycle) retrieve(dc net.Conn) dataResult {
	u := c.u
	pool := readBufPool(u.want)
	bp := pool.Get().(*[]byte)
	defer pool.Put(bp)
	buf := *bp
	var n int64
	ext := u.clock.Now()
	for {
		now := u.clock.Now()
		if err := dc.SetReadDeadline(now.Add(u.cfg.Timeout)); err != nil {
			return dataResult{n, err}
		}
		k, err := dc.Read(buf)
		if k > 0 {
			if n == 0 {
				c.mark(results.FirstByte)
			}
			n += int64(k)
			u.keepControlAlive(now, &ext)
		}
		if err == io.EOF {
			c.mark(results.EOF)
			if c.rules.closeOnEOF {
				dc.Close()
			}
			return dataResult{n, nil}
		}
		if err != nil {
			return dataResult{n, fmt.Errorf("data read after %d bytes: %w", n, err)}
		}
	}
}

// store writes the payload, then half-closes: the FIN marks end of file in
// stream mode while the connection can still carry the server's close.
func (c *cycle) store(dc net.Conn) dataResult {
	u := c.u
	var n int64
	ext := u.clock.Now()
	for n < u.cfg.Size {
		// The synthetic content, shared read-only: uploads allocate nothing.
		chunk := synth.At(n, int(min(u.cfg.Size-n, synth.Chunk)))
		now := u.clock.Now()
		if err := dc.SetWriteDeadline(now.Add(u.cfg.Timeout)); err != nil {
			return dataResult{n, err}
		}
		k, err := dc.Write(chunk)
		if n == 0 && k > 0 {
			c.mark(results.FirstByte)
		}
		n += int64(k)
		if err != nil {
			return dataResult{n, fmt.Errorf("data write after %d bytes: %w", n, err)}
		}
		u.keepControlAlive(now, &ext)
	}
	var err error
	if cw, ok := dc.(interface{ CloseWrite() error }); ok {
		err = cw.CloseWrite()
	} else {
		err = dc.Close()
	}
	c.mark(results.EOF)
	if err != nil {
		return dataResult{n, fmt.Errorf("data close after %d bytes: %w", n, err)}
	}
	return dataResult{n, nil}
}

// keepControlAlive pushes the control connection's read deadline ahead while
// data still flows: the final reply may lag a long transfer, and an idle
// deadline on the control connection must not fail a transfer that is
// making progress (rclone #2912, jlaffaye/ftp PR #231). It moves the
// deadline at most every Timeout/8 to keep the hot loop cheap.
func (u *userPI) keepControlAlive(now time.Time, last *time.Time) {
	if now.Sub(*last) > u.cfg.Timeout/8 {
		*last = now
		u.ctrl.SetReadDeadline(now.Add(u.cfg.Timeout))
	}
}
