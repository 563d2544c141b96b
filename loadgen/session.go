package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Session is one logged-in control connection driven command by command,
// for callers that examine how a server behaves rather than load it
// (ftpbench probe: a second transfer command before 226, PORT to a third
// party). It is the user-PI of a cycle without the cycle: the same login,
// reply reader (multi-line replies, size cap), Timeout on every read,
// write and dial, Network, Clock and Trace. A Session is used by one
// goroutine at a time.
type Session struct {
	u    *userPI
	ctx  context.Context // of DialSession: the whole conversation's bound
	stop func() bool     // unregisters the wake-up on ctx
}

// DialSession connects to cfg.Target and logs in: greeting, USER, PASS,
// TYPE I and SIZE of Target.Path (see Session.Size). Of cfg it uses
// Network, Clock (default WallClock), Target, Timeout (default 10s),
// TrustPASVAddress and Trace. Once ctx is done, every read and write of
// the session fails at once, so ctx bounds a whole conversation.
func DialSession(ctx context.Context, cfg Config) (*Session, error) {
	if cfg.Network == nil {
		return nil, errors.New("loadgen: Config.Network is nil")
	}
	if cfg.Clock == nil {
		cfg.Clock = WallClock{}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	cfg.Op, cfg.Size = OpRETR, 0
	u := newUserPI(0, &cfg)
	if err := u.connect(ctx); err != nil {
		return nil, err
	}
	ctrl := u.ctrl
	wake := context.AfterFunc(ctx, func() { ctrl.SetDeadline(time.Unix(1, 0)) })
	return &Session{u: u, ctx: ctx, stop: wake}, nil
}

// Send writes one command line.
func (s *Session) Send(line string) error {
	if err := s.ctx.Err(); err != nil {
		return fmt.Errorf("send %s: %w", line, err)
	}
	return s.u.send(line, line)
}

// Reply reads the next reply, waiting at most Timeout; multi-line text is
// joined by newlines. After a failed read the connection may be out of
// step (Broken).
func (s *Session) Reply() (code int, text string, err error) { return s.read("next") }

// Cmd sends a command and reads one reply.
func (s *Session) Cmd(line string) (code int, text string, err error) {
	if err := s.Send(line); err != nil {
		return 0, "", err
	}
	return s.read(line)
}

// read reads a reply to what ("what reply: …" in errors).
func (s *Session) read(what string) (int, string, error) {
	if err := s.ctx.Err(); err != nil {
		return 0, "", fmt.Errorf("%s reply: %w", what, err)
	}
	return s.u.reply(what)
}

// Passive sends PASV (or EPSV when epsv is set) and opens the data
// connection the reply names, the way PASV cycles do: to the control
// connection's peer unless TrustPASVAddress. A reply other than 227 (229)
// is returned as a *ReplyError, or as ErrDesync when it is a transfer's
// reply (the connection is then out of step).
func (s *Session) Passive(ctx context.Context, epsv bool) (net.Conn, error) {
	verb, want := "PASV", 227
	if epsv {
		verb, want = "EPSV", 229
	}
	code, text, err := s.Cmd(verb)
	if err != nil {
		return nil, err
	}
	if code != want {
		return nil, s.u.unexpected(verb, code, text)
	}
	addr, err := s.u.passiveAddr(verb, text)
	if err != nil {
		return nil, err
	}
	return s.u.dialData(ctx, addr)
}

// Local is the client's end of the control connection: the address a
// server should accept in PORT, and the default data port U.
func (s *Session) Local() netip.AddrPort { return addrPortOf(s.u.ctrl.LocalAddr()) }

// Peer is the server-PI's end of the control connection (port L).
func (s *Session) Peer() netip.AddrPort { return addrPortOf(s.u.ctrl.RemoteAddr()) }

// Size is the size of Target.Path that SIZE reported at login, or -1.
func (s *Session) Size() int64 { return s.u.want }

// Broken reports whether a failed read or write has left the connection
// out of step with its commands.
func (s *Session) Broken() bool { return s.u.broken }

// Close sends QUIT unless the connection is broken or the session's ctx
// is done, then closes it.
func (s *Session) Close() {
	s.stop()
	if s.ctx.Err() != nil {
		s.u.broken = true // no QUIT: its reply could take a Timeout
	}
	s.u.quit()
}

func addrPortOf(a net.Addr) netip.AddrPort {
	port := 0
	if ta, ok := a.(*net.TCPAddr); ok {
		port = ta.Port
	}
	return netip.AddrPortFrom(addrOf(a), uint16(port))
}
