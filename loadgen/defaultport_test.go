package loadgen_test

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"ftpbench/loadgen"
	"ftpbench/results"
	"ftpbench/sim"
)

// phaseWant maps phases to their expected offsets; phases not in it must
// not be reached.
type phaseWant map[results.Phase]time.Duration

// checkPhases compares every phase of r with want.
func checkPhases(t *testing.T, r results.Record, want phaseWant) {
	t.Helper()
	for p := results.Phase(0); p < results.NumPhases; p++ {
		got, reached := r.T.Get(p)
		w, ok := want[p]
		switch {
		case ok && !reached:
			t.Errorf("seq %d: phase %s never reached, want %v", r.Seq, p, w)
		case !ok && reached:
			t.Errorf("seq %d: phase %s at %v, want it unreached", r.Seq, p, got)
		case ok && got != w:
			t.Errorf("seq %d: phase %s at %v, want %v", r.Seq, p, got, w)
		}
	}
}

// TestDefaultDataPortCycles runs default data port cycles (RFC 959 §3.2)
// against the simulated server in virtual time, links of one-way latency
// L. The user-DTP listens on the control connection's port U and sends
// RETR/STOR at 0; the command reaches the server at L, whose connect from
// port 20 (L-1) reaches the listener at 2L and returns at 3L; then 150,
// the data and its FIN, and 226 arrive at 4L. STOR writes as soon as the
// connection is accepted, at 2L.
func TestDefaultDataPortCycles(t *testing.T) {
	const L = 10 * time.Millisecond
	const size = 64 << 10
	for _, tc := range []struct {
		op   loadgen.Op
		want phaseWant
	}{
		{loadgen.OpRETR, phaseWant{results.SetupSent: 0, results.CmdSent: 0, results.DataOpen: 2 * L,
			results.Prelim: 4 * L, results.FirstByte: 4 * L, results.EOF: 4 * L, results.Final: 4 * L, results.Done: 4 * L}},
		{loadgen.OpSTOR, phaseWant{results.SetupSent: 0, results.CmdSent: 0, results.DataOpen: 2 * L,
			results.FirstByte: 2 * L, results.EOF: 2 * L, results.Prelim: 4 * L, results.Final: 4 * L, results.Done: 4 * L}},
	} {
		t.Run(string(tc.op), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tb, err := sim.StartTestbed(sim.TestbedConfig{
					Net:    sim.Config{Link: sim.Link{Latency: L}, ReuseAddr: true},
					Server: sim.ServerConfig{Anonymous: true, DefaultDataPort: true, Timeout: 5 * time.Second},
				})
				if err != nil {
					t.Fatal(err)
				}
				defer tb.Close()
				recs := collect(t, mustRun(t, loadgen.Config{
					Network: tb.Client, Target: loadgen.Target{Addr: tb.Addr, User: "anonymous", Password: "x", Path: "/size/65536"},
					Modes: []loadgen.Mode{loadgen.ModeDefault}, Op: tc.op, Size: size, Cycles: 3, Timeout: time.Second,
				}))
				if len(recs) != 3 {
					t.Fatalf("%d records, want 3", len(recs))
				}
				for i, r := range recs {
					if r.Outcome != results.OK || r.Bytes != size || r.Code != 226 || r.Mode != "default" {
						t.Fatalf("seq %d: %s %q, %d bytes, code %d, mode %s", r.Seq, r.Outcome, r.Err, r.Bytes, r.Code, r.Mode)
					}
					want := tc.want
					if i == 0 { // the first cycle starts with the connect and login
						want = shifted(tc.want, time.Duration(r.T[results.Login]))
					}
					checkPhases(t, r, want)
				}
			})
		})
	}
}

// shifted moves every phase of w but login by d, and login to d.
func shifted(w phaseWant, d time.Duration) phaseWant {
	c := make(phaseWant, len(w))
	for k, v := range w {
		c[k] = v + d
	}
	c[results.Login] = d
	return c
}

func mustRun(t *testing.T, cfg loadgen.Config) <-chan results.Record {
	t.Helper()
	ch, err := loadgen.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// TestDefaultDataPortFailures checks that a default data port cycle ends
// with a precise outcome and the evidence in err, never a hang: a server
// without the default port answers 425; one that says 150 and never
// connects is a timeout naming the address nobody connected to; and a
// network that cannot share the control port fails at the listen.
func TestDefaultDataPortFailures(t *testing.T) {
	for _, tc := range []struct {
		name        string
		reuse       bool
		server      sim.ServerConfig
		outcome     results.Outcome
		code        int
		errContains []string
	}{
		{name: "server without default port", reuse: true,
			outcome: results.Refused, code: 425, errContains: []string{"RETR /size/1000: 425 Use PORT or PASV first."}},
		{name: "server silent, connects too late", reuse: true,
			server:  sim.ServerConfig{DefaultDataPort: true, Race: sim.RaceKnobs{Faults: mustFaults(t, "slow-accept:1h=1")}},
			outcome: results.Timeout, errContains: []string{"RETR reply: ", "i/o timeout (data: no data connection to 127.0.0.1:", "within 1s"}},
		{name: "no SO_REUSEADDR", reuse: false, server: sim.ServerConfig{DefaultDataPort: true},
			outcome: results.ProtocolError, errContains: []string{"user-DTP listen on the control connection's port 127.0.0.1:", "address already in use"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tc.server.Anonymous, tc.server.Timeout = true, time.Hour
				tb, err := sim.StartTestbed(sim.TestbedConfig{
					Net:    sim.Config{Link: sim.Link{Latency: time.Millisecond}, ReuseAddr: tc.reuse},
					Server: tc.server,
				})
				if err != nil {
					t.Fatal(err)
				}
				defer tb.Close()
				start := time.Now()
				recs := collect(t, mustRun(t, loadgen.Config{
					Network: tb.Client, Target: loadgen.Target{Addr: tb.Addr, User: "anonymous", Password: "x", Path: "/size/1000"},
					Modes: []loadgen.Mode{loadgen.ModeDefault}, Cycles: 1, Timeout: time.Second,
				}))
				if len(recs) != 1 {
					t.Fatalf("%d records", len(recs))
				}
				r := recs[0]
				if r.Outcome != tc.outcome || r.Code != tc.code {
					t.Errorf("outcome %s code %d, want %s %d (err %q)", r.Outcome, r.Code, tc.outcome, tc.code, r.Err)
				}
				for _, s := range tc.errContains {
					if !strings.Contains(r.Err, s) {
						t.Errorf("err %q lacks %q", r.Err, s)
					}
				}
				if d := time.Since(start); d > 3*time.Second {
					t.Errorf("took %v of virtual time; every wait is bounded by the 1s timeout", d)
				}
			})
		})
	}
}

func mustFaults(t *testing.T, s string) sim.FaultMix {
	t.Helper()
	f, err := sim.ParseFaults(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
