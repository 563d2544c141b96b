package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"ftpbench/internal/ftpaddr"
	"ftpbench/results"
)

// runFXP is one server-to-server cycle (ModeFXP), RFC 959 §5.2 Figure 3:
// "the user-PI sends PASV to A, gets 227, sends PORT with A's address to
// B, STOR to A, RETR to B; B connects to A". A, the passive side, is the
// destination Config.FXPTarget; B, the active side, is the source
// Config.Target, whose file (Target.Path) is copied to FXPTarget.Path.
// The user-PI holds a control connection to each (the second one is
// logged in by the first fxp cycle that needs it; that cycle stamps
// login) and the data connection runs between the two servers, so the
// user-PI sees only replies:
//
//	setup_sent   PASV sent to the destination
//	setup_reply  the source's 200 to PORT
//	cmd_sent     STOR and RETR both sent
//	prelim       the first 1xx of the two
//	data_open    the second 1xx: both servers have their data connection
//	final        the later of the two final replies
//
// first_byte and eof are never stamped: no data passes the user-PI, so
// an fxp cycle has no race gap. code is the destination's final reply, or
// the reply that failed the cycle. bytes is the count in the destination's
// final reply when it gives one ("226 Transfer complete (65536 bytes)"),
// else the source's SIZE when both sides succeeded.
//
// The 227's address is used in PORT only with TrustPASVAddress; otherwise
// the destination's control address with the 227's port, for the same
// reasons as in PASV cycles. STOR is sent before RETR and neither waits
// for the other's 1xx: a passive server may reply 150 only once its data
// connection is in (vsftpd), which needs the RETR. When either side fails
// after the transfer commands, both control connections are given up
// (and opened again by the next fxp cycle) rather than left out of step:
// the other side may still wait for a data connection or hold one, and
// the failing side may still owe a reply (pyftpdlib answers a foreign
// connection to its passive port with an unprompted 425, then STOR with
// 150).
func (c *cycle) runFXP(ctx context.Context) error {
	u := c.u
	if u.cfg.Op != OpRETR {
		return fmt.Errorf("fxp cycles copy Target's file to FXPTarget: op %s does not apply", u.cfg.Op)
	}
	if u.cfg.FXPTarget.Addr == "" || u.cfg.FXPTarget.Path == "" {
		return errors.New("fxp cycles need Config.FXPTarget with an address and a path")
	}
	dst, err := c.fxpDestination(ctx)
	if err != nil {
		return err
	}
	dctrl := dst.ctrl
	stop := context.AfterFunc(ctx, func() { dctrl.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c.mark(results.SetupSent)
	code, text, err := dst.exchange("PASV", "PASV")
	if err != nil {
		return fxpSide("destination", dst, err)
	}
	if code != 227 {
		c.rec.Code = code
		return fxpSide("destination", dst, dst.unexpected("PASV", code, text))
	}
	addr, err := dst.passiveAddr("PASV", text)
	if err != nil {
		return fxpSide("destination", dst, err)
	}
	arg, err := ftpaddr.FormatHostPort(addr)
	if err != nil {
		return fxpSide("destination", dst, fmt.Errorf("PASV address %s: %w", addr, err))
	}
	port := "PORT " + arg
	if code, text, err = u.exchange(port, port); err != nil {
		return fxpSide("source", u, err)
	}
	c.mark(results.SetupReply)
	if code != 200 {
		c.rec.Code = code
		return fxpSide("source", u, u.unexpected(port, code, text))
	}

	stor, retr := "STOR "+dst.path(c.rec.Seq), "RETR "+u.path(c.rec.Seq)
	if err := dst.send(stor, stor); err != nil {
		return fxpSide("destination", dst, err)
	}
	if err := u.send(retr, retr); err != nil {
		dst.broken = true // its STOR is waiting for a connection that won't come
		return fxpSide("source", u, err)
	}
	c.mark(results.CmdSent)

	x := &fxpTransfer{c: c}
	sides := [2]fxpEnd{{pi: u, cmd: retr, name: "source"}, {pi: dst, cmd: stor, name: "destination"}}
	dstDone := u.clock.NewSignal()
	u.clock.Go(func() {
		x.replies(&sides[1], &sides[0])
		dstDone.Fire()
	})
	x.replies(&sides[0], &sides[1])
	dstDone.Wait(time.Time{})
	if f := x.failed; f != nil {
		u.broken, dst.broken = true, true
		c.rec.Code = f.code
		return fxpSide(f.name, f.pi, f.err)
	}
	c.rec.Code = sides[1].code
	n, counted := transferredBytes(sides[1].text)
	switch {
	case counted:
		c.rec.Bytes = n
	case u.want >= 0:
		c.rec.Bytes = u.want
	}
	if u.want >= 0 && c.rec.Bytes < u.want {
		return fmt.Errorf("%s: destination stored %d of %d bytes: %w", stor, c.rec.Bytes, u.want, ErrTruncated)
	}
	return nil
}

// fxpDestination returns the user-PI's control connection to FXPTarget,
// logged in, connecting it first if it is not open or was given up. It
// travels with the connection to Target (see fxpCtrl).
func (c *cycle) fxpDestination(ctx context.Context) (*userPI, error) {
	u := c.u
	f, ok := u.ctrl.(*fxpCtrl)
	if !ok {
		cfg := *u.cfg
		// STOR: log in without asking SIZE of a file that may not exist.
		cfg.Target, cfg.Op = u.cfg.FXPTarget, OpSTOR
		f = &fxpCtrl{Conn: u.ctrl, dst: newUserPI(u.id, &cfg)}
		u.ctrl = f
	}
	if f.dst.ctrl != nil && !f.dst.broken {
		return f.dst, nil
	}
	f.dst.close()
	if err := f.dst.connect(ctx); err != nil {
		return nil, fmt.Errorf("fxp destination: %w", err)
	}
	c.mark(results.Login)
	return f.dst, nil
}

// fxpCtrl is the control connection to Target of a user-PI that runs fxp
// cycles, carrying its second control connection, to FXPTarget, so that
// the second lives as long as the first: whatever closes the user-PI's
// connection (the end of the run, a broken connection, a re-login)
// closes both.
type fxpCtrl struct {
	net.Conn
	dst *userPI
}

// Close ends the destination's session (with QUIT when it is in step),
// then closes the source's connection.
func (f *fxpCtrl) Close() error {
	f.dst.quit()
	return f.Conn.Close()
}

// fxpEnd is one server's side of an fxp transfer, as its replies tell it.
type fxpEnd struct {
	pi   *userPI
	cmd  string // STOR or RETR, with the path
	name string // "source" or "destination"
	code int    // the final reply, or the one that failed the transfer
	text string // its text
	err  error
}

// fxpTransfer stamps the phases that depend on both sides, and keeps the
// side that failed first: the replies of the two servers are read
// concurrently, one goroutine each.
type fxpTransfer struct {
	c       *cycle
	mu      sync.Mutex
	prelims int
	finals  int
	failed  *fxpEnd
}

// replies reads one side's replies to its transfer command: 1xx, then
// the final one. The first side to fail wakes the other's reader, which
// would otherwise wait for a transfer that will not happen; the read
// error that wakes it marks that control connection broken.
func (x *fxpTransfer) replies(s, other *fxpEnd) {
	code, text, err := s.pi.reply(s.cmd)
	if err == nil && code/100 == 1 {
		x.step(&x.prelims, results.Prelim, results.DataOpen)
		code, text, err = s.pi.reply(s.cmd)
	}
	if err == nil {
		x.step(&x.finals, -1, results.Final)
		s.code, s.text = code, text
		if code/100 != 2 {
			err = &ReplyError{Cmd: s.cmd, Code: code, Text: text}
			if code/100 == 1 {
				err = s.pi.unexpected(s.cmd, code, text)
			}
		}
	}
	if err == nil {
		return
	}
	s.err = err
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.failed == nil {
		x.failed = s
		other.pi.ctrl.SetReadDeadline(time.Unix(1, 0))
	}
}

// step counts one side reaching a point, and stamps first when the first
// side does (unless first is negative) and second when both have.
func (x *fxpTransfer) step(n *int, first, second results.Phase) {
	x.mu.Lock()
	defer x.mu.Unlock()
	*n++
	switch {
	case *n == 1 && first >= 0:
		x.c.mark(first)
	case *n == 2:
		x.c.mark(second)
	}
}

// fxpSide names the server an fxp cycle failed on.
func fxpSide(name string, pi *userPI, err error) error {
	return fmt.Errorf("fxp %s %s: %w", name, pi.cfg.Target.Addr, err)
}

// transferredBytes finds a byte count in a final reply's text: a number
// followed by the word "bytes", as in "Transfer complete (65536 bytes)"
// or goftp's "sent 65536 bytes". Many servers give none (vsftpd, proftpd,
// pyftpdlib); pure-ftpd's "1.23 Mbytes per second" is a rate, not a
// count, and is not taken.
func transferredBytes(text string) (int64, bool) {
	for i := 0; i < len(text); i++ {
		if !isDigit(text[i]) || i > 0 && (isDigit(text[i-1]) || text[i-1] == '.' || text[i-1] == ',') {
			continue
		}
		j := i
		for j < len(text) && isDigit(text[j]) {
			j++
		}
		if j < len(text) && (text[j] == '.' || text[j] == ',') {
			continue // a decimal or a grouped number: not a plain count
		}
		const word = " bytes"
		if len(text)-j >= len(word) && strings.EqualFold(text[j:j+len(word)], word) &&
			(j+len(word) == len(text) || !isLetter(text[j+len(word)])) {
			n, err := strconv.ParseInt(text[i:j], 10, 64)
			if err == nil {
				return n, true
			}
		}
		i = j
	}
	return 0, false
}

func isDigit(b byte) bool  { return '0' <= b && b <= '9' }
func isLetter(b byte) bool { return 'a' <= b|0x20 && b|0x20 <= 'z' }
