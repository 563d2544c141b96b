package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxReply caps the bytes of one reply (all its lines) so a server that
// never ends a line cannot make the user-PI allocate without bound.
const maxReply = 64 << 10

// capReader fails once more than n bytes were read since the last reset.
type capReader struct {
	r    io.Reader
	n    int
	err  error // the last read error since the reset
	last byte  // the last byte read
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.err = ErrReplyTooLong
		return 0, ErrReplyTooLong
	}
	if len(p) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= n
	if n > 0 {
		c.last = p[n-1]
	}
	if err != nil {
		c.err = err
	}
	return n, err
}

// replyReader reads FTP replies (RFC 959 §4.2: "NNN text", or "NNN-"
// first line through "NNN " last line) with textproto, capping each reply's
// size.
type replyReader struct {
	limit capReader
	br    *bufio.Reader
	r     *textproto.Reader // over br
	texts [8]struct {
		code int
		text string
	}
}

func newReplyReader(r io.Reader) *replyReader {
	rr := &replyReader{limit: capReader{r: r, last: '\n'}}
	rr.br = bufio.NewReaderSize(&rr.limit, 512)
	rr.r = textproto.NewReader(rr.br)
	return rr
}

// readReply reads one reply; multi-line text is joined with newlines.
func (rr *replyReader) readReply() (int, string, error) {
	rr.limit.n, rr.limit.err = maxReply, nil
	if code, text, ok := rr.oneLineReply(); ok {
		return code, text, nil
	}
	return rr.readResponse()
}

// readResponse reads any reply with textproto, catching lines that a
// read error cut short.
func (rr *replyReader) readResponse() (int, string, error) {
	code, text, err := rr.r.ReadResponse(0)
	if rr.limit.err != nil && rr.limit.last != '\n' {
		// bufio.Reader.ReadLine returns a line that a read error (a
		// deadline, EOF, the cap) cut short as if it were whole, and drops
		// the error: textproto would take "226 Transf" for a 226, or call
		// "226" a malformed reply when the server was only slow.
		return 0, "", fmt.Errorf("reply cut short: %w", rr.limit.err)
	}
	return code, text, err
}

// oneLineReply takes the commonest reply, one line "NNN text" already
// whole in the buffer, the way textproto.Reader.ReadResponse would read
// it, with one allocation (the text; none when it repeats) instead of
// several. Anything else
// (no newline yet, "NNN-", a malformed line) it leaves in the buffer for
// ReadResponse; so it does after a read error, which the next read
// returns again. FuzzOneLineReplyAgrees compares it with ReadResponse.
func (rr *replyReader) oneLineReply() (int, string, bool) {
	if rr.br.Buffered() == 0 {
		if _, err := rr.br.Peek(1); err != nil {
			return 0, "", false
		}
	}
	buf, _ := rr.br.Peek(rr.br.Buffered())
	i := bytes.IndexByte(buf, '\n')
	if i < 0 {
		return 0, "", false
	}
	line := buf[:i]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if len(line) < 4 || line[3] != ' ' || line[0] < '1' || line[0] > '9' ||
		line[1] < '0' || line[1] > '9' || line[2] < '0' || line[2] > '9' {
		return 0, "", false
	}
	code := int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	// A load run reads the same 150 and 226 texts every cycle: keep the
	// last text per code (by code mod 8) and reuse it when it repeats.
	slot := &rr.texts[code%len(rr.texts)]
	if slot.code != code || slot.text != string(line[4:]) {
		slot.code, slot.text = code, string(line[4:])
	}
	rr.br.Discard(i + 1)
	return code, slot.text, true
}

// userPI is one control connection and the user-DTP it drives: RFC 959's
// user protocol interpreter. It is used by one goroutine at a time, except
// for the data goroutine of a cycle, which touches only the dataSide and
// the control connection's read deadline.
type userPI struct {
	id    int
	cfg   *Config
	clock Clock

	ctrl   net.Conn
	r      *replyReader
	out    []byte     // the command line being sent, reused
	local  netip.Addr // our end of the control connection
	peer   netip.Addr // the server-PI's address: where data connections go
	want   int64      // bytes expected per transfer, -1 if unknown
	broken bool       // the control connection can no longer be trusted
	onConn int        // cycles run on this control connection

	backoff   time.Duration // before the next attempt after a failed connect
	exhausted bool          // the last cycle failed for want of local resources

	// Ctrl-C ends blocked reads at once through one context.AfterFunc per
	// control connection, not one per cycle: registering with the run's
	// context takes a lock every user-PI shares.
	stopAbort func() bool // unregisters it; nil without a connection
	dataDone  Waker       // woken when a cycle's data side is done
	abortMu   sync.Mutex
	cur       *cycle // the cycle in progress, whose data side it aborts
}

func newUserPI(id int, cfg *Config) *userPI {
	return &userPI{id: id, cfg: cfg, clock: cfg.Clock, want: -1}
}

func (u *userPI) deadline() time.Time { return u.clock.Now().Add(u.cfg.Timeout) }

// withTimeout derives a context that the Clock cancels after d, so dials
// obey virtual time in a simulation.
func withTimeout(ctx context.Context, c Clock, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	t := c.AfterFunc(d, func() { cancel(context.DeadlineExceeded) })
	return ctx, func() { t.Stop(); cancel(context.Canceled) }
}

// dial opens a connection, from the user-PI's source address when the run
// spreads its users over several (Config.SourceAddrs): control and data
// connections of one user-PI then share an address, as servers that
// check the data connection's peer require.
func (u *userPI) dial(ctx context.Context, addr string) (net.Conn, error) {
	if src := u.cfg.SourceAddrs; len(src) > 0 {
		return u.cfg.Network.(SourceDialer).DialFromAddr(ctx, src[u.id%len(src)], addr)
	}
	return u.cfg.Network.Dial(ctx, addr)
}

// connect dials the server-PI, reads the greeting, logs in and switches to
// binary. It learns the transfer size with SIZE when the op is RETR.
func (u *userPI) connect(ctx context.Context) error {
	dctx, cancel := withTimeout(ctx, u.clock, u.cfg.Timeout)
	c, err := u.dial(dctx, u.cfg.Target.Addr)
	cancel()
	if err != nil {
		if cause := context.Cause(dctx); cause == context.DeadlineExceeded && ctx.Err() == nil {
			err = fmt.Errorf("%w (%v)", cause, err)
		}
		return fmt.Errorf("connect %s: %w", u.cfg.Target.Addr, err)
	}
	u.ctrl, u.broken = c, false
	u.local, u.peer = addrOf(c.LocalAddr()), addrOf(c.RemoteAddr())
	u.r = newReplyReader(c)
	u.stopAbort = context.AfterFunc(ctx, func() {
		u.abortMu.Lock()
		cur := u.cur
		u.abortMu.Unlock()
		if cur != nil {
			cur.abortData()
		}
		c.SetDeadline(time.Unix(1, 0))
	})
	err = u.login()
	if err != nil {
		u.close()
		return err
	}
	return nil
}

func (u *userPI) login() error {
	code, text, err := u.reply("greeting")
	for err == nil && code == 120 { // "service ready in nnn minutes": wait for the 220
		code, text, err = u.reply("greeting")
	}
	if err != nil {
		return err
	}
	if code != 220 {
		return &ReplyError{Cmd: "greeting", Code: code, Text: text}
	}
	t := u.cfg.Target
	if code, text, err = u.exchange("USER "+t.User, "USER "+t.User); err != nil {
		return err
	}
	if code == 331 {
		if code, text, err = u.exchange("PASS "+t.Password, "PASS ****"); err != nil {
			return err
		}
	}
	if code != 230 && code != 202 {
		return &ReplyError{Cmd: "login as " + t.User, Code: code, Text: text}
	}
	if err := u.expect("TYPE I", 200); err != nil {
		return err
	}
	u.want = u.cfg.Size
	if u.cfg.Op == OpRETR {
		u.want = -1
		if u.cfg.Size > 0 {
			u.want = u.cfg.Size
		}
		path := u.path(0)
		code, text, err := u.exchange("SIZE "+path, "SIZE "+path)
		if err != nil {
			return err
		}
		if code == 213 {
			n, perr := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
			if perr != nil || n < 0 {
				return fmt.Errorf("SIZE reply %q: %w", text, textproto.ProtocolError("not a size"))
			}
			u.want = n
		}
	}
	return nil
}

// path is the target path for cycle seq of this user-PI.
func (u *userPI) path(seq int64) string { return expandPath(u.cfg.Target.Path, u.id, seq) }

// send writes one command line. shown is the line as hooks may see it
// (PASS masked).
func (u *userPI) send(line, shown string) error {
	if err := u.ctrl.SetWriteDeadline(u.deadline()); err != nil {
		return err
	}
	// One Write per command, as a flushed bufio.Writer would do, without
	// the writer's buffer per idle user-PI or fmt's boxing per command.
	u.out = append(append(u.out[:0], line...), '\r', '\n')
	if _, err := u.ctrl.Write(u.out); err != nil {
		u.broken = true
		return fmt.Errorf("send %s: %w", shown, err)
	}
	if tr := u.cfg.Trace; tr != nil && tr.WroteCommand != nil {
		tr.WroteCommand(u.id, shown)
	}
	return nil
}

// reply reads one (possibly multi-line) reply. Any failure to read a whole
// reply leaves the control connection out of step, so it is marked broken.
func (u *userPI) reply(what string) (int, string, error) {
	if err := u.ctrl.SetReadDeadline(u.deadline()); err != nil {
		u.broken = true
		return 0, "", err
	}
	code, text, err := u.r.readReply()
	if err != nil {
		u.broken = true
		return 0, "", fmt.Errorf("%s reply: %w", what, err)
	}
	if code == 421 { // "closing control connection", in answer to any command (RFC 959 §4.2)
		u.broken = true
	}
	if tr := u.cfg.Trace; tr != nil && tr.GotReply != nil {
		tr.GotReply(u.id, code, text)
	}
	return code, text, nil
}

// exchange sends a command and reads its reply.
func (u *userPI) exchange(line, shown string) (int, string, error) {
	if err := u.send(line, shown); err != nil {
		return 0, "", err
	}
	return u.reply(shown)
}

// expect sends a command and requires reply code want.
func (u *userPI) expect(line string, want int) error {
	code, text, err := u.exchange(line, line)
	if err != nil {
		return err
	}
	if code != want {
		return u.unexpected(line, code, text)
	}
	return nil
}

// unexpected turns a reply that is not the one asked for into an error. A
// transfer-completion reply where a set-up reply was due answers an earlier
// command: the replies are out of step with the commands.
func (u *userPI) unexpected(cmd string, code int, text string) error {
	if code == 226 || code == 250 || code/100 == 1 {
		u.broken = true
		return fmt.Errorf("%s answered by %d %s: %w", cmd, code, text, ErrDesync)
	}
	return &ReplyError{Cmd: cmd, Code: code, Text: text}
}

// quit ends the session politely, then closes the control connection.
func (u *userPI) quit() {
	if u.ctrl == nil {
		return
	}
	if !u.broken {
		u.exchange("QUIT", "QUIT")
	}
	u.close()
}

// setCycle makes c the cycle a Ctrl-C aborts (nil: none).
func (u *userPI) setCycle(c *cycle) {
	u.abortMu.Lock()
	u.cur = c
	u.abortMu.Unlock()
}

func (u *userPI) close() {
	if u.stopAbort != nil {
		u.stopAbort()
		u.stopAbort = nil
	}
	if u.ctrl != nil {
		u.ctrl.Close()
		u.ctrl = nil
	}
}

func addrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(ta.IP); ok {
			return ip.Unmap()
		}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
