package ftptest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
)

const (
	smallName = "small.bin"
	smallSize = 1 << 10
	bigName   = "big.bin"
	bigSize   = 64 << 10
	upSize    = 100_000
)

// TestServers proves the harness: every server starts, serves the files
// byte for byte over EPSV, PASV, PORT and EPRT, accepts an upload into
// UploadDir that reads back identically, and is gone after Stop.
func TestServers(t *testing.T) {
	type variant struct {
		label, name string
		inetd       bool
	}
	var variants []variant
	for _, name := range Names() {
		variants = append(variants, variant{name, name, false})
	}
	variants = append(variants, variant{"proftpd-inetd", ProFTPd, true})
	for _, v := range variants {
		name := v.name
		t.Run(v.label, func(t *testing.T) {
			t.Parallel()
			s := Start(t, name, Options{
				Files:        map[string]int64{smallName: smallSize, bigName: bigSize},
				ProFTPdInetd: v.inetd,
			})
			if s.Name != name || s.Addr != fmt.Sprintf("127.0.0.1:%d", s.Port) || s.Host != "127.0.0.1" {
				t.Fatalf("bad server fields: %+v", s)
			}
			t.Logf("%s %s on %s (pid %d), login %q/%q, root %s", s.Name, s.Version, s.Addr, s.PID, s.User, s.Password, s.Root)
			if len(s.listenSocks) == 0 {
				t.Errorf("%s: no listening socket recorded on port %d", name, s.Port)
			}
			if s.Version == "" {
				t.Errorf("%s: no version found", name)
			}

			t.Run("epsv", func(t *testing.T) { checkJlaffaye(t, s, false) })
			t.Run("pasv", func(t *testing.T) { checkJlaffaye(t, s, true) })
			for _, cmd := range []string{"PORT", "EPRT"} {
				t.Run(strings.ToLower(cmd), func(t *testing.T) {
					for _, f := range []struct {
						name string
						size int64
					}{{smallName, smallSize}, {bigName, bigSize}} {
						if err := activeRetr(s, cmd, f.name, f.size); err != nil {
							t.Errorf("%s RETR %s: %v%s", cmd, f.name, err, s.LogTail())
						}
					}
				})
			}

			// A session still open at Stop must end with the server.
			open := dialJlaffaye(t, s, false)
			if err := open.NoOp(); err != nil {
				t.Fatalf("NOOP: %v", err)
			}

			if on, err := s.stillListening(); err != nil || !on {
				t.Fatalf("%s: listening socket not seen before Stop (err %v)", name, err)
			}
			if err := s.Stop(); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if s.proc != nil {
				for _, m := range members(s.PID, s.proc.exe, s.proc.marker) {
					if !m.zombie {
						t.Errorf("server process %d (ppid %d, pgid %d) still alive after Stop", m.pid, m.ppid, m.pgid)
					}
				}
			}
			if err := open.NoOp(); err == nil {
				t.Errorf("session opened before Stop still answers after it")
			}
			// Not a dial: a parallel test may already listen on the freed port.
			if on, err := s.stillListening(); err != nil || on {
				t.Fatalf("%s still listens on %s after Stop (err %v)", name, s.Addr, err)
			}
			if err := s.Stop(); err != nil {
				t.Fatalf("second Stop: %v", err)
			}
		})
	}
}

func dialJlaffaye(t *testing.T, s *Server, disableEPSV bool) *ftp.ServerConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	c, err := ftp.Dial(s.Addr, ftp.DialWithTimeout(10*time.Second), ftp.DialWithDisabledEPSV(disableEPSV), ftp.DialWithContext(ctx))
	if err != nil {
		t.Fatalf("dial %s: %v%s", s.Addr, err, s.LogTail())
	}
	t.Cleanup(func() { _ = c.Quit() })
	if err := c.Login(s.User, s.Password); err != nil {
		t.Fatalf("login %q: %v%s", s.User, err, s.LogTail())
	}
	return c
}

func checkJlaffaye(t *testing.T, s *Server, disableEPSV bool) {
	c := dialJlaffaye(t, s, disableEPSV)
	retr := func(p, name string, size int64) {
		t.Helper()
		r, err := c.Retr(p)
		if err != nil {
			t.Fatalf("RETR %s: %v%s", p, err, s.LogTail())
		}
		verr := VerifyContent(r, name, size)
		if err := r.Close(); err != nil {
			t.Fatalf("RETR %s: closing: %v", p, err)
		}
		if verr != nil {
			t.Fatalf("RETR %s: %v", p, verr)
		}
	}
	retr("/"+smallName, smallName, smallSize)
	retr("/"+bigName, bigName, bigSize)

	// Upload, read back over FTP and from disk.
	mode := "epsv"
	if disableEPSV {
		mode = "pasv"
	}
	upName := "up-" + mode + ".bin"
	upPath := s.UploadPath(upName)
	if err := c.Stor(upPath, NewContentReader(upName, upSize)); err != nil {
		t.Fatalf("STOR %s: %v%s", upPath, err, s.LogTail())
	}
	retr(upPath, upName, upSize)
	f, err := os.Open(filepath.Join(s.Root, s.UploadDir, upName))
	if err != nil {
		t.Fatalf("uploaded file not on disk: %v", err)
	}
	defer f.Close()
	if err := VerifyContent(f, upName, upSize); err != nil {
		t.Fatalf("uploaded file on disk: %v", err)
	}
	// Overwriting must work too.
	if err := c.Stor(upPath, NewContentReader(upName, upSize/2)); err != nil {
		t.Fatalf("STOR %s again (overwrite): %v%s", upPath, err, s.LogTail())
	}
	retr(upPath, upName, upSize/2)
	if size, err := c.FileSize("/" + bigName); err != nil || size != bigSize {
		t.Errorf("SIZE %s = %d, %v; want %d", bigName, size, err, bigSize)
	}
}

// ctrl is a minimal FTP control connection for the active-mode checks
// (jlaffaye/ftp has no active mode).
type ctrl struct {
	c net.Conn
	r *bufio.Reader
}

func (c *ctrl) cmd(format string, args ...any) (int, string, error) {
	if _, err := fmt.Fprintf(c.c, format+"\r\n", args...); err != nil {
		return 0, "", err
	}
	return ReadReply(c.r)
}

func (c *ctrl) expect(want int, format string, args ...any) error {
	code, text, err := c.cmd(format, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", strings.Fields(format)[0], err)
	}
	if code != want {
		return fmt.Errorf("%s: got %d %s, want %d", strings.Fields(format)[0], code, text, want)
	}
	return nil
}

// activeRetr downloads name with PORT or EPRT and verifies it.
func activeRetr(s *Server, mode, name string, size int64) error {
	nc, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := nc.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return err
	}
	c := &ctrl{c: nc, r: bufio.NewReader(nc)}
	if code, text, err := ReadReply(c.r); err != nil || code != 220 {
		return fmt.Errorf("greeting %d %s %v", code, text, err)
	}
	code, text, err := c.cmd("USER %s", s.User)
	if err != nil {
		return err
	}
	switch code {
	case 230:
	case 331:
		if err := c.expect(230, "PASS %s", s.Password); err != nil {
			return err
		}
	default:
		return fmt.Errorf("USER: %d %s", code, text)
	}
	if err := c.expect(200, "TYPE I"); err != nil {
		return err
	}

	// Accept before sending PORT: goftp and pyftpdlib connect at once.
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return err
	}
	defer ln.Close()
	if err := ln.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
		return err
	}
	type result struct {
		data []byte
		err  error
	}
	got := make(chan result, 1)
	go func() {
		dc, err := ln.Accept()
		if err != nil {
			got <- result{nil, err}
			return
		}
		defer dc.Close()
		_ = dc.SetDeadline(time.Now().Add(20 * time.Second))
		data, err := io.ReadAll(dc)
		got <- result{data, err}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	switch mode {
	case "PORT":
		err = c.expect(200, "PORT 127,0,0,1,%d,%d", port>>8, port&0xff)
	case "EPRT":
		err = c.expect(200, "EPRT |1|127.0.0.1|%d|", port)
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		return err
	}
	code, text, err = c.cmd("RETR /%s", name)
	if err != nil {
		return err
	}
	if code != 150 && code != 125 {
		return fmt.Errorf("RETR: %d %s", code, text)
	}
	var res result
	select {
	case res = <-got:
	case <-time.After(25 * time.Second):
		return errors.New("no data connection")
	}
	if res.err != nil {
		return fmt.Errorf("data connection: %w", res.err)
	}
	code, text, err = ReadReply(c.r)
	if err != nil || code != 226 {
		return fmt.Errorf("after transfer: %d %s %v", code, text, err)
	}
	_, _, _ = c.cmd("QUIT")
	return VerifyContent(bytes.NewReader(res.data), name, size)
}

func TestContent(t *testing.T) {
	a := Content("x/a.bin", 1000)
	if !bytes.Equal(a, Content("x/a.bin", 1000)) {
		t.Fatal("content not deterministic")
	}
	if !bytes.Equal(a, Content("/x//a.bin", 1000)) {
		t.Fatal("content depends on path spelling")
	}
	if bytes.Equal(a[:100], Content("x/b.bin", 100)) {
		t.Fatal("different names give the same content")
	}
	for _, off := range []int64{0, 1, 7, 8, 9, 500, 993} {
		p := make([]byte, 7)
		ContentAt("x/a.bin", p, off)
		if !bytes.Equal(p, a[off:off+7]) {
			t.Fatalf("ContentAt(%d) differs", off)
		}
	}
	r, err := io.ReadAll(io.LimitReader(NewContentReader("x/a.bin", 1000), 2000))
	if err != nil || !bytes.Equal(r, a) {
		t.Fatalf("reader: %d bytes, %v", len(r), err)
	}

	dir := t.TempDir()
	p := WriteFile(t, dir, "sub/f.bin", 70_000)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := VerifyContent(f, "sub/f.bin", 70_000); err != nil {
		t.Fatal(err)
	}

	bad := append([]byte(nil), a...)
	bad[777] ^= 1
	if err := VerifyContent(bytes.NewReader(bad), "x/a.bin", 1000); err == nil || !strings.Contains(err.Error(), "offset 777") {
		t.Fatalf("corruption not found: %v", err)
	}
	if err := VerifyContent(bytes.NewReader(a[:999]), "x/a.bin", 1000); err == nil {
		t.Fatal("short content accepted")
	}
	if err := VerifyContent(bytes.NewReader(append(a, 0)), "x/a.bin", 1000); err == nil {
		t.Fatal("long content accepted")
	}
}

func TestReadReply(t *testing.T) {
	for _, tc := range []struct {
		in   string
		code int
		text string
	}{
		{"220 hi\r\n", 220, "hi"},
		{"220\r\n", 220, ""},
		{"220-a\r\n220-b\r\n b2\r\n220 c\r\n", 220, "a\nb\n b2\nc"},
		{"226-File successfully transferred\r\n226 0.000 seconds\r\n", 226, "File successfully transferred\n0.000 seconds"},
	} {
		code, text, err := ReadReply(bufio.NewReader(strings.NewReader(tc.in)))
		if err != nil || code != tc.code || text != tc.text {
			t.Errorf("ReadReply(%q) = %d %q %v, want %d %q", tc.in, code, text, err, tc.code, tc.text)
		}
	}
	for _, in := range []string{"", "22\r\n", "abc hi\r\n", "220-a\r\n"} {
		if _, _, err := ReadReply(bufio.NewReader(strings.NewReader(in))); err == nil {
			t.Errorf("ReadReply(%q): no error", in)
		}
	}
}

func TestNamesAndURL(t *testing.T) {
	if got := strings.Join(Names(), ","); got != "goftp,vsftpd,pure-ftpd,proftpd,pyftpdlib" {
		t.Fatalf("Names() = %s", got)
	}
	s := &Server{Addr: "127.0.0.1:2121", User: "anonymous", Password: "guest", UploadDir: "upload"}
	if got := s.URL("/a b.bin"); got != "ftp://anonymous:guest@127.0.0.1:2121/a%20b.bin" {
		t.Errorf("URL = %s", got)
	}
	if got := s.UploadPath("x"); got != "/upload/x" {
		t.Errorf("UploadPath = %s", got)
	}
	if _, err := Available("no-such-server"); err == nil {
		t.Error("unknown name available")
	}
	if _, ok := ClientAvailable("vsftpd"); ok {
		t.Error("a server counted as a client")
	}
}

// TestClients checks that the real clients the project tests with are
// installed and can download from a server started here.
func TestClients(t *testing.T) {
	s := StartGoftp(t, Options{Files: map[string]int64{bigName: bigSize}})
	t.Run("curl", func(t *testing.T) {
		curl := Require(t, "curl")
		for _, args := range [][]string{{}, {"--disable-epsv"}, {"-P", "127.0.0.1"}, {"-P", "127.0.0.1", "--disable-eprt"}} {
			argv := append([]string{"-sS", "--max-time", "20"}, args...)
			argv = append(argv, s.URL(bigName))
			out := runClient(t, curl, argv...)
			if err := VerifyContent(bytes.NewReader(out), bigName, bigSize); err != nil {
				t.Errorf("curl %v: %v", args, err)
			}
		}
	})
	t.Run("lftp", func(t *testing.T) {
		lftp := Require(t, "lftp")
		dst := filepath.Join(t.TempDir(), "got.bin")
		runClient(t, lftp, "-c", fmt.Sprintf("set net:timeout 10; set net:max-retries 1; open -u %s,%s %s; get /%s -o %s",
			s.User, s.Password, "ftp://"+s.Addr, bigName, dst))
		f, err := os.Open(dst)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := VerifyContent(f, bigName, bigSize); err != nil {
			t.Error(err)
		}
	})
	t.Run("ftplib", func(t *testing.T) {
		py, ok := ClientAvailable("python3")
		if !ok {
			Require(t, "python3")
		}
		script := `import ftplib, sys
host, port, user, pw, name = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
f = ftplib.FTP(timeout=10)
f.connect(host, port)
f.login(user, pw)
f.retrbinary("RETR " + name, sys.stdout.buffer.write)
f.quit()
`
		out := runClient(t, py, "-c", script, s.Host, fmt.Sprint(s.Port), s.User, s.Password, "/"+bigName)
		if err := VerifyContent(bytes.NewReader(out), bigName, bigSize); err != nil {
			t.Error(err)
		}
	})
}

func runClient(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
	}
	return out
}

// TestParallelStarts starts several instances of every server at once (as
// parallel tests of several packages do) and checks each one answers as
// itself: port races between them must be resolved by Start.
func TestParallelStarts(t *testing.T) {
	n := 3
	if testing.Short() {
		n = 1
	}
	for i := 0; i < n; i++ {
		for _, name := range Names() {
			t.Run(fmt.Sprint(name, i), func(t *testing.T) {
				t.Parallel()
				file := fmt.Sprintf("only-%s-%d.bin", name, i)
				s := Start(t, name, Options{Files: map[string]int64{file: 3000}})
				// The file exists only on this instance: a client that
				// reached another server would get 550.
				if err := activeRetr(s, "EPRT", file, 3000); err != nil {
					t.Errorf("%v%s", err, s.LogTail())
				}
				c := dialJlaffaye(t, s, false)
				r, err := c.Retr("/" + file)
				if err != nil {
					t.Fatalf("RETR: %v%s", err, s.LogTail())
				}
				defer r.Close()
				if err := VerifyContent(r, file, 3000); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

func TestRequire(t *testing.T) {
	if _, err := Available(Goftp); err != nil {
		t.Fatalf("goftp must always be available: %v", err)
	}
	if p := Require(t, Goftp); p != "" {
		t.Errorf("Require(goftp) = %q, want \"\"", p)
	}
	// Unavailable skips, or fails under FTPBENCH_REQUIRE_SERVERS=1; run it
	// in a subtest to see which without failing this test.
	ok := t.Run("unavailable", func(t *testing.T) {
		t.Setenv(RequireEnv, "")
		Unavailable(t, "something", errors.New("test"))
		t.Error("Unavailable returned")
	})
	if !ok {
		t.Error("Unavailable without FTPBENCH_REQUIRE_SERVERS failed instead of skipping")
	}
}
