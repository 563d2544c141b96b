package probe

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"ftpbench/internal/ftpaddr"
	"ftpbench/loadgen"
	"ftpbench/results"
)

// checks are the report's lines, in order: quick ones first, so that a
// server that makes every transfer wait out the timeout still gets most
// lines within the budget. Each runs within capTimeouts × Config.Timeout.
var checks = []check{
	{"pasv", "PASV transfer", 4, transferCheck(loadgen.ModePASV)},
	{"port", "PORT transfer", 4, transferCheck(loadgen.ModePORT)},
	{"epsv", "EPSV transfer", 4, transferCheck(loadgen.ModeEPSV)},
	{"eprt", "EPRT transfer", 4, transferCheck(loadgen.ModeEPRT)},
	{"default-port", "default data port transfer", 4, (*prober).checkDefaultPort},
	{"default-from", "default data port from L-1", 4, (*prober).checkDefaultFrom},
	{"bounce", "PORT to a third party refused", 3, (*prober).checkBounce},
	{"no-data-425", "425/426 when the data connection fails", 4, (*prober).checkNoData},
	{"close-at-once", "data closed at once after the last byte", 5, (*prober).checkCloseAtOnce},
	{"226-while-open", "226 without waiting for the client's close", 5, (*prober).checkFinalWhileOpen},
	{"second-command", "transfer command before 226 refused", 6, (*prober).checkSecondCommand},
	{"close-then-226", "226 never before the data EOF", 6, (*prober).checkCloseThen226},
	{"fxp", "FXP to the second URL", 4, (*prober).checkFXP},
}

// maxFailedTransfers ends the close-then-226 sample early: transfers that
// fail (each may have waited out the timeout) measure nothing.
const maxFailedTransfers = 3

// cycles runs up to n loadgen cycles of mode on one user-PI and returns
// their records; edit, when set, adjusts the run's Config. The run stops
// early (its last cycle then ends as canceled) once maxFailed cycles
// failed, unless maxFailed is 0.
func (p *prober) cycles(ctx context.Context, mode loadgen.Mode, n, maxFailed int, edit func(*loadgen.Config)) ([]results.Record, error) {
	cfg := p.sessionConfig()
	cfg.Modes, cfg.Cycles, cfg.Users = []loadgen.Mode{mode}, int64(n), 1
	if edit != nil {
		edit(&cfg)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	var recs []results.Record
	failed := 0
	for r := range ch {
		if r.Outcome == results.Canceled && failed >= maxFailed && maxFailed > 0 {
			continue // cut short by us: no measurement
		}
		recs = append(recs, r)
		if r.Outcome != results.OK {
			if failed++; failed == maxFailed {
				cancel()
			}
		}
	}
	return recs, nil
}

// one runs a single cycle of mode and returns its record.
func (p *prober) one(ctx context.Context, mode loadgen.Mode, edit func(*loadgen.Config)) (results.Record, error) {
	recs, err := p.cycles(ctx, mode, 1, 0, edit)
	if err != nil {
		return results.Record{}, err
	}
	return recs[0], nil
}

// transferCheck is the check that one cycle of mode completes.
func transferCheck(mode loadgen.Mode) func(*prober, context.Context) (Verdict, string, string) {
	return func(p *prober, ctx context.Context) (Verdict, string, string) {
		r, err := p.one(ctx, mode, nil)
		if err != nil {
			return Fail, "probe error", err.Error()
		}
		if r.Outcome == results.OK {
			return Pass, "transfer complete", describe(r)
		}
		note := failNote(r)
		verb := strings.ToUpper(string(mode))
		if (mode == loadgen.ModeEPSV || mode == loadgen.ModeEPRT) && strings.HasPrefix(r.Err, verb) &&
			notImplementedRE.MatchString(note) {
			return NA, "not implemented: " + note, failEvidence(r)
		}
		return Fail, note, failEvidence(r)
	}
}

// describe sums up a completed cycle.
func describe(r results.Record) string {
	s := fmt.Sprintf("%d bytes, final reply %d", r.Bytes, r.Code)
	if d, ok := r.SetupLatency(); ok {
		s += fmt.Sprintf("; data connection %v after %s", round(d), setupPhrase(r.Mode))
	}
	if d, ok := r.T.Between(results.CmdSent, results.Final); ok {
		s += fmt.Sprintf("; final reply %v after the transfer command", round(d))
	}
	return s
}

func setupPhrase(mode string) string {
	switch loadgen.Mode(mode) {
	case loadgen.ModeDefault:
		return "RETR"
	case loadgen.ModeFXP:
		return "PASV"
	}
	return strings.ToUpper(mode)
}

// failNote is the stable note of a failed cycle: the reply that failed
// it ("CMD: NNN text" in its error), or its outcome.
func failNote(r results.Record) string {
	if m := replyInErrRE.FindStringSubmatch(r.Err); m != nil {
		return stable(m[1])
	}
	return string(r.Outcome)
}

var (
	replyInErrRE     = regexp.MustCompile(`: ([1-5][0-9][0-9] .*)`)
	notImplementedRE = regexp.MustCompile(`^50[0-4] `)
)

// failEvidence is the evidence of a failed cycle.
func failEvidence(r results.Record) string {
	return fmt.Sprintf("%s: %s", r.Outcome, r.Err)
}

// stable makes a reply text comparable across runs: its first line,
// without the data side's evidence, and with port numbers, sizes and
// times replaced by N.
func stable(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	s, _, _ = strings.Cut(s, " (data: ")
	return strings.TrimSpace(numberRE.ReplaceAllString(s, "N"))
}

var numberRE = regexp.MustCompile(`\b[0-9]{4,}\b|[0-9]+\.[0-9]+ (?:seconds|[kKmM]?bytes)`)

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// defaultPort is the outcome of the default data port cycle, shared by
// the two checks that read it.
type defaultPort struct {
	rec   results.Record
	u     int // the port listened on, the control connection's
	conns []watched
	err   error
}

// runDefaultPort runs the default data port cycle once per probe.
func (p *prober) runDefaultPort(ctx context.Context) *defaultPort {
	if p.dflt != nil {
		return p.dflt
	}
	for attempt := 1; ; attempt++ {
		w := newWatchNet(p.cfg.Network, p.cfg.Clock, p.cfg.Timeout)
		r, err := p.one(ctx, loadgen.ModeDefault, func(c *loadgen.Config) { c.Network = w })
		p.dflt = &defaultPort{rec: r, err: err, conns: w.seen(), u: w.listened()}
		// A failed transfer with a neighbour of U unwatched (another
		// socket had that port) may be a server that connected there
		// (proftpd connects to U-1) and was refused: try again from
		// another control port, so the finding does not depend on which
		// ports were free.
		if err != nil || r.Outcome == results.OK || !w.blindSpot() || attempt == defaultPortTries {
			return p.dflt
		}
	}
}

// defaultPortTries bounds the default data port check's attempts.
const defaultPortTries = 5

// checkDefaultPort: RFC 959 §3.2 and §5.2, "every implementation must
// support the default data port": with no PORT or PASV, the server
// connects to the client's control port U.
func (p *prober) checkDefaultPort(ctx context.Context) (Verdict, string, string) {
	d := p.runDefaultPort(ctx)
	if d.err != nil {
		return Fail, "probe error", d.err.Error()
	}
	r := d.rec
	ev := connsEvidence(d.conns)
	if r.Outcome == results.OK {
		return Pass, "transfer complete", describe(r) + ev
	}
	note := failNote(r)
	for _, c := range d.conns {
		if c.wrong {
			note = fmt.Sprintf("connected to U%+d instead of U", int(c.to.Port())-d.u)
		}
	}
	if note == string(results.Timeout) && r.T.Has(results.Prelim) {
		note = "1xx, then no connection"
	}
	if strings.Contains(r.Err, "user-DTP listen") {
		return NA, "cannot listen on the control connection's port", failEvidence(r)
	}
	return Fail, note, failEvidence(r) + ev
}

// connsEvidence lists the data connections the server made, if any.
func connsEvidence(conns []watched) string {
	var parts []string
	for _, c := range conns {
		s := fmt.Sprintf("the server connected from %s to %s", c.from, c.to)
		if c.wrong {
			s += fmt.Sprintf(" (a port next to U; %d bytes)", c.bytes)
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, "; ")
}

// checkDefaultFrom: RFC 959 §3.2, the server-DTP's default data port is
// L-1 (port 20 for 21). N/A when the server made no connection at all.
func (p *prober) checkDefaultFrom(ctx context.Context) (Verdict, string, string) {
	d := p.runDefaultPort(ctx)
	if len(d.conns) == 0 {
		return NA, "no data connection", "the server made no data connection for the default data port"
	}
	c := d.conns[0]
	for _, dc := range d.conns {
		if !dc.wrong {
			c = dc // the connection to U, if there was one
		}
	}
	l1 := p.ctrlPort - 1
	ev := fmt.Sprintf("connected from %s to %s; L = %d", c.from, c.to, p.ctrlPort)
	if int(c.from.Port()) == l1 {
		return Pass, "from L-1", ev
	}
	return Fail, "not from L-1", ev
}

// checkCloseThen226 measures, over Transfers PASV transfers by a strict
// client, how often the 226 was read before the data EOF (§5.2: the
// server closes the data connection, then sends 226). A client that acts
// on 226 at once loses data exactly when this happens. On a fast link a
// server that closes first can still have its 226 overtake the tail of a
// file larger than the socket buffers; with a small file the order on the
// wire shows through.
func (p *prober) checkCloseThen226(ctx context.Context) (Verdict, string, string) {
	recs, err := p.cycles(ctx, loadgen.ModePASV, p.cfg.Transfers, maxFailedTransfers, nil)
	if err != nil {
		return Fail, "probe error", err.Error()
	}
	sum := results.NewSummary()
	var firstFail *results.Record
	for i := range recs {
		sum.Add(&recs[i])
		if firstFail == nil && recs[i].Outcome != results.OK {
			firstFail = &recs[i]
		}
	}
	st := sum.All()
	if st.RaceGap.Count == 0 {
		ev := "no transfer reached both the data EOF and a final reply"
		if firstFail != nil {
			ev += "; " + failEvidence(*firstFail)
		}
		return NA, "no transfer completed", ev
	}
	ev := fmt.Sprintf("226 before EOF in %d of %d transfers (%.0f%%); race gap (226 - EOF) p50 %v, p99 %v",
		st.BeforeEOF, st.RaceGap.Count, 100*float64(st.BeforeEOF)/float64(st.RaceGap.Count), round(st.RaceGap.P50), round(st.RaceGap.P99))
	if failed := st.Cycles - st.OK; failed > 0 {
		ev += fmt.Sprintf("; %d of %d transfers failed, first: %s", failed, st.Cycles, failEvidence(*firstFail))
		if failed >= maxFailedTransfers {
			ev += fmt.Sprintf("; stopped after %d failures", failed)
		}
	}
	if st.BeforeEOF == 0 {
		return Pass, "226 after EOF", ev
	}
	return Fail, "226 read before the data EOF", ev
}

// endObs is what one transfer by a client that holds the data connection
// open after EOF shows about the server's end of transfer; the
// close-at-once and 226-while-open checks both read it.
type endObs struct {
	err       error // the transfer did not start
	n         int64
	eof       bool
	gap       time.Duration // last data byte (or the 1xx) → EOF or giving up
	dataErr   error
	final     string        // the final reply, "NNN text"
	finalCode int           // 0: none
	afterEOF  time.Duration // when it came, after the data ended
	heldOpen  bool          // it came while the client held the data connection open
	closeWait time.Duration // after the client's close, when it came only then
	replyErr  error
}

// runEnd makes one PASV RETR and watches its end: read the data to EOF
// (or for Timeout), keep the data connection open and wait Timeout for the
// final reply; if none came, close it and wait Timeout again.
func (p *prober) runEnd(ctx context.Context) *endObs {
	if p.end != nil {
		return p.end
	}
	o := &endObs{}
	p.end = o
	clock := p.cfg.Clock
	s, err := loadgen.DialSession(ctx, p.sessionConfig())
	if err != nil {
		o.err = err
		return o
	}
	defer s.Close()
	dc, err := s.Passive(ctx, false)
	if err != nil {
		o.err = err
		return o
	}
	defer dc.Close()
	stop := context.AfterFunc(ctx, func() { dc.Close() })
	defer stop()
	retr := "RETR " + p.cfg.Target.Path
	code, text, err := s.Cmd(retr)
	if err == nil && code/100 != 1 {
		err = &loadgen.ReplyError{Cmd: retr, Code: code, Text: text}
	}
	if err != nil {
		o.err = err
		return o
	}
	var lastData, end time.Time
	o.n, o.eof, lastData, end, o.dataErr = drain(dc, clock, p.cfg.Timeout, clock.Now())
	o.gap = end.Sub(lastData)
	code, text, err = s.Reply()
	if err == nil {
		o.heldOpen = true
	} else {
		dc.Close()
		closed := clock.Now()
		code, text, err = s.Reply()
		o.closeWait = clock.Now().Sub(closed)
	}
	o.afterEOF = clock.Now().Sub(end)
	if err != nil {
		o.replyErr = err
		return o
	}
	o.finalCode, o.final = code, fmt.Sprintf("%d %s", code, firstLine(text))
	return o
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// checkCloseAtOnce: §5.2, the server closes the data connection at once
// when closing is not needed to mark EOF... and in stream mode it is: the
// close is the EOF, and it should follow the last byte at once.
func (p *prober) checkCloseAtOnce(ctx context.Context) (Verdict, string, string) {
	o := p.runEnd(ctx)
	if o.err != nil {
		return NA, "no transfer", o.err.Error()
	}
	switch {
	case !o.eof:
		return Fail, "data connection left open", fmt.Sprintf("no EOF within %v after the last of %d bytes: %v", p.cfg.Timeout, o.n, o.dataErr)
	case p.size >= 0 && o.n != p.size:
		return Fail, "closed before all the data", fmt.Sprintf("EOF after %d of %d bytes", o.n, p.size)
	case o.gap > p.cfg.CloseWithin:
		return Fail, "closed late", fmt.Sprintf("EOF %v after the last of %d bytes (at once: within %v)", round(o.gap), o.n, p.cfg.CloseWithin)
	}
	return Pass, "closed at once", fmt.Sprintf("EOF %v after the last of %d bytes", round(o.gap), o.n)
}

// checkFinalWhileOpen: the server must not make its 226 wait for the
// client to close the data connection: a client that keeps it open until
// the final reply (jum/tinyftp #3) would stall.
func (p *prober) checkFinalWhileOpen(ctx context.Context) (Verdict, string, string) {
	o := p.runEnd(ctx)
	switch {
	case o.err != nil:
		return NA, "no transfer", o.err.Error()
	case o.replyErr != nil:
		return Fail, "no final reply", fmt.Sprintf("no final reply within %v with the data connection open, nor within %v after closing it: %v", p.cfg.Timeout, p.cfg.Timeout, o.replyErr)
	case !o.heldOpen:
		return Fail, "final reply only after the client's close", fmt.Sprintf("no final reply within %v while the client held the data connection open; %q %v after it closed", p.cfg.Timeout, o.final, round(o.closeWait))
	case o.finalCode/100 != 2:
		return Fail, stable(o.final), fmt.Sprintf("%q %v after the data ended", o.final, round(o.afterEOF))
	}
	return Pass, "final reply with the data connection open", fmt.Sprintf("%q %v after the data ended, the data connection still open", o.final, round(o.afterEOF))
}

// foreignAddr is an IPv4 address other than the client's and the
// server's: the client's with the last byte changed (127.0.0.1 →
// 127.0.0.2).
func foreignAddr(local, peer netip.Addr) (netip.Addr, bool) {
	if !local.Is4() {
		return netip.Addr{}, false
	}
	b := local.As4()
	for i := 1; i < 255; i++ {
		c := b
		c[3] = byte((int(b[3])+i-1)%254 + 1)
		if a := netip.AddrFrom4(c); a != local && a != peer {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// checkBounce: RFC 2577 §3, a server should refuse PORT to an address
// other than the client's (FTP bounce). Where the probe can listen on that
// address (127.0.0.2 on Linux loopback) it does, to see a server that
// accepts connect there.
func (p *prober) checkBounce(ctx context.Context) (Verdict, string, string) {
	s, err := loadgen.DialSession(ctx, p.sessionConfig())
	if err != nil {
		return NA, "no session", err.Error()
	}
	defer s.Close()
	foreign, ok := foreignAddr(s.Local().Addr(), s.Peer().Addr())
	if !ok {
		return NA, "IPv6 control connection", fmt.Sprintf("the control connection is %s; PORT is IPv4 only", s.Local())
	}
	// Listen there where we can, so that a server that connects at once
	// (goftp, pyftpdlib) succeeds rather than failing with a 425 that
	// would look like a refusal.
	target := netip.AddrPortFrom(foreign, s.Local().Port())
	watching := ""
	var from netip.AddrPort // who connected there, once stopWatching returned
	stopWatching := func() {}
	if ln, err := p.cfg.Network.Listen(ctx, netip.AddrPortFrom(foreign, 0).String()); err == nil {
		target, watching = addrPort(ln.Addr()), " (listening there)"
		acceptor := loadgen.NewGroup(p.cfg.Clock)
		acceptor.Add(1)
		p.cfg.Clock.Go(func() {
			defer acceptor.Done()
			if c, err := ln.Accept(); err == nil {
				from = addrPort(c.RemoteAddr())
				c.Close()
			}
		})
		stopWatching = func() { ln.Close(); acceptor.Wait() }
	}
	arg, _ := ftpaddr.FormatHostPort(target) // IPv4 by construction
	line := "PORT " + arg
	code, text, err := s.Cmd(line)
	stopWatching()
	if err != nil {
		return Fail, "no reply to PORT", fmt.Sprintf("%s for %s%s: %v", line, target, watching, err)
	}
	ev := fmt.Sprintf("%s for %s%s: %d %s", line, target, watching, code, firstLine(text))
	if from.IsValid() {
		ev += fmt.Sprintf("; the server connected there from %s", from)
	}
	switch code / 100 {
	case 5:
		return Pass, "refused: " + stable(fmt.Sprintf("%d %s", code, text)), ev
	case 2:
		return Fail, "accepted", ev
	}
	return Fail, "tried to connect: " + stable(fmt.Sprintf("%d %s", code, text)), ev
}

// reply is one reply of a conversation, for evidence.
type reply struct {
	code int
	text string
}

func (r reply) String() string { return fmt.Sprintf("%d %s", r.code, firstLine(r.text)) }

func joinReplies(rs []reply) string {
	if len(rs) == 0 {
		return "none"
	}
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, " | ")
}

// checkSecondCommand: §5.2, the user-PI must wait for 226 before the next
// transfer command; a server that gets one anyway must refuse it (or
// queue it and refuse it after the 226) without harming the transfer in
// progress or the order of replies. The probe sends RETR again right
// after the first RETR's 1xx, reads the data to EOF and closes, reads
// the replies, then checks with NOOP that the session still answers in
// step.
func (p *prober) checkSecondCommand(ctx context.Context) (Verdict, string, string) {
	s, err := loadgen.DialSession(ctx, p.sessionConfig())
	if err != nil {
		return NA, "no session", err.Error()
	}
	defer s.Close()
	dc, err := s.Passive(ctx, false)
	if err != nil {
		return NA, "no transfer", err.Error()
	}
	defer dc.Close()
	stop := context.AfterFunc(ctx, func() { dc.Close() })
	defer stop()
	retr := "RETR " + p.cfg.Target.Path
	code, text, err := s.Cmd(retr)
	if err == nil && code/100 != 1 {
		err = &loadgen.ReplyError{Cmd: retr, Code: code, Text: text}
	}
	if err != nil {
		return NA, "no transfer", err.Error()
	}
	if err := s.Send(retr); err != nil {
		return Fail, "control connection closed", fmt.Sprintf("second %s: %v", retr, err)
	}
	clock := p.cfg.Clock
	n, eof, _, _, derr := drain(dc, clock, p.cfg.Timeout, clock.Now())
	dc.Close()
	var before, after []reply
	for len(before) < 2 {
		code, text, err := s.Reply()
		if err != nil {
			break
		}
		before = append(before, reply{code, text})
	}
	noop := "none"
	if err := s.Send("NOOP"); err == nil {
		for len(after) < 4 {
			code, text, err := s.Reply()
			if err != nil {
				break
			}
			after = append(after, reply{code, text})
			if code == 200 {
				break
			}
		}
		noop = joinReplies(after)
	}
	ev := fmt.Sprintf("%s: %d %s; %s again before 226; data: %d bytes, EOF %v; replies: %s; then NOOP: %s",
		retr, code, firstLine(text), retr, n, eof, joinReplies(before), noop)
	if derr != nil {
		ev += fmt.Sprintf("; data error: %v", derr)
	}

	all := append(append([]reply(nil), before...), after...)
	damaged := !eof || p.size >= 0 && n != p.size
	final := -1 // index in all of the first transfer's final reply
	for i, r := range all {
		if r.code/100 == 1 {
			note := "accepted it: " + stable(r.String())
			if damaged {
				note += "; first transfer damaged"
			}
			return Fail, note, ev
		}
		if final < 0 && r.code/100 == 2 && !(i >= len(before) && r.code == 200) {
			final = i
		}
	}
	var second *reply
	for i := range all {
		if i != final && all[i].code/100 >= 4 {
			second = &all[i]
			break
		}
	}
	switch {
	case damaged:
		return Fail, "first transfer damaged", ev
	case len(after) == 0 || after[len(after)-1].code != 200:
		return Fail, "control connection stopped answering", ev
	case final < 0:
		return Fail, "no final reply for the first transfer", ev
	case final >= len(before) || second == nil:
		return Fail, "replies held back until another command came", ev
	}
	return Pass, "refused: " + stable(second.String()), ev
}

// checkNoData: when the data connection cannot be made (PORT to a port
// nobody listens on), the server answers 425 or 426 rather than hanging.
func (p *prober) checkNoData(ctx context.Context) (Verdict, string, string) {
	s, err := loadgen.DialSession(ctx, p.sessionConfig())
	if err != nil {
		return NA, "no session", err.Error()
	}
	defer s.Close()
	dead, release, err := closedPort(ctx, p.cfg.Network, s.Local().Addr())
	if err != nil {
		return NA, "cannot find a closed port", err.Error()
	}
	defer release()
	arg, err := ftpaddr.FormatHostPort(dead)
	if err != nil {
		return NA, "IPv6 control connection", err.Error()
	}
	var seen []reply
	verdict := func(err error) (Verdict, string, string) {
		ev := fmt.Sprintf("PORT %s (nobody listens there), RETR: %s", dead, joinReplies(seen))
		if err != nil {
			return Fail, "no reply", fmt.Sprintf("%s; %v", ev, err)
		}
		last := seen[len(seen)-1]
		switch {
		case last.code == 425 || last.code == 426:
			return Pass, stable(last.String()), ev
		case last.code/100 == 2 || last.code/100 == 1:
			return Fail, "claimed success: " + stable(last.String()), ev
		}
		return Fail, "not 425/426: " + stable(last.String()), ev
	}
	code, text, err := s.Cmd("PORT " + arg)
	if err != nil {
		return verdict(err)
	}
	seen = append(seen, reply{code, text})
	if code != 200 {
		if code/100 == 5 {
			return NA, "PORT refused: " + stable(seen[0].String()), fmt.Sprintf("PORT %s: %s", dead, seen[0])
		}
		return verdict(nil)
	}
	code, text, err = s.Cmd("RETR " + p.cfg.Target.Path)
	for err == nil {
		seen = append(seen, reply{code, text})
		if code/100 != 1 {
			break
		}
		code, text, err = s.Reply()
	}
	return verdict(err)
}

// closedPort returns a port of ip that refuses connections, and a func
// that gives it back. Where the network can, the port is held bound but
// not listening, so that no other process starts listening there while
// the server tries it; elsewhere it is a port that was free a moment ago.
func closedPort(ctx context.Context, n loadgen.Network, ip netip.Addr) (netip.AddrPort, func(), error) {
	if r, ok := n.(loadgen.PortReserver); ok {
		if ap, c, err := r.ReservePort(ip); err == nil {
			return ap, func() { c.Close() }, nil
		}
	}
	ln, err := n.Listen(ctx, netip.AddrPortFrom(ip, 0).String())
	if err != nil {
		return netip.AddrPort{}, nil, err
	}
	ap := addrPort(ln.Addr())
	ln.Close()
	return ap, func() {}, nil
}

// checkFXP copies Target's file to FXPTarget server to server (RFC 959
// Figure 3).
func (p *prober) checkFXP(ctx context.Context) (Verdict, string, string) {
	if p.cfg.FXPTarget.Addr == "" {
		return NA, "no second URL", "give a second URL to copy the file to"
	}
	r, err := p.one(ctx, loadgen.ModeFXP, func(c *loadgen.Config) { c.FXPTarget = p.cfg.FXPTarget })
	if err != nil {
		return Fail, "probe error", err.Error()
	}
	if r.Outcome == results.OK {
		return Pass, "copied", fmt.Sprintf("%s to %s: %s", p.cfg.Target, p.cfg.FXPTarget, describe(r))
	}
	return Fail, failNote(r), failEvidence(r)
}
