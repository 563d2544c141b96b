package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// served is an `ftpbench serve` running in-process for a test.
type served struct {
	addr   string // where it listens, from its first line
	banner string // its first line on stderr
	stop   func() string
}

// startServe runs `ftpbench serve args...` until the test ends (then it
// must exit 0) and returns once it listens.
func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, append([]string{"serve"}, args...), io.Discard, pw)
		pw.Close()
	}()
	br := bufio.NewReader(pr)
	line, err := br.ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("serve %v printed nothing: %v (exit %d)", args, err, <-done)
	}
	var rest strings.Builder
	copied := make(chan struct{})
	go func() {
		io.Copy(&rest, br)
		close(copied)
	}()
	var once sync.Once
	s := &served{banner: line}
	// stop ends serve (it must exit 0) and returns the rest of its stderr.
	s.stop = func() string {
		once.Do(func() {
			cancel()
			if code := <-done; code != exitOK {
				t.Errorf("serve exit %d after cancel", code)
			}
			<-copied
		})
		return rest.String()
	}
	t.Cleanup(func() { s.stop() })
	s.addr = regexp.MustCompile(`on (\S+) \(`).FindStringSubmatch(line)[1]
	return s
}

// ftpConn is a raw control connection to a served server.
type ftpConn struct {
	t  *testing.T
	c  net.Conn
	tp *textproto.Conn
}

func dialFTP(t *testing.T, addr string) *ftpConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { c.Close() })
	return &ftpConn{t: t, c: c, tp: textproto.NewConn(c)}
}

// reply reads one reply and checks its code.
func (f *ftpConn) reply(want int) string {
	f.t.Helper()
	code, msg, err := f.tp.ReadResponse(0)
	if err != nil || code != want {
		f.t.Fatalf("reply %d %q, %v; want %d", code, msg, err, want)
	}
	return msg
}

// cmd sends a command and checks the reply's code.
func (f *ftpConn) cmd(line string, want int) string {
	f.t.Helper()
	if _, err := f.tp.Cmd("%s", line); err != nil {
		f.t.Fatal(err)
	}
	return f.reply(want)
}

// TestServeBindsLoopback: with no --listen, or a --listen without a host,
// serve listens on 127.0.0.1 only; another address must be named, and
// then serve warns that it is reachable from other hosts.
func TestServeBindsLoopback(t *testing.T) {
	if s := startServe(t, "--listen", ":0"); !strings.HasPrefix(s.addr, "127.0.0.1:") {
		t.Errorf("--listen :0 listens on %s, want 127.0.0.1", s.addr)
	}
	var help strings.Builder
	runMain(t.Context(), []string{"serve", "--help"}, io.Discard, &help)
	if !regexp.MustCompile(`--listen string .*\(default "127\.0\.0\.1:2121"\)`).MatchString(help.String()) {
		t.Errorf("--listen does not default to 127.0.0.1:2121:\n%s", help.String())
	}
	all := startServe(t, "--listen", "0.0.0.0:0")
	if strings.HasPrefix(all.addr, "127.") {
		t.Errorf("--listen 0.0.0.0:0 listens on %s", all.addr)
	}
	if rest := all.stop(); !strings.Contains(rest, "warning: "+all.addr+" is reachable from other hosts") {
		t.Errorf("no warning for %s; stderr after the banner: %q", all.addr, rest)
	}
}

// TestServeRefusesThirdPartyPORT: PORT and EPRT naming another address
// than the client's are refused with 500 (FTP bounce, RFC 2577), unless
// --allow-fxp; the client's own address is accepted.
func TestServeRefusesThirdPartyPORT(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{
		{nil, 500},
		{[]string{"--allow-fxp"}, 200},
	} {
		t.Run(fmt.Sprint(tc.args), func(t *testing.T) {
			s := startServe(t, append([]string{"--listen", "127.0.0.1:0"}, tc.args...)...)
			c := dialFTP(t, s.addr)
			c.reply(220)
			c.cmd("USER anonymous", 331)
			c.cmd("PASS x", 230)
			c.cmd("PORT 127,0,0,2,4,1", tc.want)
			c.cmd("EPRT |1|127.0.0.2|1025|", tc.want)
			c.cmd("EPRT |1|10.1.2.3|1025|", tc.want)
			c.cmd("PORT 127,0,0,1,4,1", 200) // the client's own address
		})
	}
}

// TestServeLimitsSessionsAndLines: beyond --max-sessions a connection gets
// 421 and is closed; a command line over the limit is answered 500 and the
// session goes on.
func TestServeLimitsSessionsAndLines(t *testing.T) {
	s := startServe(t, "--listen", "127.0.0.1:0", "--max-sessions", "2")
	a, b := dialFTP(t, s.addr), dialFTP(t, s.addr)
	a.reply(220)
	b.reply(220)
	c := dialFTP(t, s.addr)
	if msg := c.reply(421); !strings.Contains(msg, "too many") {
		t.Errorf("third session: 421 %q", msg)
	}
	if _, err := c.tp.ReadLine(); err == nil {
		t.Error("the refused connection stays open")
	}
	a.cmd("NOOP "+strings.Repeat("x", 5000), 500)
	a.cmd("NOOP", 200)
}

// TestServeNeedsALogin: nothing but USER, PASS and a few harmless
// commands works before a login; with --anonymous=false only --user logs
// in.
func TestServeNeedsALogin(t *testing.T) {
	s := startServe(t, "--listen", "127.0.0.1:0", "--anonymous=false", "--user", "bench:pw-7731")
	c := dialFTP(t, s.addr)
	c.reply(220)
	for _, cmd := range []string{"PASV", "RETR /size/10", "STOR x", "SIZE /size/10", "CWD /", "PORT 127,0,0,1,4,1"} {
		c.cmd(cmd, 530)
	}
	c.cmd("USER anonymous", 331)
	c.cmd("PASS me@example.org", 530)
	c.cmd("USER bench", 331)
	c.cmd("PASS wrong", 530)
	c.cmd("RETR /size/10", 530)
	c.cmd("USER bench", 331)
	c.cmd("PASS pw-7731", 230)
	c.cmd("SIZE /size/10", 213)
}
