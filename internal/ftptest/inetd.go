package ftptest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// inetd is a tiny inetd: it accepts control connections on a listener and
// starts argv for each, with the connection as stdin and stdout.
type inetd struct {
	ln      net.Listener
	argv    []string
	dir     string
	logFile *os.File

	served chan struct{} // closed when the accept loop ended
	mu     sync.Mutex
	procs  map[*exec.Cmd]chan struct{} // running children → closed on exit
}

// startInetd serves s.Addr with one argv process per connection.
func startInetd(s *Server, argv []string, dir, logPath string) error {
	ln, err := net.Listen("tcp4", s.Addr)
	if err != nil {
		return err
	}
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		ln.Close()
		return err
	}
	in := &inetd{ln: ln, argv: argv, dir: dir, logFile: lf,
		served: make(chan struct{}), procs: map[*exec.Cmd]chan struct{}{}}
	go in.serve()
	s.stopFn = in.stop
	if err := pollGreeting(s.Addr); err != nil {
		stopErr := in.stop()
		if stopErr != nil {
			err = fmt.Errorf("%w (and stopping: %v)", err, stopErr)
		}
		return fmt.Errorf("%s (inetd mode) on %s: %w%s", s.Name, s.Addr, err, logTails(s.logs))
	}
	return nil
}

func (in *inetd) serve() {
	defer close(in.served)
	for {
		c, err := in.ln.Accept()
		if err != nil {
			return // closed by stop
		}
		in.spawn(c)
	}
}

func (in *inetd) spawn(c net.Conn) {
	defer c.Close()
	f, err := c.(*net.TCPConn).File() // a blocking dup for the child
	if err != nil {
		fmt.Fprintf(in.logFile, "ftptest inetd: %v\n", err)
		return
	}
	defer f.Close()
	cmd := exec.Command(in.argv[0], in.argv[1:]...)
	cmd.Dir = in.dir
	cmd.Stdin = f
	cmd.Stdout = f
	cmd.Stderr = in.logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.procs == nil { // stopping
		return
	}
	if err := startLocked(cmd); err != nil {
		fmt.Fprintf(in.logFile, "ftptest inetd: starting %s: %v\n", in.argv[0], err)
		return
	}
	done := make(chan struct{})
	in.procs[cmd] = done
	go func() {
		_ = cmd.Wait()
		close(done)
		in.mu.Lock()
		if in.procs != nil {
			delete(in.procs, cmd)
		}
		in.mu.Unlock()
	}()
}

// stop closes the listener, then stops every session process (SIGTERM,
// bounded wait, SIGKILL) and waits for them, bounded.
func (in *inetd) stop() error {
	defer in.logFile.Close()
	in.ln.Close()
	select {
	case <-in.served:
	case <-time.After(stopTimeout):
		return fmt.Errorf("inetd accept loop did not end within %v", stopTimeout)
	}
	in.mu.Lock()
	procs := in.procs
	in.procs = nil
	in.mu.Unlock()
	signalAll := func(sig syscall.Signal) {
		for cmd := range procs {
			_ = syscall.Kill(-cmd.Process.Pid, sig)
		}
	}
	waitAll := func() bool {
		deadline := time.After(stopTimeout)
		for _, done := range procs {
			select {
			case <-done:
			case <-deadline:
				return false
			}
		}
		return true
	}
	signalAll(syscall.SIGTERM)
	if waitAll() {
		return nil
	}
	signalAll(syscall.SIGKILL)
	if !waitAll() {
		return fmt.Errorf("inetd children did not exit after SIGKILL within %v", stopTimeout)
	}
	return nil
}
