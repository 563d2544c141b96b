package loadgen_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"ftpbench/loadgen"
	"ftpbench/results"
	"ftpbench/sim"
)

// Faults survived, in the simulation and in virtual time (testing/synctest),
// so every wait can be checked to the nanosecond: each affected cycle is
// recorded with its outcome and ends exactly when its deadline says, the
// other user-PIs go on, a user-PI whose control connection died logs in
// again (the next cycle has the login phase), a failed connect is retried
// after a doubling backoff, no record is lost, and no goroutine outlives
// the run (synctest fails a bubble whose goroutines are left blocked;
// goleak checks what is left outside it).

const (
	faultLat     = time.Millisecond       // one-way latency of every link
	faultTimeout = 500 * time.Millisecond // the user-PIs' --timeout
	faultSize    = 64 << 10               // bytes per transfer
)

// faultSite is a simulated network with a server on server:21 that a test
// can kill (listener and every session closed, as when its process dies)
// and start again.
type faultSite struct {
	t      *testing.T
	n      *sim.Network
	client *sim.Host
	server *sim.Host
	knobs  sim.RaceKnobs

	mu   sync.Mutex
	srv  *sim.Server
	stop context.CancelFunc
	done chan struct{}
}

func newFaultSite(t *testing.T, knobs sim.RaceKnobs) *faultSite {
	t.Helper()
	n := sim.NewNetwork(sim.Config{Link: sim.Link{Latency: faultLat}})
	s := &faultSite{t: t, n: n, client: n.Host("client"), server: n.Host("server"), knobs: knobs}
	s.start()
	t.Cleanup(s.kill)
	return s
}

// start listens on server:21 and serves until kill.
func (s *faultSite) start() {
	s.t.Helper()
	ln, err := s.server.Listen(context.Background(), ":21")
	if err != nil {
		s.t.Fatal(err)
	}
	srv := sim.NewServer(sim.ServerConfig{Network: s.server, Anonymous: true, Timeout: time.Minute, Race: s.knobs})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ctx, ln); err != nil {
			s.t.Errorf("Serve: %v", err)
		}
	}()
	s.mu.Lock()
	s.srv, s.stop, s.done = srv, stop, done
	s.mu.Unlock()
}

// kill stops the server: its listener and every session close at once,
// and it returns once they have.
func (s *faultSite) kill() {
	s.mu.Lock()
	stop, done := s.stop, s.done
	s.stop = nil
	s.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// config is a run against the site: RETR of faultSize bytes, users
// user-PIs cycling through modes for d of virtual time.
func (s *faultSite) config(users int, d time.Duration, modes ...loadgen.Mode) loadgen.Config {
	return loadgen.Config{
		Network: s.client, Users: users, Duration: d, Timeout: faultTimeout, Modes: modes,
		Target: loadgen.Target{Addr: "server:21", User: "anonymous", Password: "x", Path: fmt.Sprintf("/size/%d", faultSize)},
	}
}

// faultRun runs cfg to its end and returns its records, after checking
// that none is lost: the seqs are 0…n-1, each once, and a summary of them
// counts n cycles.
func faultRun(t *testing.T, cfg loadgen.Config) []results.Record {
	t.Helper()
	ch, err := loadgen.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var recs []results.Record
	for r := range ch {
		recs = append(recs, r)
	}
	checkNothingLost(t, recs)
	return recs
}

// checkNothingLost: cycles started == records == cycles in the summary.
// Tickets are handed out in seq order, so seqs 0…n-1, each exactly once,
// mean every cycle that started has its record.
func checkNothingLost(t *testing.T, recs []results.Record) {
	t.Helper()
	seen := make([]bool, len(recs))
	sum := results.NewSummary()
	for i := range recs {
		r := &recs[i]
		if r.Seq < 0 || r.Seq >= int64(len(recs)) || seen[r.Seq] {
			t.Fatalf("seq %d out of 0..%d or recorded twice: a cycle was lost or doubled", r.Seq, len(recs)-1)
		}
		seen[r.Seq] = true
		sum.Add(r)
	}
	if got := sum.All().Cycles; got != int64(len(recs)) {
		t.Fatalf("summary counts %d cycles, %d records", got, len(recs))
	}
}

// checkLeaks makes the test fail if goroutines it started are still
// running once it and its cleanups are done (it must be called first, so
// that its cleanup runs last).
func checkLeaks(t *testing.T) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}

// connectFailure reports whether r is a failed connect or login: a cycle
// that never got as far as a logged-in control connection.
func connectFailure(r results.Record) bool {
	return r.Outcome != results.OK && !r.T.Has(results.Login) && !r.T.Has(results.SetupSent)
}

// byUser returns each user-PI's records in the order it ran them.
func byUser(recs []results.Record) map[int][]results.Record {
	m := make(map[int][]results.Record)
	for _, r := range recs {
		m[r.User] = append(m[r.User], r)
	}
	for _, rs := range m {
		slices.SortFunc(rs, func(a, b results.Record) int { return a.Start.Compare(b.Start) })
	}
	return m
}

// end is when a record's cycle finished.
func end(r results.Record) time.Time { return r.Start.Add(time.Duration(r.T[results.Done])) }

func describe(r results.Record) string {
	return fmt.Sprintf("seq %d (user %d, %s): %s code %d err %q phases %v", r.Seq, r.User, r.Mode, r.Outcome, r.Code, r.Err, r.T)
}

// TestFaultsMidSession: a server fault strikes a fifth of the transfers
// (seeded); each struck cycle gets the row's outcome, code and error and
// ends exactly `after` past phase `from` — a timeout, counted from the
// last read that started, never later; when the fault leaves the control
// connection unusable the user-PI's next cycle logs in again at once,
// otherwise it reuses the connection. Every other cycle succeeds, and
// every user-PI keeps cycling to the end of the run.
func TestFaultsMidSession(t *testing.T) {
	pasvPort := []loadgen.Mode{loadgen.ModePASV, loadgen.ModePORT}
	for _, tc := range []struct {
		name      string
		faults    string
		modes     []loadgen.Mode
		outcome   results.Outcome
		code      int
		err       string
		from      results.Phase
		after     time.Duration
		reconnect bool
	}{
		// The 150 came; then nothing: the final reply's read times out.
		{"hang", "hang=0.2", pasvPort, results.Timeout, 0, "RETR reply: read ", results.Prelim, faultTimeout, true},
		{"garbage-reply", "garbage-reply=0.2", pasvPort, results.ProtocolError, 0, `RETR reply: invalid response code: "22G Transfer complete."`, results.Prelim, 0, true},
		{"drop-control", "drop-control=0.2", pasvPort, results.Reset, 0, "RETR reply: EOF", results.Prelim, 0, true},
		// 24 bytes at 100 ms each take 2.3 s: the reply must be whole
		// within the timeout, however slowly it comes.
		{"trickle", "trickle:100ms=0.2", pasvPort, results.Timeout, 0, "RETR reply: ", results.Prelim, faultTimeout, true},
		// RFC 959: 421 "closing control connection" may answer any
		// command; the next cycle must log in again, not send PASV into a
		// closed connection.
		{"421", "421=0.2", pasvPort, results.ReplyError, 421, "RETR /size/65536: 421 Service not available", results.Prelim, 0, true},
		// RST on the data connection, 426 on the control one, which
		// stays usable.
		{"reset-mid-transfer", "reset-mid-transfer=0.2", pasvPort, results.ReplyError, 426, "RETR /size/65536: 426 Connection closed; transfer aborted.", results.Prelim, 0, false},
		// PORT: the server never connects nor replies; the user-DTP's
		// accept and the control read both give up after the timeout.
		{"data-connection-never-comes", "slow-accept:1h=0.2", []loadgen.Mode{loadgen.ModePORT}, results.Timeout, 0, "RETR reply: read ", results.CmdSent, faultTimeout, true},
		// PASV: the announced port never listens; the connect is refused
		// one round trip after the 227.
		{"passive-port-never-listens", "late-listen:1h=0.2", []loadgen.Mode{loadgen.ModePASV}, results.Refused, 0, "connect: connection refused", results.SetupReply, 2 * faultLat, false},
		{"refuse-data-port", "refuse-data=0.2", []loadgen.Mode{loadgen.ModePORT}, results.Refused, 425, "RETR /size/65536: 425 Failed to establish connection.", results.CmdSent, 2 * faultLat, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			synctest.Test(t, func(t *testing.T) {
				faults, err := sim.ParseFaults(tc.faults)
				if err != nil {
					t.Fatal(err)
				}
				site := newFaultSite(t, sim.RaceKnobs{Faults: faults, Seed: 1})
				const users, d = 4, 2 * time.Second
				start := time.Now()
				recs := faultRun(t, site.config(users, d, tc.modes...))
				// Nothing waits past the timeout: the run ends at most one
				// timeout (plus a login's round trips) after its duration.
				if over := time.Since(start) - d; over > faultTimeout+20*faultLat {
					t.Errorf("run ended %v after its duration, want at most %v", over, faultTimeout+20*faultLat)
				}
				errs := 0
				report := func(format string, args ...any) {
					if errs++; errs <= 5 {
						t.Errorf(format, args...)
					}
				}
				defer func() {
					if errs > 5 {
						t.Errorf("… and %d more", errs-5)
					}
				}()
				struck, ok := 0, 0
				for _, rs := range byUser(recs) {
					for i, r := range rs {
						if r.T[results.Done] > int64(faultTimeout+20*faultLat) {
							report("%s: took longer than the timeout", describe(r))
						}
						if r.Outcome == results.OK {
							ok++
							continue
						}
						struck++
						from, reached := r.T.Get(tc.from)
						got := time.Duration(r.T[results.Done]) - from
						if r.Outcome != tc.outcome || r.Code != tc.code || !strings.Contains(r.Err, tc.err) || !reached || got != tc.after {
							report("%s\nwant %s code %d, err containing %q, done %v after %s; got %v", describe(r), tc.outcome, tc.code, tc.err, tc.after, tc.from, got)
						}
						if i+1 == len(rs) {
							continue
						}
						next := rs[i+1]
						if next.T.Has(results.Login) != tc.reconnect {
							report("%s\nnext cycle %s: logged in again = %v, want %v", describe(r), describe(next), next.T.Has(results.Login), tc.reconnect)
						}
						if !next.Start.Equal(end(r)) {
							report("%s: next cycle started %v after it ended, want at once", describe(r), next.Start.Sub(end(r)))
						}
					}
					// The run goes on for every user-PI, struck or not: its
					// last cycle starts within one cycle of the end.
					if last := rs[len(rs)-1]; last.Start.Before(start.Add(d - faultTimeout - 20*faultLat)) {
						report("user %d stopped early: last cycle at %v of %v", last.User, last.Start.Sub(start), d)
					}
				}
				if struck == 0 || ok <= struck || len(byUser(recs)) != users {
					t.Errorf("%d cycles struck, %d ok, %d users: want some struck, more ok, all %d users", struck, ok, len(byUser(recs)), users)
				}
			})
		})
	}
}

// TestTrickleWithinTheTimeoutSucceeds: a final reply trickled one byte
// every 10 ms is whole 230 ms after its first byte, within the 500 ms
// timeout: the cycle succeeds, its final phase exactly that late.
func TestTrickleWithinTheTimeoutSucceeds(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		site := newFaultSite(t, sim.RaceKnobs{Faults: sim.FaultMix{{Fault: sim.Fault{Kind: sim.FaultTrickle, Delay: 10 * time.Millisecond}, P: 1}}})
		cfg := site.config(1, 0, loadgen.ModePASV)
		cfg.Cycles = 5
		for _, r := range faultRun(t, cfg) {
			gap, _ := r.T.Between(results.Prelim, results.Final)
			if r.Outcome != results.OK || gap != 23*10*time.Millisecond {
				t.Errorf("%s: final reply %v after the 150, want ok and 230ms", describe(r), gap)
			}
		}
	})
}

// backoffs is the user-PI's wait before each retry of a failed connect:
// doubling from 10 ms, at most 1 s.
func backoffs(n int) []time.Duration {
	var b []time.Duration
	d := time.Duration(0)
	for range n {
		d = min(max(2*d, 10*time.Millisecond), time.Second)
		b = append(b, d)
	}
	return b
}

// checkRetries checks a user-PI's run of failed connects: each has outcome
// and lasts exactly took, and the next attempt starts exactly one backoff
// after the previous one ended.
func checkRetries(t *testing.T, rs []results.Record, outcome results.Outcome, errText string, took time.Duration) {
	t.Helper()
	wait := backoffs(len(rs))
	for i, r := range rs {
		if r.Outcome != outcome || !strings.Contains(r.Err, errText) || time.Duration(r.T[results.Done]) != took {
			t.Errorf("%s: want %s with %q after %v", describe(r), outcome, errText, took)
		}
		if i > 0 {
			if gap := r.Start.Sub(end(rs[i-1])); gap != wait[i-1] {
				t.Errorf("attempt %d of user %d came %v after the last, want a backoff of %v", i, r.User, gap, wait[i-1])
			}
		}
	}
}

// TestConnectionRefusedAtStart: nothing listens on the server's port.
// Every attempt is refused one round trip after it starts and recorded as
// refused; the user-PI retries after 10 ms, 20 ms, 40 ms … up to 1 s, until
// the run's duration is over.
func TestConnectionRefusedAtStart(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		site := newFaultSite(t, sim.RaceKnobs{})
		site.kill()
		start := time.Now()
		recs := faultRun(t, site.config(3, 4*time.Second, loadgen.ModePASV))
		// 2 ms attempts after backoffs of 10, 20, … 640 ms, then 1 s:
		// starts at 0, 12, 34, 76, 158, 320, 642, 1284, 2286, 3288 ms:
		// 10 per user. The backoff after the last ends with the run's
		// duration: a user-PI waiting to retry has nothing left to do.
		for u, rs := range byUser(recs) {
			if len(rs) != 10 {
				t.Errorf("user %d: %d attempts in 4 s, want 10", u, len(rs))
			}
			checkRetries(t, rs, results.Refused, "connect server:21: dial tcp 127.0.0.2:21: connect: connection refused", 2*faultLat)
		}
		if len(recs) != 30 || time.Since(start) != 4*time.Second {
			t.Errorf("%d records, run took %v; want 30 and 4s", len(recs), time.Since(start))
		}
	})
}

// TestServerAcceptsAndNeverReplies: the server's port accepts connections
// and never sends a byte. Each attempt times out waiting for the greeting,
// exactly one timeout after the connect, and is retried with backoff.
func TestServerAcceptsAndNeverReplies(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		n := sim.NewNetwork(sim.Config{Link: sim.Link{Latency: faultLat}})
		ln, err := n.Host("server").Listen(context.Background(), ":21")
		if err != nil {
			t.Fatal(err)
		}
		var held []net.Conn
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				held = append(held, c)
			}
		}()
		start := time.Now()
		recs := faultRun(t, loadgen.Config{
			Network: n.Host("client"), Users: 2, Duration: 3 * time.Second, Timeout: faultTimeout,
			Target: loadgen.Target{Addr: "server:21", User: "anonymous", Password: "x", Path: "/f"},
		})
		ln.Close()
		<-done
		for _, c := range held {
			c.Close()
		}
		// Attempts start at 0, 512, 1034, 1576, 2158, 2820 ms; the last
		// ends at 3322 ms.
		for u, rs := range byUser(recs) {
			if len(rs) != 6 {
				t.Errorf("user %d: %d attempts, want 6", u, len(rs))
			}
			checkRetries(t, rs, results.Timeout, "greeting reply: read tcp", 2*faultLat+faultTimeout)
		}
		if took := time.Since(start); took != 3322*time.Millisecond {
			t.Errorf("run took %v, want 3.322s: its duration was over when the last attempt ended", took)
		}
	})
}

// TestServerKilledMidRun: at 1 s the server dies — its listener and every
// session close at once — and at 2 s it is back. For each user-PI: the
// cycles that ended before the kill succeeded; the cycle in flight (and a
// next one already begun on the dead control connection) ends within a
// round trip of the kill as reset, or refused when it was between PASV
// and the connect; then the connect is retried with backoff, each attempt
// refused, until one after the restart logs in; from then on every cycle
// succeeds on that connection.
func TestServerKilledMidRun(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		site := newFaultSite(t, sim.RaceKnobs{})
		start := time.Now()
		kill, back := start.Add(time.Second), start.Add(2*time.Second)
		time.AfterFunc(time.Second, site.kill)
		time.AfterFunc(2*time.Second, site.start)
		recs := faultRun(t, site.config(5, 4*time.Second, loadgen.ModePASV, loadgen.ModePORT))
		for u, rs := range byUser(recs) {
			i := 0
			for ; i < len(rs) && !end(rs[i]).After(kill); i++ {
				if rs[i].Outcome != results.OK {
					t.Errorf("%s: before the kill, want ok", describe(rs[i]))
				}
			}
			struck := i
			for ; i < len(rs) && !connectFailure(rs[i]); i++ {
				r := rs[i]
				if r.Outcome != results.Reset && r.Outcome != results.Refused || end(r).Sub(later(r.Start, kill)) > 2*faultLat {
					t.Errorf("%s: struck by the kill, want reset or refused within %v", describe(r), 2*faultLat)
				}
			}
			if i-struck < 1 || i-struck > 2 {
				t.Fatalf("user %d: %d cycles struck by the kill, want 1 or 2", u, i-struck)
			}
			retries := i
			for ; i < len(rs) && rs[i].Start.Before(back); i++ {
			}
			if n := i - retries; n < 5 || !rs[retries].Start.Equal(end(rs[retries-1])) {
				t.Errorf("user %d: %d connect attempts while the server was down, the first %v after the struck cycle; want at least 5, at once", u, n, rs[retries].Start.Sub(end(rs[retries-1])))
			}
			checkRetries(t, rs[retries:i], results.Refused, "connect server:21: dial tcp 127.0.0.2:21: connect: connection refused", 2*faultLat)
			if i == len(rs) {
				t.Fatalf("user %d: never logged in again", u)
			}
			r, n := rs[i], i-retries
			if r.Outcome != results.OK || !r.T.Has(results.Login) || r.Start.Sub(end(rs[i-1])) != backoffs(n)[n-1] {
				t.Errorf("%s: first cycle after the restart, %v after the last attempt; want ok with a login, after a backoff of %v", describe(r), r.Start.Sub(end(rs[i-1])), backoffs(n)[n-1])
			}
			for _, r := range rs[i+1:] {
				if r.Outcome != results.OK || r.T.Has(results.Login) {
					t.Errorf("%s: after the restart, want ok on the same control connection", describe(r))
				}
			}
		}
	})
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
