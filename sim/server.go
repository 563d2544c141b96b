package sim

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"ftpbench/loadgen"
)

// ServerConfig configures a Server. The zero value is usable but lets
// nobody log in: set Users or Anonymous.
type ServerConfig struct {
	// Network is how the server-DTP opens data connections: Listen for
	// PASV/EPSV, Dial for PORT/EPRT. Default loadgen.TCP{}.
	Network loadgen.Network
	// Clock is where the server takes all its time and starts all its
	// goroutines. Default loadgen.WallClock{}.
	Clock loadgen.Clock
	// Timeout bounds every control and data read and write, the wait for a
	// data connection to appear (PASV/EPSV) or to be made (PORT/EPRT), and
	// the idle time of a control connection (then: 421 and close).
	// Default 30s.
	Timeout time.Duration
	// Users maps user names to passwords; any other user gets 530.
	Users map[string]string
	// Anonymous accepts "anonymous" and "ftp" with any password.
	Anonymous bool
	// AllowFXP allows PORT/EPRT to an address other than the control
	// connection's peer, and PASV/EPSV data connections from any address
	// (server-to-server transfers, RFC 959 Figure 3). Off, a third-party
	// PORT is refused with 500 like pure-ftpd does, and a passive data
	// connection from a foreign address is closed and ignored.
	AllowFXP bool
	// DefaultDataPort makes RETR/STOR with no PORT/EPRT/PASV/EPSV before
	// them connect to the RFC 959 default data port, the user's control
	// address, instead of replying 425. Like every active data connection
	// it comes from port L-1 when Network can choose the local port
	// (sim.Host), else from an ephemeral port.
	DefaultDataPort bool
	// Files adds synthetic files (path → size) to those FileSize knows.
	Files map[string]int64
	// MaxSessions caps concurrent control connections; beyond it a new one
	// gets 421 and is closed. Default 10000.
	MaxSessions int
	// MaxLine caps the length of a command line (without CRLF); a longer
	// line is discarded and answered 500. Default 4096.
	MaxLine int
	// Greeting is the text of the 220 reply. Default
	// "ftpbench simulated server ready".
	Greeting string
	// Race are the end-of-transfer behaviours, faults and passive port
	// range (see RaceKnobs); the zero value ends every transfer the RFC
	// 959 way.
	Race RaceKnobs
	// Logf, when set, receives one line per session event and command.
	// Passwords are masked.
	Logf func(format string, args ...any)
}

// Server is a simulated FTP server-PI and server-DTP (RFC 959 §5.1 minimum
// plus PASV, PORT, EPSV, EPRT (RFC 2428), SIZE (RFC 3659) and FEAT) over
// synthetic files. It serves any net.Listener, real TCP or the in-memory
// network. By default it ends every transfer the way RFC 959 §5.2 asks:
// it closes the data connection and then sends 226; ServerConfig.Race
// makes it end them the ways real servers do, and inject set-up faults.
//
// Each session runs in one goroutine started with Clock.Go; its data
// transfers run synchronously in that goroutine, so ABOR is read only
// after the transfer ended.
type Server struct {
	cfg     ServerConfig
	net     loadgen.Network
	clock   loadgen.Clock
	timeout time.Duration
	files   map[string]int64
	race    *raceState // the end-behaviour and fault draws, and their counters

	nextID atomic.Int64
	active atomic.Int64

	sessions      atomic.Int64
	refused       atomic.Int64
	transfers     atomic.Int64
	bytesSent     atomic.Int64
	bytesReceived atomic.Int64
	errs          atomic.Int64
}

// ServerStats are a Server's counters since NewServer.
type ServerStats struct {
	Sessions       int64 // control connections accepted, refused ones included
	ActiveSessions int64 // control connections open now
	Refused        int64 // connections answered 421 because MaxSessions were open
	Transfers      int64 // RETR/STOR that ended with 226 or 250
	BytesSent      int64 // data bytes written by RETR, failed transfers included
	BytesReceived  int64 // data bytes read by STOR, failed transfers included
	Errors         int64 // transfers failed with 425/426, sessions ended by timeout or I/O error
}

// NewServer returns a Server for cfg, with defaults filled in. It copies
// cfg's maps, so the caller may change them afterwards.
func NewServer(cfg ServerConfig) *Server {
	if cfg.Network == nil {
		cfg.Network = loadgen.TCP{}
	}
	if cfg.Clock == nil {
		cfg.Clock = loadgen.WallClock{}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 10000
	}
	if cfg.MaxLine <= 0 {
		cfg.MaxLine = 4096
	}
	if cfg.Greeting == "" {
		cfg.Greeting = "ftpbench simulated server ready"
	}
	cfg.Users = maps.Clone(cfg.Users)
	files := make(map[string]int64, len(cfg.Files))
	for p, n := range cfg.Files {
		if n >= 0 {
			files[srvCleanPath(p)] = n
		}
	}
	return &Server{
		cfg:     cfg,
		net:     cfg.Network,
		clock:   cfg.Clock,
		timeout: cfg.Timeout,
		files:   files,
		race:    newRaceState(cfg.Race, cfg.Network, cfg.Clock),
	}
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() ServerStats {
	return ServerStats{
		Sessions:       s.sessions.Load(),
		ActiveSessions: s.active.Load(),
		Refused:        s.refused.Load(),
		Transfers:      s.transfers.Load(),
		BytesSent:      s.bytesSent.Load(),
		BytesReceived:  s.bytesReceived.Load(),
		Errors:         s.errs.Load(),
	}
}

// Serve accepts control connections on ln until ctx is done or ln is
// closed, and serves each in its own session. It returns nil in both of
// those cases, and the accept error otherwise. Serve closes ln, and when
// it returns every session it started is closed and its goroutine has
// finished. Serve may run on several listeners at once; MaxSessions counts
// them all.
//
// Cancellation is wired with context.AfterFunc rather than a watcher
// goroutine: nothing waits on ctx while it is live, and once it is done the
// callbacks only close connections and listeners.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(sctx, func() { ln.Close() })
	defer stop()

	wg := loadgen.NewGroup(s.clock)
	var err error
	var delay time.Duration
	for {
		c, aerr := ln.Accept()
		if aerr != nil {
			if sctx.Err() != nil || errors.Is(aerr, net.ErrClosed) {
				break
			}
			if srvTemporary(aerr) {
				// Out of file descriptors and the like: back off as
				// net/http does, and try again.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.logf("accept: %v; retrying in %v", aerr, delay)
				if loadgen.Sleep(sctx, s.clock, delay) != nil {
					break
				}
				continue
			}
			err = fmt.Errorf("accept: %w", aerr)
			break
		}
		delay = 0
		s.sessions.Add(1)
		wg.Add(1)
		if s.active.Add(1) > int64(s.cfg.MaxSessions) {
			s.active.Add(-1)
			s.refused.Add(1)
			s.clock.Go(func() {
				defer wg.Done()
				s.refuse(c)
			})
			continue
		}
		ss := s.newSession(sctx, c)
		s.clock.Go(func() {
			defer wg.Done()
			defer s.active.Add(-1)
			ss.run()
		})
	}
	cancel() // kills every session through its AfterFunc
	ln.Close()
	wg.Wait()
	return err
}

// refuse answers a connection beyond MaxSessions with 421 and closes it.
func (s *Server) refuse(c net.Conn) {
	defer c.Close()
	c.SetWriteDeadline(s.clock.Now().Add(s.timeout))
	fmt.Fprintf(c, "421 There are too many connected users (%d), please try later.\r\n", s.cfg.MaxSessions)
	s.logf("%v: refused: %d sessions open", c.RemoteAddr(), s.cfg.MaxSessions)
}

// lookup returns the size of the synthetic file at path p (already
// resolved against the working directory).
func (s *Server) lookup(p string) (int64, bool) {
	p = srvCleanPath(p)
	if n, ok := s.files[p]; ok {
		return n, true
	}
	return FileSize(p)
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

// srvTemporary reports accept errors worth retrying: the process or system
// ran out of descriptors or buffers, or a connection died in the backlog.
func srvTemporary(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
