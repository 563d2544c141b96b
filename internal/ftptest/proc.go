package ftptest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a server child process, the leader of its own process group (so
// that the sessions it forks are stopped with it).
type proc struct {
	exe     string // resolved path of the program
	marker  string // unique string in the command line of its processes
	cmd     *exec.Cmd
	done    chan struct{} // closed when Wait returned
	waitErr error         // valid after done
	logFile *os.File
	wd      *watchdog // nil if it could not be started
}

// startProc starts argv[0] with argv[1:] in the foreground, stdout and
// stderr appended to logPath. dir (the instance's own config directory)
// must appear in argv: it identifies the server's processes that leave
// its process group. A plain exec.Command (no context): the process
// lives until stop, whatever happens to contexts of the test.
func startProc(argv []string, dir, logPath string) (*proc, error) {
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdin = nil
	// An *os.File, not a pipe: Wait must not wait for forked session
	// processes that inherit stdout/stderr.
	cmd.Stdout = lf
	cmd.Stderr = lf
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid: true,
		// Safety net only (stop is the mechanism): if the test binary
		// dies, the server dies with it (see startLocked).
		Pdeathsig: syscall.SIGKILL,
	}
	if err := startLocked(cmd); err != nil {
		lf.Close()
		return nil, fmt.Errorf("starting %s: %w", argv[0], err)
	}
	p := &proc{exe: resolveExe(argv[0]), marker: dir, cmd: cmd, done: make(chan struct{}), logFile: lf}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	// Best effort: without a watchdog only Pdeathsig covers a crash.
	p.wd, _ = startWatchdog(p.pid(), filepath.Dir(dir))
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop stops the whole server (see stopTree) and, if addr is not empty,
// waits until addr refuses connections.
func (p *proc) stop(addr string) error {
	defer p.logFile.Close()
	p.wd.cancel()
	if err := p.stopTree(); err != nil {
		return err
	}
	// All server processes are dead. Wait, bounded, until the port
	// refuses connections.
	if addr == "" {
		return nil
	}
	deadline := time.Now().Add(stopTimeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return nil
		}
		c.Close()
		if !time.Now().Before(deadline) {
			return fmt.Errorf("%s still accepts connections %v after the server was killed", addr, stopTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitReady polls addr until it greets with a 220 reply (the last line of a
// possibly multi-line reply), the process exits, or readyTimeout passes.
func (p *proc) waitReady(addr string) error {
	_, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(readyTimeout)
	var lastErr error
	for {
		if p.exited() {
			return fmt.Errorf("server exited during start-up: %v", p.waitErr)
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("no 220 greeting on %s within %v: %v", addr, readyTimeout, lastErr)
		}
		// Only greet once our process listens on the port: the port may
		// have been taken by another process meanwhile.
		switch listenOwner(p.pid(), port) {
		case ownerNone:
			lastErr = errors.New("not listening yet")
		case ownerOther:
			return fmt.Errorf("port %d is held by another process", port)
		case ownerUs, ownerUnknown:
			lastErr = greet(addr, deadline)
			if lastErr == nil {
				if p.exited() {
					return fmt.Errorf("server exited during start-up: %v", p.waitErr)
				}
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pollGreeting calls greet until it succeeds or readyTimeout passes.
func pollGreeting(addr string) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		err := greet(addr, deadline)
		if err == nil {
			return nil
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("no 220 greeting on %s within %v: %w", addr, readyTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// greet connects to addr and reads the greeting, which must be a 220 reply.
func greet(addr string, deadline time.Time) error {
	d := time.Until(deadline)
	if d > 2*time.Second {
		d = 2 * time.Second
	}
	if d <= 0 {
		return errors.New("deadline passed")
	}
	c, err := net.DialTimeout("tcp", addr, d)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(d)); err != nil {
		return err
	}
	code, text, err := ReadReply(bufio.NewReader(c))
	if err != nil {
		return fmt.Errorf("reading greeting: %w", err)
	}
	if code != 220 {
		return fmt.Errorf("greeting %d %s", code, text)
	}
	// Polite goodbye; the answer does not matter.
	_, _ = io.WriteString(c, "QUIT\r\n")
	return nil
}

// ReadReply reads one FTP reply (RFC 959 4.2, multi-line aware) and returns
// its code and text (lines joined by "\n").
func ReadReply(r *bufio.Reader) (int, string, error) {
	var lines []string
	first := ""
	for n := 0; n < 1000; n++ {
		line, err := r.ReadString('\n')
		if err != nil {
			return 0, strings.Join(lines, "\n"), err
		}
		line = strings.TrimRight(line, "\r\n")
		lines = append(lines, line)
		if first == "" {
			if len(line) < 3 {
				return 0, line, fmt.Errorf("short reply line %q", line)
			}
			first = line[:3]
			if len(line) == 3 || line[3] != '-' {
				break
			}
			continue
		}
		if len(line) >= 4 && line[:3] == first && line[3] == ' ' || line == first {
			break
		}
	}
	code, err := strconv.Atoi(first)
	if err != nil || code < 100 || code > 599 {
		return 0, strings.Join(lines, "\n"), fmt.Errorf("bad reply code in %q", lines[0])
	}
	text := make([]string, len(lines))
	for i, l := range lines {
		if len(l) >= 4 && l[:3] == first && (l[3] == ' ' || l[3] == '-') {
			l = l[4:]
		} else if i == 0 || i == len(lines)-1 && l == first {
			l = ""
		}
		text[i] = l
	}
	return code, strings.Join(text, "\n"), nil
}

// logTails returns the last bytes of each non-empty file.
func logTails(paths []string) string {
	const max = 3000
	var b strings.Builder
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil || len(strings.TrimSpace(string(data))) == 0 {
			continue
		}
		if len(data) > max {
			data = append([]byte("…"), data[len(data)-max:]...)
		}
		fmt.Fprintf(&b, "\n--- %s ---\n%s", p, strings.TrimRight(string(data), "\n"))
	}
	if b.Len() == 0 {
		return " (server logs empty)"
	}
	return b.String()
}

// ftpUser returns the uid and gid of the system user "ftp".
func ftpUser() (uid, gid int, err error) {
	u, err := user.Lookup("ftp")
	if err != nil {
		return 0, 0, fmt.Errorf("looking up user ftp: %w", err)
	}
	uid, err = strconv.Atoi(u.Uid)
	if err != nil {
		return 0, 0, err
	}
	gid, err = strconv.Atoi(u.Gid)
	if err != nil {
		return 0, 0, err
	}
	return uid, gid, nil
}

// startExternal runs argv as a server on port and waits until it greets.
// On failure it stops the process and returns the error with log tails.
func startExternal(s *Server, argv []string, dir, logPath string) error {
	p, err := startProc(argv, dir, logPath)
	if err != nil {
		return err
	}
	s.PID = p.pid()
	s.proc = p
	s.stopFn = func() error { return p.stop(s.Addr) }
	if err := p.waitReady(s.Addr); err != nil {
		// No port check here: the port may belong to another process
		// that won the race for it.
		stopErr := p.stop("")
		if stopErr != nil {
			err = fmt.Errorf("%w (and stopping: %v)", err, stopErr)
		}
		return fmt.Errorf("%s on %s: %w%s", s.Name, s.Addr, err, logTails(s.logs))
	}
	return nil
}
