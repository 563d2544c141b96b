package sim

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ftpbench/internal/ftpaddr"
	"ftpbench/internal/synth"
	"ftpbench/loadgen"

	"github.com/jlaffaye/ftp"
)

// srvTestUsers is the account every test server has.
var srvTestUsers = map[string]string{"bench": "secret"}

// srvTestBound bounds every wait of a test on the wire.
const srvTestBound = 20 * time.Second

// srvStart serves cfg on a fresh 127.0.0.1 listener until the test ends and
// checks then that Serve returns nil promptly.
func srvStart(t testing.TB, cfg ServerConfig) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return srvStartOn(t, cfg, ln), ln.Addr().String()
}

func srvStartOn(t testing.TB, cfg ServerConfig, ln net.Listener) *Server {
	t.Helper()
	if cfg.Users == nil {
		cfg.Users = srvTestUsers
	}
	s := NewServer(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(srvTestBound):
			t.Errorf("Serve did not return within %v of cancel", srvTestBound)
		}
		if n := s.Stats().ActiveSessions; n != 0 {
			t.Errorf("ActiveSessions = %d after Serve returned", n)
		}
	})
	return s
}

// srvClient is a raw control connection.
type srvClient struct {
	t    testing.TB
	conn net.Conn
	tp   *textproto.Conn
}

func srvDial(t testing.TB, addr string) *srvClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, srvTestBound)
	if err != nil {
		t.Fatal(err)
	}
	return srvNewClient(t, c)
}

// srvNewClient reads the greeting on the control connection c.
func srvNewClient(t testing.TB, c net.Conn) *srvClient {
	t.Helper()
	c.SetDeadline(time.Now().Add(srvTestBound))
	cl := &srvClient{t: t, conn: c, tp: textproto.NewConn(c)}
	t.Cleanup(func() { c.Close() })
	cl.expect(220)
	return cl
}

// cmd sends a command line and returns the reply.
func (c *srvClient) cmd(line string) (int, string) {
	c.t.Helper()
	if _, err := c.tp.Cmd("%s", line); err != nil {
		c.t.Fatalf("send %q: %v", line, err)
	}
	return c.read(line)
}

func (c *srvClient) read(what string) (int, string) {
	c.t.Helper()
	code, msg, err := c.tp.ReadResponse(0)
	if err != nil {
		c.t.Fatalf("reply to %q: %v", what, err)
	}
	return code, msg
}

// expect reads a reply and checks its code.
func (c *srvClient) expect(want int) string {
	c.t.Helper()
	code, msg := c.read("(pending)")
	if code != want {
		c.t.Fatalf("reply %d %q, want %d", code, msg, want)
	}
	return msg
}

// must sends a command and checks the reply code.
func (c *srvClient) must(line string, want int) string {
	c.t.Helper()
	code, msg := c.cmd(line)
	if code != want {
		c.t.Fatalf("%q: reply %d %q, want %d", line, code, msg, want)
	}
	return msg
}

func (c *srvClient) login() {
	c.t.Helper()
	c.must("USER bench", 331)
	c.must("PASS secret", 230)
}

// pasv sends PASV and dials the data connection it names.
func (c *srvClient) pasv() net.Conn {
	c.t.Helper()
	ap, err := ftpaddr.Parse227(c.must("PASV", 227))
	if err != nil {
		c.t.Fatal(err)
	}
	d, err := net.DialTimeout("tcp", ap.String(), srvTestBound)
	if err != nil {
		c.t.Fatal(err)
	}
	d.SetDeadline(time.Now().Add(srvTestBound))
	c.t.Cleanup(func() { d.Close() })
	return d
}

// srvWant returns the first n bytes of every synthetic file.
func srvWant(n int64) []byte {
	b := make([]byte, n)
	synth.Content(0, b)
	return b
}

func srvCheckContent(t testing.TB, what string, got []byte, n int64) {
	t.Helper()
	if int64(len(got)) != n {
		t.Fatalf("%s: %d bytes, want %d", what, len(got), n)
	}
	if want := srvWant(n); !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && got[i] == want[i] {
			i++
		}
		t.Fatalf("%s: content differs from the pattern at byte %d", what, i)
	}
}

func TestServerFileSize(t *testing.T) {
	for _, tc := range []struct {
		path string
		size int64
		ok   bool
	}{
		{"/size/0", 0, true},
		{"/size/12345", 12345, true},
		{"size/12345", 12345, true},
		{"/size/64KiB", 64 << 10, true},
		{"/size/7.bin", 7, true},
		{"1k.bin", 1024, true},
		{"/1K.bin", 1024, true},
		{"/pub/64KiB.bin", 64 << 10, true},
		{"64kb.bin", 64 << 10, true},
		{"1M.bin", 1 << 20, true},
		{"1MiB.bin", 1 << 20, true},
		{"10MB.bin", 10 << 20, true},
		{"2G.bin", 2 << 30, true},
		{"2gib.bin", 2 << 30, true},
		{"512.bin", 512, true},
		{"512b.bin", 512, true},
		{"0.bin", 0, true},
		{"a/../1k.bin", 1024, true},
		{"/size/../1k.bin", 1024, true},
		{"/size/", 0, false},
		{"/size/x", 0, false},
		{"/size/-1", 0, false},
		{"/size/+1", 0, false},
		{"/size/1 ", 0, false},
		{"1k", 0, false},
		{"k.bin", 0, false},
		{".bin", 0, false},
		{"1kk.bin", 0, false},
		{"1.5M.bin", 0, false},
		{"99999999999999999999.bin", 0, false},
		{"9999999999G.bin", 0, false},
		{"/no/such/file", 0, false},
		{"", 0, false},
		{"/", 0, false},
	} {
		n, ok := FileSize(tc.path)
		if n != tc.size || ok != tc.ok {
			t.Errorf("FileSize(%q) = %d, %v; want %d, %v", tc.path, n, ok, tc.size, tc.ok)
		}
	}
}

// TestServerJlaffaye drives the server with github.com/jlaffaye/ftp, which
// uses EPSV (falling back to PASV) or PASV only.
func TestServerJlaffaye(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts []ftp.DialOption
	}{
		{"epsv", nil},
		{"pasv", []ftp.DialOption{ftp.DialWithDisabledEPSV(true)}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			s, addr := srvStart(t, ServerConfig{Files: map[string]int64{"data/custom.dat": 4321}})
			c, err := ftp.Dial(addr, append([]ftp.DialOption{ftp.DialWithTimeout(srvTestBound)}, mode.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Quit()
			if err := c.Login("bench", "secret"); err != nil {
				t.Fatal(err)
			}
			if n, err := c.FileSize("1M.bin"); err != nil || n != 1<<20 {
				t.Errorf("FileSize(1M.bin) = %d, %v", n, err)
			}
			if _, err := c.FileSize("nosuch"); err == nil {
				t.Error("FileSize(nosuch): no error")
			}
			for _, f := range []struct {
				name string
				size int64
			}{
				{"/size/0", 0}, {"/size/1", 1}, {"1k.bin", 1024}, {"/1M.bin", 1 << 20},
				{"/size/100003", 100003}, {"/data/custom.dat", 4321},
			} {
				r, err := c.Retr(f.name)
				if err != nil {
					t.Fatalf("Retr(%s): %v", f.name, err)
				}
				got, err := io.ReadAll(r)
				if err != nil {
					t.Fatalf("Retr(%s): read: %v", f.name, err)
				}
				if err := r.Close(); err != nil {
					t.Fatalf("Retr(%s): close (226): %v", f.name, err)
				}
				srvCheckContent(t, f.name, got, f.size)
			}
			if _, err := c.Retr("/no/such/file"); err == nil {
				t.Error("Retr(/no/such/file): no error")
			}
			var total int64
			for _, n := range []int64{0, 1, 1000, 1 << 20} {
				if err := c.Stor(fmt.Sprintf("up/%d", n), bytes.NewReader(srvWant(n))); err != nil {
					t.Fatalf("Stor(%d bytes): %v", n, err)
				}
				total += n
			}
			if err := c.NoOp(); err != nil {
				t.Fatal(err)
			}
			st := s.Stats()
			if st.BytesReceived != total || st.Transfers != 6+4 || st.Errors != 0 {
				t.Errorf("stats %+v, want BytesReceived %d, Transfers 10, Errors 0", st, total)
			}
		})
	}
}

func TestServerFEAT(t *testing.T) {
	_, addr := srvStart(t, ServerConfig{})
	c := srvDial(t, addr)
	msg := c.must("FEAT", 211) // allowed before login
	lines := strings.Split(msg, "\n")
	if lines[0] != "Features:" || lines[len(lines)-1] != "End" {
		t.Errorf("FEAT reply %q", msg)
	}
	for _, f := range []string{"EPRT", "EPSV", "PASV", "SIZE", "UTF8"} {
		if !strings.Contains(msg, "\n "+f+"\n") {
			t.Errorf("FEAT does not list %s: %q", f, msg)
		}
	}
	c.login()
	c.must("OPTS UTF8 ON", 200)
	c.must("OPTS FOO", 501)
}

type srvStep struct {
	cmd  string
	code int
	msg  string // substring the reply text must contain, if set
}

// TestServerProtocol checks reply codes for command sequences, one control
// connection per row.
func TestServerProtocol(t *testing.T) {
	login := []srvStep{{"USER bench", 331, ""}, {"PASS secret", 230, "Login successful."}}
	long := "NOOP " + strings.Repeat("x", 5000)
	rows := []struct {
		name  string
		fxp   bool
		steps []srvStep
	}{
		{"before login", false, []srvStep{
			{"SYST", 215, "UNIX Type: L8"}, {"NOOP", 200, ""}, {"FEAT", 211, ""},
			{"RETR 1k.bin", 530, ""}, {"PASV", 530, ""}, {"PORT 127,0,0,1,4,1", 530, ""},
			{"PWD", 530, ""}, {"SIZE 1k.bin", 530, ""}, {"TYPE I", 530, ""},
			{"XYZZY", 502, ""},
			{"PASS secret", 503, ""},
			{"USER", 501, ""},
			{"USER bench", 331, ""}, {"PASS wrong", 530, "Login incorrect."},
			{"PASS secret", 503, ""},
			{"USER nobody", 331, ""}, {"PASS secret", 530, ""},
			{"USER bench", 331, ""}, {"PASS secret", 230, ""}, {"PASS secret", 230, "Already"},
			{"PWD", 257, `"/"`},
		}},
		{"anonymous refused", false, []srvStep{{"USER anonymous", 331, ""}, {"PASS x@y", 530, ""}}},
		{"bad PORT", false, append(login[:2:2],
			srvStep{"PORT", 501, ""},
			srvStep{"PORT 1,2,3", 501, "Illegal PORT"},
			srvStep{"PORT 127,0,0,1,0,0", 501, ""},
			srvStep{"PORT 127,0,0,1,300,1", 501, ""},
			srvStep{"PORT 127,0,0,1,4,1 ", 501, ""},
			srvStep{"PORT  127,0,0,1,4,1", 501, ""},
			srvStep{"PORT 127,0,0,1,4,+1", 501, ""},
			srvStep{"EPRT", 501, ""},
			srvStep{"EPRT garbage", 501, ""},
			srvStep{"EPRT |1|127.0.0.1|0|", 501, ""},
			srvStep{"EPRT |1|::1|1025|", 501, ""},
			srvStep{"EPRT |3|127.0.0.1|1025|", 522, ""},
			srvStep{"RETR 1k.bin", 425, "Use PORT or PASV first."},
		)},
		{"third party PORT refused", false, append(login[:2:2],
			srvStep{"PORT 127,0,0,2,4,1", 500, "I won't open a connection to 127.0.0.2 (only to 127.0.0.1)"},
			srvStep{"EPRT |1|127.0.0.2|1025|", 500, "only to 127.0.0.1"},
			srvStep{"EPRT |2|::1|1025|", 500, ""},
			srvStep{"PORT 127,0,0,1,4,1", 200, "PORT command successful"},
			srvStep{"EPRT |1|127.0.0.1|1025|", 200, "EPRT command successful"},
		)},
		{"third party PORT with AllowFXP", true, append(login[:2:2],
			srvStep{"PORT 127,0,0,2,4,1", 200, ""},
			srvStep{"EPRT |1|10.1.2.3|1025|", 200, ""},
		)},
		{"no data setup", false, append(login[:2:2],
			srvStep{"RETR 1k.bin", 425, "Use PORT or PASV first."},
			srvStep{"STOR x", 425, "Use PORT or PASV first."},
			srvStep{"RETR", 501, ""},
		)},
		{"unknown", false, append(login[:2:2],
			srvStep{"XYZZY", 502, "XYZZY"},
			srvStep{"xyzzy arg", 502, ""},
			srvStep{"", 500, ""},
			srvStep{"LIST", 502, ""},
		)},
		{"overlong line", false, append(login[:2:2],
			srvStep{long, 500, "too long"},
			srvStep{"NOOP " + strings.Repeat("y", 4000), 200, ""},
			srvStep{"NOOP", 200, ""},
		)},
		{"missing file", false, append(login[:2:2],
			srvStep{"PASV", 227, "Entering Passive Mode (127,0,0,1,"},
			srvStep{"RETR /no/such/file", 550, ""},
			srvStep{"RETR 1k.bin", 425, "Use PORT or PASV first."}, // the setup was used up
		)},
		{"MODE STRU TYPE", false, append(login[:2:2],
			srvStep{"MODE B", 504, ""}, srvStep{"MODE C", 504, ""}, srvStep{"MODE", 501, ""}, srvStep{"MODE S", 200, ""},
			srvStep{"STRU R", 504, ""}, srvStep{"STRU F", 200, ""},
			srvStep{"TYPE E", 504, ""}, srvStep{"TYPE", 501, ""}, srvStep{"TYPE A", 200, "ASCII"},
			srvStep{"TYPE A N", 200, ""}, srvStep{"TYPE L 8", 200, "Binary"}, srvStep{"type i", 200, "Binary"},
		)},
		{"SIZE and directories", false, append(login[:2:2],
			srvStep{"SIZE 1k.bin", 213, "1024"}, srvStep{"SIZE /size/77", 213, "77"},
			srvStep{"SIZE nope", 550, ""}, srvStep{"SIZE", 501, ""},
			srvStep{"CWD size", 250, ""}, srvStep{"PWD", 257, `"/size"`}, srvStep{"SIZE 77", 213, "77"},
			srvStep{"CDUP", 250, ""}, srvStep{"PWD", 257, `"/"`}, srvStep{"CWD /a/b", 250, ""}, srvStep{"CWD ../c", 250, ""},
			srvStep{"PWD", 257, `"/a/c"`},
		)},
		{"EPSV", false, append(login[:2:2],
			srvStep{"EPSV", 229, "Entering Extended Passive Mode (|||"},
			srvStep{"EPSV 1", 229, ""},
			srvStep{"EPSV 2", 522, "use (1)"},
			srvStep{"EPSV x", 501, ""},
			srvStep{"EPSV ALL", 200, ""},
			srvStep{"PASV", 501, ""}, srvStep{"PORT 127,0,0,1,4,1", 501, ""}, srvStep{"EPRT |1|127.0.0.1|1025|", 501, ""},
			srvStep{"EPSV", 229, ""},
		)},
		{"ABOR and QUIT", false, append(login[:2:2],
			srvStep{"ABOR", 225, ""},
			srvStep{"PASV", 227, ""}, srvStep{"ABOR", 225, ""}, srvStep{"RETR 1k.bin", 425, ""},
			srvStep{"QUIT", 221, ""},
		)},
	}
	_, addr := srvStart(t, ServerConfig{})
	_, fxpAddr := srvStart(t, ServerConfig{AllowFXP: true})
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			a := addr
			if row.fxp {
				a = fxpAddr
			}
			c := srvDial(t, a)
			for _, st := range row.steps {
				code, msg := c.cmd(st.cmd)
				if code != st.code || !strings.Contains(msg, st.msg) {
					t.Fatalf("%.40q: reply %d %q, want %d %q", st.cmd, code, msg, st.code, st.msg)
				}
			}
			if last := row.steps[len(row.steps)-1]; last.cmd == "QUIT" {
				if b, err := io.ReadAll(c.tp.R); len(b) != 0 || err != nil {
					t.Errorf("after QUIT: read %q, %v; want EOF", b, err)
				}
			}
		})
	}
}

// TestServerMaxLine checks the line-length cap at its boundary.
func TestServerMaxLine(t *testing.T) {
	_, addr := srvStart(t, ServerConfig{MaxLine: 16})
	c := srvDial(t, addr)
	c.must("NOOP 12345678901", 200) // 16
	c.must("NOOP 123456789012", 500)
	c.must("NOOP "+strings.Repeat("z", 3000), 500)
	// A bare LF ends a line too.
	fmt.Fprintf(c.conn, "NOOP\nNOOP\r\n")
	c.expect(200)
	c.expect(200)
	c.must("NOOP", 200)
}

// srvEvents records, in order, what the server did on its connections.
type srvEvents struct {
	mu sync.Mutex
	ev []string
}

func (e *srvEvents) add(s string) {
	e.mu.Lock()
	e.ev = append(e.ev, s)
	e.mu.Unlock()
}

func (e *srvEvents) index(s string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, v := range e.ev {
		if strings.HasPrefix(v, s) {
			return i
		}
	}
	return -1
}

type srvEventConn struct {
	net.Conn
	ev   *srvEvents
	name string
}

func (c *srvEventConn) Write(p []byte) (int, error) {
	if c.name == "ctrl" && len(p) >= 3 {
		c.ev.add("ctrl " + string(p[:3]))
	}
	return c.Conn.Write(p)
}

func (c *srvEventConn) Close() error {
	c.ev.add(c.name + " close")
	return c.Conn.Close()
}

type srvEventListener struct {
	net.Listener
	ev   *srvEvents
	name string
}

func (l *srvEventListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &srvEventConn{c, l.ev, l.name}, nil
}

// srvEventNet is loadgen.TCP whose data connections record their Close.
type srvEventNet struct {
	loadgen.TCP
	ev *srvEvents
}

func (n srvEventNet) Dial(ctx context.Context, addr string) (net.Conn, error) {
	c, err := n.TCP.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	return &srvEventConn{c, n.ev, "data"}, nil
}

func (n srvEventNet) Listen(ctx context.Context, addr string) (net.Listener, error) {
	ln, err := n.TCP.Listen(ctx, addr)
	if err != nil {
		return nil, err
	}
	return &srvEventListener{ln, n.ev, "data"}, nil
}

// srvOpenData sets up the data connection in mode and sends verb; it
// returns the user-DTP's end once the server has made it.
func srvOpenData(t *testing.T, c *srvClient, mode, verb string) net.Conn {
	t.Helper()
	switch mode {
	case "pasv":
		d := c.pasv()
		c.tp.Cmd("%s", verb)
		return d
	case "epsv":
		port, err := ftpaddr.Parse229(c.must("EPSV", 229))
		if err != nil {
			t.Fatal(err)
		}
		d, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))), srvTestBound)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		d.SetDeadline(time.Now().Add(srvTestBound))
		c.tp.Cmd("%s", verb)
		return d
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ap := ln.Addr().(*net.TCPAddr).AddrPort()
	if mode == "port" {
		hp, _ := ftpaddr.FormatHostPort(ap)
		c.must("PORT "+hp, 200)
	} else {
		c.must("EPRT "+ftpaddr.FormatEPRT(ap), 200)
	}
	c.tp.Cmd("%s", verb)
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(srvTestBound))
	d, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	d.SetDeadline(time.Now().Add(srvTestBound))
	return d
}

// TestServerClosesDataBefore226 checks RFC 959 §5.2's end of transfer: the
// server closes the data connection, then sends 226. On the server side
// the close comes before the 226 write; on the wire, once the user-PI has
// read 226 the data connection holds the whole file and then EOF.
func TestServerClosesDataBefore226(t *testing.T) {
	for _, mode := range []string{"pasv", "epsv", "port", "eprt"} {
		for _, size := range []int64{0, 1024, 32 << 10, 1 << 20} {
			t.Run(fmt.Sprintf("%s/retr/%d", mode, size), func(t *testing.T) {
				ev := &srvEvents{}
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				srvStartOn(t, ServerConfig{Network: srvEventNet{ev: ev}}, &srvEventListener{ln, ev, "ctrl"})
				c := srvDial(t, ln.Addr().String())
				c.login()
				d := srvOpenData(t, c, mode, fmt.Sprintf("RETR /size/%d", size))
				c.expect(150)
				var got []byte
				if size <= 32<<10 {
					// Small enough for the socket buffers: read 226 first,
					// then the data must be complete and at EOF.
					if msg := c.expect(226); msg != "Transfer complete." {
						t.Errorf("226 text %q", msg)
					}
					got, err = io.ReadAll(d)
				} else {
					got, err = io.ReadAll(d)
					c.expect(226)
				}
				if err != nil {
					t.Fatalf("data: %v", err)
				}
				srvCheckContent(t, "data", got, size)
				if ic, i226 := ev.index("data close"), ev.index("ctrl 226"); ic < 0 || i226 < 0 || ic > i226 {
					t.Errorf("server events %q: want data close before 226", ev.ev)
				}
			})
		}
		t.Run(mode+"/stor", func(t *testing.T) {
			ev := &srvEvents{}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			s := srvStartOn(t, ServerConfig{Network: srvEventNet{ev: ev}}, &srvEventListener{ln, ev, "ctrl"})
			c := srvDial(t, ln.Addr().String())
			c.login()
			d := srvOpenData(t, c, mode, "STOR up.bin")
			c.expect(150)
			const n = 300001
			if _, err := d.Write(srvWant(n)); err != nil {
				t.Fatal(err)
			}
			d.(*net.TCPConn).CloseWrite()
			if msg := c.expect(226); msg != fmt.Sprintf("Transfer complete (%d bytes).", n) {
				t.Errorf("226 text %q", msg)
			}
			if b, err := io.ReadAll(d); len(b) != 0 || err != nil {
				t.Errorf("data after 226: %d bytes, %v; want EOF", len(b), err)
			}
			if st := s.Stats(); st.BytesReceived != n || st.Transfers != 1 {
				t.Errorf("stats %+v", st)
			}
			if ic, i226 := ev.index("data close"), ev.index("ctrl 226"); ic < 0 || i226 < 0 || ic > i226 {
				t.Errorf("server events %q: want data close before 226", ev.ev)
			}
		})
	}
}

// TestServerTransferReset checks 426 when the user-DTP resets the data
// connection mid-transfer.
func TestServerTransferReset(t *testing.T) {
	s, addr := srvStart(t, ServerConfig{})
	c := srvDial(t, addr)
	c.login()
	d := c.pasv()
	c.tp.Cmd("RETR 1G.bin")
	c.expect(150)
	io.ReadFull(d, make([]byte, 1000))
	d.(*net.TCPConn).SetLinger(0)
	d.Close() // RST
	c.expect(426)
	c.must("NOOP", 200)
	d = c.pasv()
	c.tp.Cmd("STOR x")
	c.expect(150)
	d.Write(make([]byte, 5000))
	d.(*net.TCPConn).SetLinger(0)
	d.Close()
	c.expect(426)
	c.must("NOOP", 200)
	if st := s.Stats(); st.Errors != 2 || st.Transfers != 0 || st.BytesSent < 1000 {
		t.Errorf("stats %+v", st)
	}
}

func TestServerAnonymous(t *testing.T) {
	_, addr := srvStart(t, ServerConfig{Anonymous: true})
	for _, user := range []string{"anonymous", "ftp", "Anonymous"} {
		c := srvDial(t, addr)
		c.must("USER "+user, 331)
		c.must("PASS guest@example.com", 230)
	}
	c := srvDial(t, addr)
	c.must("USER bench", 331)
	c.must("PASS wrong", 530)
}

// TestServerIPv6 checks the extended commands over an IPv6 control
// connection, where PASV cannot name the address.
func TestServerIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	srvStartOn(t, ServerConfig{}, ln)
	c := srvDial(t, ln.Addr().String())
	c.login()
	c.must("PASV", 425)
	c.must("EPSV 1", 522)
	c.must("PORT 127,0,0,1,4,1", 500) // third party: the peer is ::1
	port, err := ftpaddr.Parse229(c.must("EPSV 2", 229))
	if err != nil {
		t.Fatal(err)
	}
	d, err := net.DialTimeout("tcp", net.JoinHostPort("::1", strconv.Itoa(int(port))), srvTestBound)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c.tp.Cmd("RETR 1k.bin")
	c.expect(150)
	c.expect(226)
	got, err := io.ReadAll(d)
	if err != nil {
		t.Fatal(err)
	}
	srvCheckContent(t, "data", got, 1024)
	dl, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	c.must("EPRT "+ftpaddr.FormatEPRT(dl.Addr().(*net.TCPAddr).AddrPort()), 200)
	c.tp.Cmd("RETR 1k.bin")
	if d, err = dl.Accept(); err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c.expect(150)
	c.expect(226)
	if got, err = io.ReadAll(d); err != nil {
		t.Fatal(err)
	}
	srvCheckContent(t, "data", got, 1024)
}

// TestServerPASVForeignPeer checks that a passive data connection from
// another address than the control connection's peer is closed, and the
// right one still accepted.
func TestServerPASVForeignPeer(t *testing.T) {
	for _, fxp := range []bool{false, true} {
		t.Run(fmt.Sprintf("fxp=%v", fxp), func(t *testing.T) {
			_, addr := srvStart(t, ServerConfig{AllowFXP: fxp})
			c := srvDial(t, addr)
			c.login()
			ap, err := ftpaddr.Parse227(c.must("PASV", 227))
			if err != nil {
				t.Fatal(err)
			}
			dialer := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: srvTestBound}
			foreign, err := dialer.Dial("tcp", ap.String())
			if err != nil {
				t.Skipf("cannot dial from 127.0.0.2: %v", err)
			}
			defer foreign.Close()
			foreign.SetDeadline(time.Now().Add(srvTestBound))
			var own net.Conn
			if !fxp {
				own, err = net.DialTimeout("tcp", ap.String(), srvTestBound)
				if err != nil {
					t.Fatal(err)
				}
				defer own.Close()
				own.SetDeadline(time.Now().Add(srvTestBound))
			}
			c.tp.Cmd("RETR 1k.bin")
			c.expect(150)
			fgot, ferr := io.ReadAll(foreign)
			c.expect(226)
			if fxp {
				if ferr != nil {
					t.Fatal(ferr)
				}
				srvCheckContent(t, "FXP data", fgot, 1024)
				return
			}
			if len(fgot) != 0 {
				t.Errorf("foreign peer got %d bytes", len(fgot))
			}
			got, err := io.ReadAll(own)
			if err != nil {
				t.Fatal(err)
			}
			srvCheckContent(t, "data", got, 1024)
		})
	}
}

// TestServerActiveFXP sends a file to a third address with AllowFXP.
func TestServerActiveFXP(t *testing.T) {
	_, addr := srvStart(t, ServerConfig{AllowFXP: true})
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	defer ln.Close()
	c := srvDial(t, addr)
	c.login()
	c.must("EPRT "+ftpaddr.FormatEPRT(ln.Addr().(*net.TCPAddr).AddrPort()), 200)
	c.tp.Cmd("RETR 64KiB.bin")
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(srvTestBound))
	d, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c.expect(150)
	got, err := io.ReadAll(d)
	if err != nil {
		t.Fatal(err)
	}
	c.expect(226)
	srvCheckContent(t, "data", got, 64<<10)
}

// TestServerFXP runs RFC 959's Figure 3: a user-PI makes server B send a
// file straight to server A.
func TestServerFXP(t *testing.T) {
	sa, addrA := srvStart(t, ServerConfig{})
	sb, addrB := srvStart(t, ServerConfig{})
	a, b := srvDial(t, addrA), srvDial(t, addrB)
	a.login()
	b.login()
	ap, err := ftpaddr.Parse227(a.must("PASV", 227))
	if err != nil {
		t.Fatal(err)
	}
	hp, _ := ftpaddr.FormatHostPort(ap)
	b.must("PORT "+hp, 200)
	a.tp.Cmd("STOR copy.bin")
	b.tp.Cmd("RETR 1M.bin")
	b.expect(150)
	a.expect(150)
	b.expect(226)
	if msg := a.expect(226); msg != fmt.Sprintf("Transfer complete (%d bytes).", 1<<20) {
		t.Errorf("A's 226: %q", msg)
	}
	if sa.Stats().BytesReceived != 1<<20 || sb.Stats().BytesSent != 1<<20 {
		t.Errorf("A %+v, B %+v", sa.Stats(), sb.Stats())
	}
}

// srvRedirectNet dials to after checking the address asked for.
type srvRedirectNet struct {
	loadgen.TCP
	to   string
	got  chan string
	fail bool
}

func (n srvRedirectNet) Dial(ctx context.Context, addr string) (net.Conn, error) {
	n.got <- addr
	if n.fail {
		return nil, errors.New("connection refused (test)")
	}
	return n.TCP.Dial(ctx, n.to)
}

// TestServerDefaultDataPort checks RFC 959's default data port: with no
// PORT or PASV the server connects to the user's control address.
func TestServerDefaultDataPort(t *testing.T) {
	dl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	rn := srvRedirectNet{to: dl.Addr().String(), got: make(chan string, 1)}
	_, addr := srvStart(t, ServerConfig{DefaultDataPort: true, Network: rn})
	c := srvDial(t, addr)
	c.login()
	c.tp.Cmd("RETR 1k.bin")
	if got := <-rn.got; got != c.conn.LocalAddr().String() {
		t.Errorf("server dialled %s, want the control connection's %s", got, c.conn.LocalAddr())
	}
	d, err := dl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c.expect(150)
	got, err := io.ReadAll(d)
	if err != nil {
		t.Fatal(err)
	}
	c.expect(226)
	srvCheckContent(t, "data", got, 1024)
}

// TestServerDataTimeouts checks 425 when the data connection does not come
// (PASV) or cannot be made (PORT), and 421 on an idle control connection.
func TestServerDataTimeouts(t *testing.T) {
	rn := srvRedirectNet{got: make(chan string, 1), fail: true}
	s, addr := srvStart(t, ServerConfig{Timeout: time.Second, Network: rn})
	c := srvDial(t, addr)
	c.login()
	c.must("PASV", 227)
	c.must("RETR 1k.bin", 425)
	c.must("PORT 127,0,0,1,4,1", 200)
	c.must("STOR x", 425)
	if got := <-rn.got; got != "127.0.0.1:1025" {
		t.Errorf("dialled %s", got)
	}
	c.expect(421) // idle past Timeout
	if b, err := io.ReadAll(c.tp.R); len(b) != 0 || err != nil {
		t.Errorf("after 421: %q, %v; want EOF", b, err)
	}
	if st := s.Stats(); st.Errors != 3 {
		t.Errorf("stats %+v, want 3 errors", st)
	}
}

func TestServerMaxSessions(t *testing.T) {
	s, addr := srvStart(t, ServerConfig{MaxSessions: 1})
	c := srvDial(t, addr)
	c2, err := net.DialTimeout("tcp", addr, srvTestBound)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetDeadline(time.Now().Add(srvTestBound))
	code, _, err := textproto.NewReader(bufio.NewReader(c2)).ReadResponse(0)
	if code != 421 {
		t.Errorf("second session: %d, %v; want 421", code, err)
	}
	c.must("QUIT", 221)
	io.ReadAll(c.tp.R)
	if st := s.Stats(); st.Refused != 1 || st.Sessions != 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestServerShutdown checks that Serve returns nil on cancel and on
// listener close, closing sessions wherever they wait.
func TestServerShutdown(t *testing.T) {
	for _, how := range []string{"cancel", "close"} {
		t.Run(how, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			retr := make(chan struct{}, 1)
			logf := func(format string, args ...any) {
				if strings.HasSuffix(fmt.Sprintf(format, args...), "RETR 1k.bin") {
					retr <- struct{}{}
				}
			}
			s := NewServer(ServerConfig{Users: srvTestUsers, Logf: logf})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- s.Serve(ctx, ln) }()
			idle := srvDial(t, ln.Addr().String())
			busy := srvDial(t, ln.Addr().String())
			busy.login()
			busy.must("PASV", 227)
			busy.tp.Cmd("RETR 1k.bin") // the server waits for the data connection
			<-retr
			if how == "cancel" {
				cancel()
			} else {
				ln.Close()
			}
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve: %v", err)
				}
			case <-time.After(srvTestBound):
				t.Fatal("Serve did not return")
			}
			if n := s.Stats().ActiveSessions; n != 0 {
				t.Errorf("ActiveSessions = %d", n)
			}
			for _, c := range []*srvClient{idle, busy} {
				if _, err := io.ReadAll(c.tp.R); err != nil && !errors.Is(err, syscall.ECONNRESET) {
					t.Errorf("control connection after shutdown: %v", err)
				}
			}
		})
	}
}
