package ftptest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Stopping a server process tree completely.
//
// A server is started as the leader of its own process group, but its
// session processes may leave the group: vsftpd's call setsid(), so a
// signal to the group alone leaves live vsftpd sessions behind. The members
// of a server are therefore the processes of its group plus those running
// the server's binary with the instance's unique config directory in their
// command line, and stop signals all of them. (Orphaned zombies are reaped
// by PID 1 here, if lazily.)

// procInfo is what /proc/PID/stat says about a process.
type procInfo struct {
	pid, ppid, pgid int
	zombie          bool
}

func readProcStat(pid int) (procInfo, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procInfo{}, err
	}
	// pid (comm) state ppid pgrp ...; comm may contain spaces and ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procInfo{}, errors.New("bad stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 3 {
		return procInfo{}, errors.New("bad stat")
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgid, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil {
		return procInfo{}, errors.New("bad stat")
	}
	return procInfo{pid: pid, ppid: ppid, pgid: pgid, zombie: f[0] == "Z" || f[0] == "X"}, nil
}

// members lists the processes belonging to the server led by leader:
// group members, plus processes whose executable is exe and whose command
// line contains marker. Zombies included.
func members(leader int, exe, marker string) []procInfo {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []procInfo
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		pi, err := readProcStat(pid)
		if err != nil {
			continue
		}
		if pi.pgid == leader {
			out = append(out, pi)
			continue
		}
		if exe == "" || marker == "" || pi.zombie {
			continue
		}
		if link, err := os.Readlink("/proc/" + e.Name() + "/exe"); err != nil || link != exe {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Contains(cmdline, []byte(marker)) {
			out = append(out, pi)
		}
	}
	return out
}

// resolveExe returns the path /proc/PID/exe will show for program p.
func resolveExe(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		if a, err := filepath.Abs(r); err == nil {
			return a
		}
	}
	return p
}

// stopTree stops the server led by p: SIGTERM to every member, a bounded
// wait for the leader, then SIGKILL to every member still alive until none
// is (bounded), and a bounded wait for os/exec's Wait of the leader.
func (p *proc) stopTree() error {
	leader := p.pid()
	signalAll := func(sig syscall.Signal) (alive int) {
		for _, m := range members(leader, p.exe, p.marker) {
			if !m.zombie {
				alive++
				_ = syscall.Kill(m.pid, sig)
			}
		}
		return alive
	}
	_ = syscall.Kill(-leader, syscall.SIGTERM)
	signalAll(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
	}
	deadline := time.Now().Add(stopTimeout)
	for signalAll(syscall.SIGKILL) > 0 {
		if !time.Now().Before(deadline) {
			return fmt.Errorf("server processes of %d still alive %v after SIGKILL", leader, stopTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		return fmt.Errorf("process %d did not exit after SIGKILL within %v", leader, stopTimeout)
	}
	return nil
}

// Child processes get Pdeathsig SIGKILL as a safety net, so that servers
// die with a crashed or timed-out test binary. Linux sends it when the
// *thread* that forked the child exits, and the Go runtime may end threads
// (a goroutine exiting while locked to its thread). So children are
// started from one goroutine locked to its thread for the life of the
// process.
var (
	spawnOnce sync.Once
	spawnCh   chan func()
)

func startLocked(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnCh = make(chan func())
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives on
			for f := range spawnCh {
				f()
			}
		}()
	})
	errc := make(chan error, 1)
	spawnCh <- func() { errc <- cmd.Start() }
	return <-errc
}

// A watchdog is a tiny shell outside the server's process group that waits
// for EOF on a pipe whose write end only the test process holds. If the
// test binary dies without stopping the server (a crash, a -timeout
// panic), the kernel closes that end and the watchdog kills the server's
// process group and removes its temp dir. Pdeathsig alone is not enough:
// the kernel clears it when a process changes its effective uid, as the
// proftpd master does.
type watchdog struct {
	w    *os.File
	cmd  *exec.Cmd
	done chan struct{}
}

const watchdogScript = `read -r _
kill -s TERM -- "-$1" 2>/dev/null
sleep 1
kill -s KILL -- "-$1" 2>/dev/null
rm -rf -- "$2"
`

func startWatchdog(pgid int, dir string) (*watchdog, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command("/bin/sh", "-c", watchdogScript, "ftptest-watchdog", strconv.Itoa(pgid), dir)
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, err
	}
	wd := &watchdog{w: w, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(wd.done)
	}()
	return wd, nil
}

// cancel ends the watchdog without it doing anything (normal stop).
func (wd *watchdog) cancel() {
	if wd == nil {
		return
	}
	_ = wd.cmd.Process.Kill()
	select {
	case <-wd.done:
	case <-time.After(stopTimeout):
	}
	wd.w.Close()
}
