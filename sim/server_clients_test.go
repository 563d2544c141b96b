package sim

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Real FTP clients against the simulated server: curl, Python's ftplib and
// lftp, in every data connection mode they have. A missing client skips
// its test, unless FTPBENCH_REQUIRE_SERVERS=1 (as in CI), which fails it.

// srvNeedTool returns the path of a client program, or skips (fails under
// FTPBENCH_REQUIRE_SERVERS=1) when it is not installed.
func srvNeedTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("FTPBENCH_REQUIRE_SERVERS") == "1" {
			t.Fatalf("%s is required (FTPBENCH_REQUIRE_SERVERS=1) but not installed: %v", name, err)
		}
		t.Skipf("%s not installed (%v); install it to test the server with it", name, err)
	}
	return p
}

// srvRun runs a client program, bounded in time, and returns its combined
// output; a failure ends the test.
func srvRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no ~/.netrc, ~/.lftprc
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// srvCheckFile checks that a downloaded file holds the first n pattern bytes.
func srvCheckFile(t *testing.T, file string, n int64) {
	t.Helper()
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	srvCheckContent(t, file, got, n)
}

// srvUploadFile writes a temporary file of n pattern bytes.
func srvUploadFile(t *testing.T, n int64) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "up.bin")
	if err := os.WriteFile(f, srvWant(n), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// srvFailLog returns a Logf that keeps the server's log and prints it if
// the test fails.
func srvFailLog(t *testing.T) func(string, ...any) {
	var mu sync.Mutex
	var lines []string
	t.Cleanup(func() { // runs after srvStart's cleanup: Serve has returned
		if t.Failed() {
			t.Logf("server log:\n%s", strings.Join(lines, "\n"))
		}
	})
	return func(format string, args ...any) {
		mu.Lock()
		lines = append(lines, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
}

func srvPort(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func TestServerCurl(t *testing.T) {
	curl := srvNeedTool(t, "curl")
	for _, mode := range []struct {
		name  string
		flags []string
	}{
		{"pasv", []string{"--disable-epsv"}},
		{"epsv", nil},
		{"port", []string{"-P", "127.0.0.1", "--disable-eprt"}},
		{"eprt", []string{"-P", "127.0.0.1"}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			s, addr := srvStart(t, ServerConfig{Logf: srvFailLog(t)})
			base := "ftp://bench:secret@" + addr
			dir := t.TempDir()
			for _, f := range []struct {
				path string
				size int64
			}{{"/1M.bin", 1 << 20}, {"/size/0", 0}, {"/size/100003", 100003}} {
				out := filepath.Join(dir, "down")
				args := append([]string{"-sS", "--max-time", "20", "-o", out}, mode.flags...)
				srvRun(t, curl, append(args, base+f.path)...)
				srvCheckFile(t, out, f.size)
			}
			const n = 200003
			args := append([]string{"-sS", "-v", "--max-time", "20", "-T", srvUploadFile(t, n)}, mode.flags...)
			out := srvRun(t, curl, append(args, base+"/upload/up.bin")...)
			if want := fmt.Sprintf("226 Transfer complete (%d bytes).", n); !strings.Contains(out, want) {
				t.Errorf("curl -v output lacks %q:\n%s", want, out)
			}
			if st := s.Stats(); st.BytesReceived != n || st.Transfers != 4 || st.Errors != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// srvFtplibScript downloads argv[5] to argv[6] and uploads argv[7], in
// passive or active mode (argv[8]); it prints the upload's final reply.
const srvFtplibScript = `
import ftplib, sys
host, port, user, pw, name, out, up, mode = sys.argv[1:]
f = ftplib.FTP()
f.connect(host, int(port), timeout=20)
f.login(user, pw)
f.set_pasv(mode == "pasv")
with open(out, "wb") as fh:
    f.retrbinary("RETR " + name, fh.write)
with open(up, "rb") as fh:
    print(f.storbinary("STOR up.bin", fh))
f.quit()
`

func TestServerPythonFtplib(t *testing.T) {
	python := "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		python = srvNeedTool(t, "python3")
	}
	for _, mode := range []string{"pasv", "active"} {
		t.Run(mode, func(t *testing.T) {
			s, addr := srvStart(t, ServerConfig{Logf: srvFailLog(t)})
			out := filepath.Join(t.TempDir(), "down")
			const n = 150001
			got := srvRun(t, python, "-c", srvFtplibScript, "127.0.0.1", srvPort(addr), "bench", "secret",
				"/size/1234567", out, srvUploadFile(t, n), mode)
			srvCheckFile(t, out, 1234567)
			if want := fmt.Sprintf("226 Transfer complete (%d bytes).", n); !strings.Contains(got, want) {
				t.Errorf("ftplib printed %q, want %q", got, want)
			}
			if st := s.Stats(); st.BytesReceived != n || st.Transfers != 2 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestServerLftp(t *testing.T) {
	lftp := srvNeedTool(t, "lftp")
	for _, mode := range []struct{ name, passive string }{{"pasv", "on"}, {"active", "off"}} {
		t.Run(mode.name, func(t *testing.T) {
			s, addr := srvStart(t, ServerConfig{Logf: srvFailLog(t)})
			dir := t.TempDir()
			out := filepath.Join(dir, "down")
			const n = 70001
			up := srvUploadFile(t, n)
			script := fmt.Sprintf("set ftp:passive-mode %s; set ftp:ssl-allow no; set net:max-retries 1; "+
				"set net:timeout 10; set cmd:fail-exit yes; set xfer:clobber on; "+
				"open -u bench,secret -p %s 127.0.0.1; get /10MB.bin -o %s; put %s -o /upload/up.bin",
				mode.passive, srvPort(addr), out, up)
			srvRun(t, lftp, "-c", script)
			srvCheckFile(t, out, 10<<20)
			if st := s.Stats(); st.BytesReceived != n || st.Transfers != 2 || st.Errors != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}
