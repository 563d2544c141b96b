package sim

import (
	"bufio"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/textproto"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"ftpbench/internal/ftpaddr"
	"ftpbench/loadgen"
)

// errServerLineTooLong reports a command line longer than MaxLine; the line
// has been read and discarded.
var errServerLineTooLong = errors.New("command line too long")

// serverSession is one control connection: the server-PI and its
// server-DTP. One goroutine runs it; kill may be called from any goroutine.
type serverSession struct {
	srv    *Server
	id     int64
	ctx    context.Context // done when Serve ends
	sctx   context.Context // done when Serve ends or the session is killed
	cancel context.CancelFunc
	race   *raceState
	conn   net.Conn
	br     *bufio.Reader
	tw     *textproto.Writer
	long   []byte // a command line longer than br's buffer, being assembled
	out    []byte // the reply being formatted, reused
	werr   error  // first control write error: the session ends
	quit   bool

	peerHost  string     // the control connection's peer, as an IP string if it is one
	localHost string     // the control connection's local end
	localIP   netip.Addr // invalid if the local address is not an IP

	user     string
	userSent bool // USER accepted, PASS expected
	loggedIn bool
	ascii    bool
	cwd      string
	epsvAll  bool
	active   string   // PORT/EPRT target "host:port", "" if none
	next     *srvDraw // the race draws made at the pending setup command

	mu        sync.Mutex
	killed    bool
	pasv      *srvPassive  // pending PASV/EPSV setup
	data      net.Conn     // open data connection
	lingering []*srvLinger // data connections delayed-close will close
}

// srvPassive is a pending PASV/EPSV setup: the port announced and, once
// listening, its listener. port, refused and at never change; ln, err and
// reserved are guarded by serverSession.mu while at is set.
type srvPassive struct {
	port     uint16
	ln       net.Listener  // nil: not listening (yet)
	err      error         // the late listen failed
	refused  bool          // refuse-data: nobody will listen
	at       time.Time     // late-listen: when listening starts; zero: listening now
	timer    loadgen.Timer // late-listen's timer
	reserved bool          // the port is reserved in the passive range until listening
}

func (s *Server) newSession(ctx context.Context, c net.Conn) *serverSession {
	ss := &serverSession{
		srv:  s,
		id:   s.nextID.Add(1),
		ctx:  ctx,
		race: s.race,
		conn: c,
		br:   bufio.NewReaderSize(c, 512),
		tw:   textproto.NewWriter(bufio.NewWriterSize(c, 256)),
		cwd:  "/",
	}
	// Waits of the session (slow-accept, late-listen) end at kill too;
	// the session's AfterFunc stays on ctx, which kill does not cancel.
	ss.sctx, ss.cancel = context.WithCancel(ctx)
	ss.peerHost, _ = srvHostOf(c.RemoteAddr())
	ss.localHost, ss.localIP = srvHostOf(c.LocalAddr())
	return ss
}

// srvHostOf returns the host part of a, normalised (IPv4-mapped IPv6
// unmapped) when it is an IP address.
func srvHostOf(a net.Addr) (string, netip.Addr) {
	if a == nil {
		return "", netip.Addr{}
	}
	if ta, ok := a.(*net.TCPAddr); ok {
		ip := ta.AddrPort().Addr().Unmap()
		return ip.String(), ip
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String(), netip.Addr{}
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		ip = ip.Unmap()
		return ip.String(), ip
	}
	return h, netip.Addr{}
}

// srvPortOf returns the port of a listener's address.
func srvPortOf(a net.Addr) (uint16, bool) {
	if ta, ok := a.(*net.TCPAddr); ok {
		return uint16(ta.Port), ta.Port > 0 && ta.Port < 1<<16
	}
	_, p, err := net.SplitHostPort(a.String())
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(p, 10, 16)
	return uint16(n), err == nil && n > 0
}

func (ss *serverSession) logf(format string, args ...any) {
	if ss.srv.cfg.Logf != nil {
		ss.srv.cfg.Logf("session %d: "+format, append([]any{ss.id}, args...)...)
	}
}

func (ss *serverSession) deadline() time.Time {
	return ss.srv.clock.Now().Add(ss.srv.timeout)
}

// opCtx returns a context for one Dial, done after Timeout, when
// Serve ends or when the session is killed.
func (ss *serverSession) opCtx() (context.Context, func()) {
	ctx, cancel := context.WithCancel(ss.sctx)
	t := ss.srv.clock.AfterFunc(ss.srv.timeout, cancel)
	return ctx, func() { t.Stop(); cancel() }
}

// kill closes the control connection and any data listener or connection,
// which unblocks the session goroutine wherever it waits. It is idempotent.
func (ss *serverSession) kill() {
	ss.mu.Lock()
	if ss.killed {
		ss.mu.Unlock()
		return
	}
	ss.killed = true
	p, d, lg := ss.pasv, ss.data, ss.lingering
	ss.pasv, ss.data, ss.lingering = nil, nil, nil
	ss.mu.Unlock()
	ss.cancel()
	ss.conn.Close()
	ss.closePassive(p)
	if d != nil {
		d.Close()
	}
	for _, l := range lg {
		l.t.Stop()
		l.c.Close()
	}
}

// setPassive makes p the pending passive setup, closing the one before
// it. It reports false (and closes p) if the session was killed.
func (ss *serverSession) setPassive(p *srvPassive) bool {
	ss.mu.Lock()
	old := ss.pasv
	ok := !ss.killed
	if ok {
		ss.pasv = p
	} else {
		ss.pasv = nil
	}
	ss.mu.Unlock()
	ss.closePassive(old)
	if !ok {
		ss.closePassive(p)
	}
	return ok
}

// closePassive stops a passive setup no longer pending: its timer, its
// listener, its port reservation.
func (ss *serverSession) closePassive(p *srvPassive) {
	if p == nil {
		return
	}
	if p.timer != nil {
		p.timer.Stop()
	}
	// p is no longer ss.pasv, so startListening leaves it alone now.
	ss.mu.Lock()
	ln, reserved := p.ln, p.reserved
	p.reserved = false
	ss.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	if reserved {
		ss.race.ports.unreserve(p.port)
	}
}

func (ss *serverSession) pendingPassive() *srvPassive {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.pasv
}

// setData records the open data connection so kill can close it.
func (ss *serverSession) setData(c net.Conn) bool {
	ss.mu.Lock()
	ok := !ss.killed
	if ok {
		ss.data = c
	}
	ss.mu.Unlock()
	if !ok {
		c.Close()
	}
	return ok
}

// closeData closes the data connection.
func (ss *serverSession) closeData() {
	ss.mu.Lock()
	d := ss.data
	ss.data = nil
	ss.mu.Unlock()
	if d != nil {
		d.Close()
	}
}

// forgetData stops tracking c as the open data connection, so that kill
// no longer closes it: its caller does.
func (ss *serverSession) forgetData(c net.Conn) {
	ss.mu.Lock()
	if ss.data == c {
		ss.data = nil
	}
	ss.mu.Unlock()
}

// resetData forgets any PORT/EPRT address and closes any pending passive
// listener: each data connection setup serves one transfer command.
func (ss *serverSession) resetData() {
	ss.active = ""
	ss.next = nil
	ss.setPassive(nil)
}

func (ss *serverSession) hasDataSetup() bool {
	return ss.active != "" || ss.pendingPassive() != nil || ss.srv.cfg.DefaultDataPort
}

// run serves the session until QUIT, EOF, an error or kill.
func (ss *serverSession) run() {
	stop := context.AfterFunc(ss.ctx, ss.kill)
	defer stop()
	defer ss.kill()
	ss.logf("connected from %v", ss.conn.RemoteAddr())
	ss.reply(220, "%s", ss.srv.cfg.Greeting)
	for ss.werr == nil && !ss.quit {
		line, err := ss.readLine()
		if errors.Is(err, errServerLineTooLong) {
			ss.reply(500, "Command line too long.")
			continue
		}
		if err != nil {
			ss.endRead(err)
			return
		}
		ss.dispatch(line)
	}
	if ss.werr != nil && !ss.isKilled() {
		ss.srv.errs.Add(1)
		ss.logf("control write: %v", ss.werr)
	}
	ss.logf("closed")
}

func (ss *serverSession) isKilled() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.killed
}

// endRead ends the session after the control connection failed to give a
// command: EOF is a normal end, a timeout gets 421.
func (ss *serverSession) endRead(err error) {
	switch {
	case errors.Is(err, io.EOF), ss.isKilled():
		ss.logf("closed: %v", err)
	case errors.Is(err, os.ErrDeadlineExceeded) || srvIsTimeout(err):
		ss.srv.errs.Add(1)
		ss.logf("idle timeout")
		ss.reply(421, "Timeout.")
	default:
		ss.srv.errs.Add(1)
		ss.logf("control read: %v", err)
	}
}

func srvIsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// readLine reads one command line and returns it without its line ending
// ("\r\n", or a bare "\n"). A line longer than MaxLine is read to its end
// and discarded, keeping at most MaxLine+2 bytes, and errServerLineTooLong
// is returned.
func (ss *serverSession) readLine() (string, error) {
	ss.conn.SetReadDeadline(ss.deadline())
	limit := ss.srv.cfg.MaxLine
	frag, err := ss.br.ReadSlice('\n')
	if err == nil {
		line := srvTrimEOL(frag)
		if len(line) > limit {
			return "", errServerLineTooLong
		}
		return string(line), nil
	}
	tooLong := false
	ss.long = ss.long[:0]
	for {
		if !tooLong && len(ss.long)+len(frag) <= limit+2 {
			ss.long = append(ss.long, frag...)
		} else {
			tooLong = true
		}
		if err != bufio.ErrBufferFull {
			break
		}
		frag, err = ss.br.ReadSlice('\n')
	}
	if err != nil {
		return "", err
	}
	if tooLong {
		return "", errServerLineTooLong
	}
	line := srvTrimEOL(ss.long)
	if len(line) > limit {
		return "", errServerLineTooLong
	}
	return string(line), nil
}

func srvTrimEOL(b []byte) []byte {
	b = b[:len(b)-1] // the '\n'
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	return b
}

// reply sends a one-line reply. After a write error it does nothing; the
// session ends.
func (ss *serverSession) reply(code int, format string, args ...any) {
	if ss.werr != nil {
		return
	}
	ss.conn.SetWriteDeadline(ss.deadline())
	b := strconv.AppendInt(ss.out[:0], int64(code), 10)
	b = append(b, ' ')
	if len(args) == 0 && !strings.Contains(format, "%") {
		b = append(b, format...) // most replies: no fmt, no boxing
	} else {
		b = fmt.Appendf(b, format, args...)
	}
	ss.out = append(b, '\r', '\n')
	if _, err := ss.tw.W.Write(ss.out); err != nil {
		ss.werr = err
		return
	}
	ss.werr = ss.tw.W.Flush()
}

// replyLines sends a multi-line reply (RFC 959 §4.2): "code-first", the
// lines indented by one space, "code last".
func (ss *serverSession) replyLines(code int, first string, lines []string, last string) {
	if ss.werr != nil {
		return
	}
	ss.conn.SetWriteDeadline(ss.deadline())
	w := ss.tw.W
	fmt.Fprintf(w, "%d-%s\r\n", code, first)
	for _, l := range lines {
		fmt.Fprintf(w, " %s\r\n", l)
	}
	fmt.Fprintf(w, "%d %s\r\n", code, last)
	ss.werr = w.Flush()
}

// srvPrintable makes client text safe to echo in a reply: at most 200
// bytes, valid UTF-8, control characters replaced by '?'.
func srvPrintable(s string) string {
	const limit = 200
	cut := len(s) > limit
	if cut {
		s = s[:limit]
	}
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
	if cut {
		s += "..."
	}
	return s
}

type serverCommand struct {
	login bool // needs a logged-in user
	fn    func(ss *serverSession, arg string)
}

// serverCommands are the commands the server implements; any other verb
// gets 502.
var serverCommands = map[string]serverCommand{
	"USER": {false, (*serverSession).cmdUSER},
	"PASS": {false, (*serverSession).cmdPASS},
	"QUIT": {false, (*serverSession).cmdQUIT},
	"NOOP": {false, (*serverSession).cmdNOOP},
	"SYST": {false, (*serverSession).cmdSYST},
	"FEAT": {false, (*serverSession).cmdFEAT},
	"OPTS": {true, (*serverSession).cmdOPTS},
	"TYPE": {true, (*serverSession).cmdTYPE},
	"MODE": {true, (*serverSession).cmdMODE},
	"STRU": {true, (*serverSession).cmdSTRU},
	"PWD":  {true, (*serverSession).cmdPWD},
	"XPWD": {true, (*serverSession).cmdPWD},
	"CWD":  {true, (*serverSession).cmdCWD},
	"XCWD": {true, (*serverSession).cmdCWD},
	"CDUP": {true, (*serverSession).cmdCDUP},
	"XCUP": {true, (*serverSession).cmdCDUP},
	"SIZE": {true, (*serverSession).cmdSIZE},
	"PASV": {true, (*serverSession).cmdPASV},
	"EPSV": {true, (*serverSession).cmdEPSV},
	"PORT": {true, (*serverSession).cmdPORT},
	"EPRT": {true, (*serverSession).cmdEPRT},
	"RETR": {true, (*serverSession).cmdRETR},
	"STOR": {true, (*serverSession).cmdSTOR},
	"ABOR": {true, (*serverSession).cmdABOR},
}

// dispatch runs one command line: "VERB" or "VERB SP argument".
func (ss *serverSession) dispatch(line string) {
	// Telnet IP and Synch (RFC 959 §4.1.3) may precede ABOR; drop them.
	line = strings.TrimLeft(line, "\xff\xf4\xf2")
	verb, arg, _ := strings.Cut(line, " ")
	verb = strings.ToUpper(verb)
	if ss.srv.cfg.Logf != nil {
		if verb == "PASS" {
			ss.logf("PASS ****")
		} else {
			ss.logf("%s", srvPrintable(line))
		}
	}
	if verb == "" {
		ss.reply(500, "Syntax error, command unrecognized.")
		return
	}
	c, ok := serverCommands[verb]
	switch {
	case !ok:
		ss.reply(502, "Command %s not implemented.", srvPrintable(verb))
	case c.login && !ss.loggedIn:
		ss.reply(530, "Please login with USER and PASS.")
	default:
		c.fn(ss, arg)
	}
}

func (ss *serverSession) cmdUSER(arg string) {
	if arg == "" {
		ss.reply(501, "USER needs a user name.")
		return
	}
	ss.user, ss.userSent, ss.loggedIn = arg, true, false
	ss.resetData()
	ss.reply(331, "Please specify the password.")
}

func (ss *serverSession) cmdPASS(arg string) {
	switch {
	case ss.loggedIn:
		ss.reply(230, "Already logged in.")
	case !ss.userSent:
		ss.reply(503, "Login with USER first.")
	case ss.checkLogin(ss.user, arg):
		ss.userSent, ss.loggedIn = false, true
		ss.logf("logged in as %s", srvPrintable(ss.user))
		ss.reply(230, "Login successful.")
	default:
		ss.userSent = false
		ss.logf("login failed for %s", srvPrintable(ss.user))
		ss.reply(530, "Login incorrect.")
	}
}

func (ss *serverSession) checkLogin(user, pass string) bool {
	cfg := &ss.srv.cfg
	if cfg.Anonymous && (strings.EqualFold(user, "anonymous") || strings.EqualFold(user, "ftp")) {
		return true
	}
	want, ok := cfg.Users[user]
	return ok && subtle.ConstantTimeCompare([]byte(want), []byte(pass)) == 1
}

func (ss *serverSession) cmdQUIT(string) {
	ss.quit = true
	ss.reply(221, "Goodbye.")
}

func (ss *serverSession) cmdNOOP(string) { ss.reply(200, "NOOP ok.") }

func (ss *serverSession) cmdSYST(string) { ss.reply(215, "UNIX Type: L8") }

func (ss *serverSession) cmdFEAT(string) {
	ss.replyLines(211, "Features:", []string{"EPRT", "EPSV", "PASV", "SIZE", "UTF8"}, "End")
}

func (ss *serverSession) cmdOPTS(arg string) {
	if strings.EqualFold(arg, "UTF8 ON") || strings.EqualFold(arg, "UTF8") {
		ss.reply(200, "Always in UTF8 mode.")
		return
	}
	ss.reply(501, "Option not understood.")
}

func (ss *serverSession) cmdTYPE(arg string) {
	switch strings.ToUpper(arg) {
	case "I", "L 8":
		ss.ascii = false
		ss.reply(200, "Switching to Binary mode.")
	case "A", "A N":
		ss.ascii = true
		ss.reply(200, "Switching to ASCII mode.")
	case "":
		ss.reply(501, "TYPE needs an argument.")
	default:
		ss.reply(504, "Bad TYPE command.")
	}
}

func (ss *serverSession) cmdMODE(arg string) { ss.onlyValue("MODE", "Mode", "S", arg) }

func (ss *serverSession) cmdSTRU(arg string) { ss.onlyValue("STRU", "Structure", "F", arg) }

// onlyValue answers a command of which the server supports one value,
// as RFC 959's minimum implementation has it for MODE (S) and STRU (F).
func (ss *serverSession) onlyValue(cmd, what, value, arg string) {
	switch strings.ToUpper(arg) {
	case value:
		ss.reply(200, "%s set to %s.", what, value)
	case "":
		ss.reply(501, "%s needs an argument.", cmd)
	default:
		ss.reply(504, "Bad %s command.", cmd)
	}
}

// resolve makes a path argument absolute against the working directory.
func (ss *serverSession) resolve(arg string) string {
	if strings.HasPrefix(arg, "/") {
		return srvCleanPath(arg)
	}
	return srvCleanPath(ss.cwd + "/" + arg)
}

func (ss *serverSession) cmdPWD(string) {
	ss.reply(257, "\"%s\" is the current directory", strings.ReplaceAll(srvPrintable(ss.cwd), `"`, `""`))
}

// cmdCWD accepts any directory: the synthetic tree has every one.
func (ss *serverSession) cmdCWD(arg string) {
	if arg == "" {
		ss.reply(501, "CWD needs a directory.")
		return
	}
	ss.cwd = ss.resolve(arg)
	ss.reply(250, "Directory successfully changed.")
}

func (ss *serverSession) cmdCDUP(string) {
	ss.cwd = path.Dir(ss.cwd)
	ss.reply(250, "Directory successfully changed.")
}

func (ss *serverSession) cmdSIZE(arg string) {
	if arg == "" {
		ss.reply(501, "SIZE needs a file name.")
		return
	}
	if n, ok := ss.srv.lookup(ss.resolve(arg)); ok {
		ss.reply(213, "%d", n)
		return
	}
	ss.reply(550, "Could not get file size.")
}

func (ss *serverSession) cmdPASV(string) {
	if ss.epsvAll {
		ss.reply(501, "EPSV ALL in effect; use EPSV.")
		return
	}
	if !ss.localIP.Is4() {
		ss.reply(425, "Can't open passive connection: control connection is not IPv4; use EPSV.")
		return
	}
	port, ok := ss.listenData()
	if !ok {
		return
	}
	hp, err := ftpaddr.FormatHostPort(netip.AddrPortFrom(ss.localIP, port))
	if err != nil { // cannot happen: localIP is IPv4
		ss.setPassive(nil)
		ss.reply(425, "Can't open passive connection.")
		return
	}
	ss.reply(227, "Entering Passive Mode (%s).", hp)
}

func (ss *serverSession) cmdEPSV(arg string) {
	switch {
	case arg == "":
	case strings.EqualFold(arg, "ALL"):
		ss.epsvAll = true
		ss.reply(200, "EPSV ALL ok.")
		return
	case arg == "1" && ss.localIP.Is6(), arg == "2" && ss.localIP.Is4():
		if ss.localIP.Is4() {
			ss.reply(522, "Network protocol not supported, use (1).")
		} else {
			ss.reply(522, "Network protocol not supported, use (2).")
		}
		return
	case arg == "1", arg == "2":
	default:
		ss.reply(501, "Illegal EPSV command.")
		return
	}
	port, ok := ss.listenData()
	if !ok {
		return
	}
	ss.reply(229, "%s", ftpaddr.Format229(port))
}

// listenData opens the passive listener for PASV/EPSV on the control
// connection's local address, replacing any earlier setup, and makes the
// draws of the transfer it prepares; the setup faults late-listen and
// refuse-data act here. On failure it has replied 425.
func (ss *serverSession) listenData() (uint16, bool) {
	ss.resetData()
	d := ss.drawNext()
	ln, err := ss.listenPassive()
	if errors.Is(err, errNoFreePassivePort) {
		ss.race.noFreePort.Add(1)
		ss.logf("passive listen: every port of %d-%d is busy", ss.race.ports.lo, ss.race.ports.hi)
		ss.reply(425, "No free passive port.")
		return 0, false
	}
	if err != nil {
		ss.logf("passive listen: %v", err)
		ss.reply(425, "Can't open passive connection.")
		return 0, false
	}
	port, ok := srvPortOf(ln.Addr())
	if !ok {
		ln.Close()
		ss.logf("passive listener has no port: %v", ln.Addr())
		ss.reply(425, "Can't open passive connection.")
		return 0, false
	}
	var p *srvPassive
	switch d.fault.Kind {
	case FaultRefuseData:
		p = ss.refuseListen(ln, port)
	case FaultLateListen:
		p = ss.listenLater(ln, port, d.fault.Delay)
	default:
		p = &srvPassive{port: port, ln: ln}
	}
	if !ss.setPassive(p) {
		return 0, false
	}
	return port, true
}

// passiveAddr is the address a passive listener on port listens on.
func (ss *serverSession) passiveAddr(port int) string {
	return net.JoinHostPort(ss.localHost, strconv.Itoa(port))
}

// listenPassive listens on an ephemeral port or, with PassivePorts, on
// the lowest port of the range that is free.
func (ss *serverSession) listenPassive() (net.Listener, error) {
	// Listening does not block (on TCP the context only bounds name
	// resolution, and these are addresses), so no timeout context: it
	// was four allocations per PASV.
	ctx := ss.sctx
	pp := ss.race.ports
	if pp == nil {
		return ss.srv.net.Listen(ctx, ss.passiveAddr(0))
	}
	now := ss.srv.clock.Now()
	for port := pp.lo; port <= pp.hi; port++ {
		if pp.busy(uint16(port), now) {
			continue
		}
		ln, err := ss.srv.net.Listen(ctx, ss.passiveAddr(port))
		if err == nil {
			return ln, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
	}
	return nil, errNoFreePassivePort
}

func (ss *serverSession) cmdPORT(arg string) {
	if ss.epsvAll {
		ss.reply(501, "EPSV ALL in effect; use EPSV.")
		return
	}
	ap, err := ftpaddr.ParseHostPort(arg)
	if err != nil || ap.Port() == 0 {
		ss.reply(501, "Illegal PORT command.")
		return
	}
	ss.setActive("PORT", "PASV", ap)
}

func (ss *serverSession) cmdEPRT(arg string) {
	if ss.epsvAll {
		ss.reply(501, "EPSV ALL in effect; use EPSV.")
		return
	}
	ap, err := ftpaddr.ParseEPRT(arg)
	if err != nil {
		// RFC 2428 §2: a well-formed EPRT for an unknown network protocol
		// gets 522.
		if d := arg[:min(len(arg), 1)]; len(arg) > 2 && strings.HasSuffix(arg, d) {
			if f := strings.Split(arg[1:len(arg)-1], d); len(f) == 3 && f[0] != "1" && f[0] != "2" {
				ss.reply(522, "Network protocol not supported, use (1,2).")
				return
			}
		}
		ss.reply(501, "Illegal EPRT command.")
		return
	}
	ss.setActive("EPRT", "EPSV", ap)
}

// setActive records the address the server-DTP will connect to at the next
// transfer command (after it, before 150, as vsftpd and pure-ftpd do), after
// the third-party check of RFC 2577 §3 unless AllowFXP.
func (ss *serverSession) setActive(verb, alt string, ap netip.AddrPort) {
	host := ap.Addr().Unmap().String()
	if !ss.srv.cfg.AllowFXP && host != ss.peerHost {
		ss.reply(500, "I won't open a connection to %s (only to %s)", host, srvPrintable(ss.peerHost))
		return
	}
	ss.resetData()
	ss.drawNext()
	ss.active = net.JoinHostPort(host, strconv.Itoa(int(ap.Port())))
	ss.reply(200, "%s command successful. Consider using %s.", verb, alt)
}

func (ss *serverSession) cmdABOR(string) {
	ss.resetData()
	ss.reply(225, "No transfer to ABOR.")
}

// openData makes the data connection for a transfer command: accepts on
// the pending passive listener, or dials the PORT/EPRT address (or the
// default data port), within Timeout. The faults refuse-data and
// slow-accept act here.
func (ss *serverSession) openData(f Fault) (net.Conn, error) {
	var c net.Conn
	var err error
	if p := ss.pendingPassive(); p != nil {
		c, err = ss.acceptPassive(p, f)
		ss.setPassive(nil)
	} else {
		c, err = ss.connectActive(f)
	}
	if err != nil {
		return nil, err
	}
	if !ss.setData(c) {
		return nil, net.ErrClosed
	}
	return c, nil
}

// acceptPassive takes the data connection of a PASV/EPSV setup.
func (ss *serverSession) acceptPassive(p *srvPassive, f Fault) (net.Conn, error) {
	if p.refused {
		return nil, errFaultRefused
	}
	if f.Kind == FaultSlowAccept {
		if err := ss.slowAccept(f.Delay); err != nil {
			return nil, err
		}
	}
	ln, err := ss.passiveListener(p)
	if err != nil {
		return nil, err
	}
	c, err := ss.acceptData(ln)
	if err != nil {
		return nil, err
	}
	if pp := ss.race.ports; pp != nil {
		c = pp.opened(p.port, c)
	}
	return c, nil
}

// passiveListener returns p's listener; for late-listen, not before the
// instant the listening starts.
func (ss *serverSession) passiveListener(p *srvPassive) (net.Listener, error) {
	if p.at.IsZero() {
		return p.ln, nil
	}
	if err := loadgen.Sleep(ss.sctx, ss.srv.clock, p.at.Sub(ss.srv.clock.Now())); err != nil {
		return nil, err
	}
	ln, err := ss.startListening(p)
	if err != nil {
		return nil, fmt.Errorf("late passive listen on port %d: %w", p.port, err)
	}
	return ln, nil
}

// connectActive dials the data connection of a PORT/EPRT setup or of the
// default data port.
func (ss *serverSession) connectActive(f Fault) (net.Conn, error) {
	addr := ss.active
	ss.active = ""
	if addr == "" {
		addr = ss.conn.RemoteAddr().String() // RFC 959 default data port
	}
	switch f.Kind {
	case FaultRefuseData:
		ss.race.countFault(f)
		return nil, errFaultRefused
	case FaultSlowAccept:
		if err := ss.slowAccept(f.Delay); err != nil {
			return nil, err
		}
	}
	ctx, done := ss.opCtx()
	c, err := ss.dialData(ctx, addr)
	done()
	if err != nil {
		return nil, fmt.Errorf("dial data connection to %s: %w", addr, err)
	}
	return c, nil
}

// srvDialFromer is a Network that dials from a chosen local port, as
// sim.Host does.
type srvDialFromer interface {
	DialFrom(ctx context.Context, localPort int, addr string) (net.Conn, error)
}

// dialData connects the server-DTP to addr. RFC 959 §3.2 has it connect
// from port L-1, the control port less one (20 for 21), as vsftpd
// (connect_from_port_20) and pure-ftpd do; it does when the Network can
// choose the local port (sim.Host). Over loadgen.TCP the port is ephemeral,
// as with pyftpdlib: binding a fixed port would need privileges and
// SO_REUSEADDR juggling.
func (ss *serverSession) dialData(ctx context.Context, addr string) (net.Conn, error) {
	if df, ok := ss.srv.net.(srvDialFromer); ok {
		if _, p, err := net.SplitHostPort(ss.conn.LocalAddr().String()); err == nil {
			if l, err := strconv.Atoi(p); err == nil && l > 1 {
				return df.DialFrom(ctx, l-1, addr)
			}
		}
	}
	return ss.srv.net.Dial(ctx, addr)
}

// acceptData accepts the one data connection of a passive setup. A
// connection from another address than the control connection's peer is
// closed and ignored unless AllowFXP. The listener is closed after Timeout,
// which ends the wait.
func (ss *serverSession) acceptData(ln net.Listener) (net.Conn, error) {
	t := ss.srv.clock.AfterFunc(ss.srv.timeout, func() { ln.Close() })
	defer t.Stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			return nil, fmt.Errorf("accept data connection: %w", err)
		}
		if ss.srv.cfg.AllowFXP {
			return c, nil
		}
		if h, _ := srvHostOf(c.RemoteAddr()); h == ss.peerHost {
			return c, nil
		}
		ss.logf("data connection from foreign address %v refused", c.RemoteAddr())
		c.Close()
	}
}

func (ss *serverSession) typeName() string {
	if ss.ascii {
		return "ASCII"
	}
	return "BINARY"
}

// startTransfer does what RETR and STOR share up to the 150 reply. It
// returns the transfer with its data connection open, or nil when it has
// already replied.
func (ss *serverSession) startTransfer(verb, arg string, size int64) *srvXfer {
	d := ss.takeDraw()
	if d.end.kind() != EndCloseThen226 || d.fault.Kind != "" {
		ss.logf("%s: end %v, fault %v", verb, d.end, d.fault)
	}
	c, err := ss.openData(d.fault)
	if err != nil {
		ss.srv.errs.Add(1)
		ss.logf("%s: %v", verb, err)
		ss.reply(425, "Failed to establish connection.")
		return nil
	}
	if size >= 0 {
		ss.reply(150, "Opening %s mode data connection for %s (%d bytes).", ss.typeName(), srvPrintable(arg), size)
	} else {
		ss.reply(150, "Opening %s mode data connection for %s.", ss.typeName(), srvPrintable(arg))
	}
	if ss.werr != nil {
		ss.closeData()
		return nil
	}
	return ss.newXfer(verb, c, size, d)
}

// cmdRETR sends a synthetic file. TYPE A sends the same bytes as TYPE I
// (no newline conversion, like vsftpd's default).
func (ss *serverSession) cmdRETR(arg string) {
	if arg == "" {
		ss.reply(501, "RETR needs a file name.")
		return
	}
	if !ss.hasDataSetup() {
		ss.reply(425, "Use PORT or PASV first.")
		return
	}
	size, ok := ss.srv.lookup(ss.resolve(arg))
	if !ok {
		ss.resetData()
		ss.reply(550, "Failed to open file.")
		return
	}
	if x := ss.startTransfer("RETR", arg, size); x != nil {
		ss.endTransfer(x)
	}
}

// cmdSTOR reads the data connection to EOF, counting and discarding the
// bytes: any path is accepted and nothing is stored.
func (ss *serverSession) cmdSTOR(arg string) {
	if arg == "" {
		ss.reply(501, "STOR needs a file name.")
		return
	}
	if !ss.hasDataSetup() {
		ss.reply(425, "Use PORT or PASV first.")
		return
	}
	if x := ss.startTransfer("STOR", arg, -1); x != nil {
		ss.endTransfer(x)
	}
}
