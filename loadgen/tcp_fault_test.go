package loadgen_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ftpbench/internal/ftptest"
	"ftpbench/loadgen"
	"ftpbench/results"
	"ftpbench/sim"
)

// The faults again over real sockets on loopback, in wall-clock time:
// durations are checked against bounds (a timeout, plus slack for a busy
// machine) instead of to the nanosecond.

// tcpSlack is how much later than its deadline a wall-clock wait may end
// on a loaded CI machine.
const tcpSlack = 500 * time.Millisecond

// serveTCP runs a simulated server with knobs on a fresh 127.0.0.1 port
// until the test ends and returns its address.
func serveTCP(t *testing.T, knobs sim.RaceKnobs) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := sim.NewServer(sim.ServerConfig{Anonymous: true, Timeout: 5 * time.Second, Race: knobs})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// TestFaultsOverTCP: the server faults of TestFaultsMidSession on real
// sockets. Each struck cycle has the row's outcome and ends within
// [min, max] after phase from; the user-PI logs in again where the
// control connection died; every cycle is recorded.
func TestFaultsOverTCP(t *testing.T) {
	const timeout = 300 * time.Millisecond
	for _, tc := range []struct {
		name, faults string
		outcome      results.Outcome
		code         int
		err          string
		from         results.Phase
		min          time.Duration
		reconnect    bool
	}{
		{"hang", "hang=0.25", results.Timeout, 0, "RETR reply: ", results.Prelim, timeout, true},
		{"garbage-reply", "garbage-reply=0.25", results.ProtocolError, 0, `invalid response code: "22G Transfer complete."`, results.Prelim, 0, true},
		{"drop-control", "drop-control=0.25", results.Reset, 0, "RETR reply: ", results.Prelim, 0, true},
		{"trickle", "trickle:100ms=0.25", results.Timeout, 0, "RETR reply: ", results.Prelim, timeout, true},
		{"421", "421=0.25", results.ReplyError, 421, "421 Service not available", results.Prelim, 0, true},
		{"reset-mid-transfer", "reset-mid-transfer=0.25", results.ReplyError, 426, "426 Connection closed; transfer aborted.", results.Prelim, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			faults, err := sim.ParseFaults(tc.faults)
			if err != nil {
				t.Fatal(err)
			}
			addr := serveTCP(t, sim.RaceKnobs{Faults: faults, Seed: 2})
			recs := faultRun(t, loadgen.Config{
				Network: loadgen.TCP{}, Users: 3, Cycles: 60, Timeout: timeout,
				Modes:  []loadgen.Mode{loadgen.ModePASV, loadgen.ModePORT},
				Target: loadgen.Target{Addr: addr, User: "anonymous", Password: "x", Path: "/size/100000"},
			})
			struck := 0
			for _, rs := range byUser(recs) {
				for i, r := range rs {
					if r.Outcome == results.OK {
						continue
					}
					struck++
					from, _ := r.T.Get(tc.from)
					took := time.Duration(r.T[results.Done]) - from
					if r.Outcome != tc.outcome || r.Code != tc.code || !strings.Contains(r.Err, tc.err) || took < tc.min || took > tc.min+tcpSlack {
						t.Errorf("%s\nwant %s code %d, err containing %q, done %v (+%v) after %s; got %v", describe(r), tc.outcome, tc.code, tc.err, tc.min, tcpSlack, tc.from, took)
					}
					if i+1 < len(rs) && rs[i+1].T.Has(results.Login) != tc.reconnect {
						t.Errorf("%s: next cycle logged in again: %v, want %v", describe(r), rs[i+1].T.Has(results.Login), tc.reconnect)
					}
				}
			}
			if struck == 0 || struck == len(recs) {
				t.Errorf("%d of %d cycles struck, want some but not all", struck, len(recs))
			}
		})
	}
}

// TestConnectionRefusedOverTCP: nothing listens on the port; every
// attempt is refused and retried after a doubling backoff.
func TestConnectionRefusedOverTCP(t *testing.T) {
	checkLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	recs := faultRun(t, loadgen.Config{
		Network: loadgen.TCP{}, Users: 2, Duration: 600 * time.Millisecond, Timeout: time.Second,
		Target: loadgen.Target{Addr: addr, User: "anonymous", Password: "x", Path: "/f"},
	})
	for u, rs := range byUser(recs) {
		wait := backoffs(len(rs))
		for i, r := range rs {
			if r.Outcome != results.Refused || !strings.Contains(r.Err, "connection refused") || time.Duration(r.T[results.Done]) > tcpSlack {
				t.Errorf("%s: want refused at once", describe(r))
			}
			if i == 0 {
				continue
			}
			if gap := r.Start.Sub(end(rs[i-1])); gap < wait[i-1] || gap > wait[i-1]+tcpSlack {
				t.Errorf("user %d attempt %d: %v after the last, want a backoff of %v", u, i, gap, wait[i-1])
			}
		}
		if len(rs) < 4 {
			t.Errorf("user %d: %d attempts in 600 ms, want at least 4", u, len(rs))
		}
	}
}

// TestServerAcceptsAndNeverRepliesOverTCP: a port that accepts and never
// sends the greeting; each attempt times out one timeout after the
// connect.
func TestServerAcceptsAndNeverRepliesOverTCP(t *testing.T) {
	checkLeaks(t)
	const timeout = 200 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	recs := faultRun(t, loadgen.Config{
		Network: loadgen.TCP{}, Users: 2, Duration: time.Second, Timeout: timeout,
		Target: loadgen.Target{Addr: ln.Addr().String(), User: "anonymous", Password: "x", Path: "/f"},
	})
	ln.Close()
	<-done
	for _, c := range held {
		c.Close()
	}
	for _, r := range recs {
		took := time.Duration(r.T[results.Done])
		if r.Outcome != results.Timeout || !strings.Contains(r.Err, "greeting reply: ") || took < timeout || took > timeout+tcpSlack {
			t.Errorf("%s: want a timeout of the greeting after %v", describe(r), timeout)
		}
	}
	if len(recs) < 4 {
		t.Errorf("%d attempts, want at least 4", len(recs))
	}
}

// TestServerProcessKilled runs against a real server, pyftpdlib (one
// process: killing it closes every session), and SIGKILLs it mid-run.
// The cycles that ended before are ok; the ones in flight end at once as
// reset (or refused); then every connect is refused and retried with a
// doubling backoff; no cycle waits for a timeout.
func TestServerProcessKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("real servers: skipped in -short mode")
	}
	srv := ftptest.Start(t, ftptest.Pyftpdlib, ftptest.Options{Files: map[string]int64{"f.bin": 200_000}})
	ch, err := loadgen.Run(t.Context(), loadgen.Config{
		Network: loadgen.TCP{}, Users: 4, Duration: 3 * time.Second, Timeout: 5 * time.Second,
		Modes:  []loadgen.Mode{loadgen.ModePASV, loadgen.ModeEPSV},
		Target: loadgen.Target{Addr: srv.Addr, User: srv.User, Password: srv.Password, Path: "/f.bin"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var recs []results.Record
	var killed time.Time
	for r := range ch {
		recs = append(recs, r)
		if killed.IsZero() && len(recs) == 20 {
			if err := syscall.Kill(srv.PID, syscall.SIGKILL); err != nil {
				t.Fatalf("kill %s (pid %d): %v", srv.Name, srv.PID, err)
			}
			killed = time.Now()
		}
	}
	if killed.IsZero() {
		t.Fatalf("only %d cycles in the run: the server was never killed", len(recs))
	}
	checkNothingLost(t, recs)
	for u, rs := range byUser(recs) {
		var retries []results.Record
		for _, r := range rs {
			switch {
			case !end(r).After(killed):
				if r.Outcome != results.OK {
					t.Errorf("%s: before the kill, want ok", describe(r))
				}
			case connectFailure(r):
				// Refused; or reset when the connect raced the kernel's
				// teardown of the dead process's sockets.
				retries = append(retries, r)
				if r.Outcome != results.Refused && r.Outcome != results.Reset || time.Duration(r.T[results.Done]) > tcpSlack {
					t.Errorf("%s: connect after the kill, want refused (or reset) at once", describe(r))
				}
			default: // in flight at the kill: it may even have ended well before the process died
				if r.Outcome != results.Reset && r.Outcome != results.Refused && r.Outcome != results.OK || end(r).Sub(later(r.Start, killed)) > tcpSlack {
					t.Errorf("%s: in flight at the kill, want reset or refused at once", describe(r))
				}
			}
		}
		if len(retries) < 3 {
			t.Errorf("user %d: %d connect attempts after the kill, want at least 3", u, len(retries))
		}
		wait := backoffs(len(retries))
		for i := 1; i < len(retries); i++ {
			if gap := retries[i].Start.Sub(end(retries[i-1])); gap < wait[i-1] || gap > wait[i-1]+tcpSlack {
				t.Errorf("user %d retry %d: %v after the last, want a backoff of %v", u, i, gap, wait[i-1])
			}
		}
	}
}

// fdChildEnv makes the test binary, re-executed by
// TestFileDescriptorExhaustion, run the child's side.
const fdChildEnv = "FTPBENCH_FD_EXHAUSTION_CHILD"

// fdReport is what the child reports on stdout, on a line of its own
// after fdReportPrefix.
type fdReport struct {
	Records  int
	Outcomes map[results.Outcome]int
	EMFILE   int      // failed cycles whose error says "too many open files"
	Errors   []string // a few error texts
	TookMS   int64
}

const fdReportPrefix = "FDREPORT "

// TestFileDescriptorExhaustion runs a server and a load far too large for
// the process's file descriptors: the test binary re-executes itself with
// RLIMIT_NOFILE at what it holds plus 16, where a simulated server on
// loopback and 6 user-PIs share them — their control connections take 13,
// leaving 3 for data connections and listeners. Dials, listens and
// accepts fail with EMFILE; the process must neither crash nor hang,
// every cycle must be recorded (faultRun checks the seqs in the child),
// and the failures must say what ran out, without calling it a protocol
// error.
func TestFileDescriptorExhaustion(t *testing.T) {
	if os.Getenv(fdChildEnv) == "1" {
		fdChild(t)
		return
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestFileDescriptorExhaustion$", "-test.count=1")
	cmd.Env = append(os.Environ(), fdChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var rep fdReport
	for _, line := range strings.Split(string(out), "\n") {
		if s, ok := strings.CutPrefix(line, fdReportPrefix); ok {
			if err := json.Unmarshal([]byte(s), &rep); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("child: %d records in %d ms, outcomes %v, %d EMFILE; e.g. %q", rep.Records, rep.TookMS, rep.Outcomes, rep.EMFILE, rep.Errors)
	if rep.Records == 0 || rep.EMFILE == 0 {
		t.Errorf("want cycles failed with EMFILE:\n%s", out)
	}
	// 2 s of cycles, then at most one 500 ms timeout.
	if rep.TookMS > 2500+tcpSlack.Milliseconds() {
		t.Errorf("the run took %d ms, want at most %d", rep.TookMS, 2500+tcpSlack.Milliseconds())
	}
	// EMFILE is the load generator's own limit, not a server reply: it
	// must not be filed as a protocol error.
	if n := rep.Outcomes[results.ProtocolError]; n > 0 {
		t.Errorf("%d cycles failed for want of descriptors are recorded as protocol-error", n)
	}
}

// fdChild is the child of TestFileDescriptorExhaustion.
func fdChild(t *testing.T) {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	lim := syscall.Rlimit{Cur: uint64(len(fds) + 16), Max: uint64(len(fds) + 16)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("setrlimit: %v", err)
	}
	addr := serveTCP(t, sim.RaceKnobs{})
	start := time.Now()
	recs := faultRun(t, loadgen.Config{
		Network: loadgen.TCP{}, Users: 6, Duration: 2 * time.Second, Timeout: 500 * time.Millisecond,
		Modes:  []loadgen.Mode{loadgen.ModePASV, loadgen.ModePORT},
		Target: loadgen.Target{Addr: addr, User: "anonymous", Password: "x", Path: "/size/100000"},
	})
	rep := fdReport{Records: len(recs), Outcomes: map[results.Outcome]int{}, TookMS: time.Since(start).Milliseconds()}
	for _, r := range recs {
		rep.Outcomes[r.Outcome]++
		if strings.Contains(r.Err, "too many open files") {
			rep.EMFILE++
			if len(rep.Errors) < 3 {
				rep.Errors = append(rep.Errors, r.Err)
			}
		}
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("\n%s%s\n", fdReportPrefix, b)
}
