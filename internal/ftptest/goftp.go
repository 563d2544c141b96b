package ftptest

import (
	"fmt"
	"net"
	"reflect"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	ftpserver "goftp.io/server/v2"
	"goftp.io/server/v2/driver/file"
)

// Credentials of the goftp and pure-ftpd test user.
const (
	TestUser     = "bench"
	TestPassword = "bench"
)

// StartGoftp starts goftp.io/server/v2 in-process with its file driver over
// a temp dir, user TestUser/TestPassword. It is always available.
//
// What goftp.io/server/v2 v2.0.3 supports (read from its source), as the
// harness configures it:
//   - PASV and EPSV: the data listener binds all interfaces (":port", not
//     just 127.0.0.1); with PassivePorts set it takes one random port of the
//     range and does not retry a busy one, so by default (PassivePorts zero)
//     the kernel picks the port. PASV replies with the control connection's
//     local address (127.0.0.1).
//   - PORT and EPRT (|1| and |2|): it connects at once, when the PORT/EPRT
//     command arrives (like pyftpdlib), and answers 200 after connecting or
//     425 if the connect fails. There is no bounce protection: it connects
//     to whatever address the client names. A malformed PORT/EPRT argument
//     (e.g. "PORT 1,2") panics in the handler; goftp recovers the panic but
//     sends no reply at all, so the client must time out.
//   - No TLS here; no ABOR command at all; REST works for RETR and STOR;
//     commands are handled one at a time per session.
//   - The root directory is writable too (uploads need not go to UploadDir).
func StartGoftp(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := startGoftp(t, opts)
	if err != nil {
		t.Fatalf("ftptest: goftp: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("ftptest: stopping goftp: %v", err)
		}
	})
	return s
}

func startGoftp(t testing.TB, opts Options) (*Server, error) {
	l, err := newLayout(t, opts, false)
	if err != nil {
		return nil, err
	}
	drv, err := file.NewDriver(l.Root)
	if err != nil {
		return nil, err
	}
	// Our own listener on 127.0.0.1:0 passed to Serve: no free-port race.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	// While ln is open no one else can listen on port: the sockets
	// found now are ours.
	socks, _ := listenInodes(port)
	var pasv string
	if opts.PassivePorts != ([2]int{}) {
		pasv = fmt.Sprintf("%d-%d", opts.PassivePorts[0], opts.PassivePorts[1])
	}
	srv, err := ftpserver.NewServer(&ftpserver.Options{
		Name:         "ftptest goftp",
		Driver:       drv,
		Auth:         &ftpserver.SimpleAuth{Name: TestUser, Password: TestPassword},
		Perm:         ftpserver.NewSimplePerm("ftp", "ftp"),
		Hostname:     "127.0.0.1",
		Port:         port,
		PassivePorts: pasv,
		Logger:       new(ftpserver.DiscardLogger),
	})
	if err != nil {
		ln.Close()
		return nil, err
	}
	tl := &trackingListener{Listener: ln, conns: map[net.Conn]struct{}{}}
	served := make(chan struct{})
	go func() {
		defer close(served)
		// Returns an error once tl is closed; nothing to report.
		_ = srv.Serve(tl)
	}()
	s := newServer(Goftp, port, l.Root, TestUser, TestPassword, goftpVersion(), opts.PassivePorts)
	s.listenSocks = socks
	s.stopFn = func() error {
		// Not srv.Shutdown: it reads fields Serve writes without
		// synchronisation (a data race under -race); closing our own
		// listener ends Serve just as well.
		tl.closeAll()
		select {
		case <-served:
			return nil
		case <-time.After(stopTimeout):
			return fmt.Errorf("goftp Serve did not return within %v", stopTimeout)
		}
	}
	if err := pollGreeting(s.Addr); err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("goftp on %s: %w", s.Addr, err)
	}
	return s, nil
}

var goftpVersionRE = regexp.MustCompile(`goftp\.io/server/v2@v([^/]+)/`)

func goftpVersion() string {
	return cachedVersion(Goftp, func() string {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, m := range bi.Deps {
				if m.Path == "goftp.io/server/v2" {
					return strings.TrimPrefix(m.Version, "v")
				}
			}
		}
		// Test binaries record no dependencies; the source file path
		// of a goftp function names the module version
		// (".../goftp.io/server/v2@v2.0.3/server.go").
		pc := reflect.ValueOf(ftpserver.NewServer).Pointer()
		if fn := runtime.FuncForPC(pc); fn != nil {
			file, _ := fn.FileLine(pc)
			if m := goftpVersionRE.FindStringSubmatch(file); m != nil {
				return m[1]
			}
		}
		return ""
	})
}

// trackingListener remembers accepted connections so that stopping the
// server also ends its sessions (goftp leaves them running otherwise).
type trackingListener struct {
	net.Listener
	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	tc := &trackedConn{Conn: c, l: l}
	l.conns[tc] = struct{}{}
	return tc, nil
}

func (l *trackingListener) closeAll() {
	l.Listener.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for c := range l.conns {
		c.(*trackedConn).Conn.Close()
	}
	l.conns = map[net.Conn]struct{}{}
}

type trackedConn struct {
	net.Conn
	l    *trackingListener
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}
