package probe

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"ftpbench/loadgen"
	"ftpbench/sim"
)

// simProbe probes a simulated server (default data port on, links of 1ms
// and 10 MB/s, so that a 226 sent before the close is read before the
// EOF) in virtual time.
func simProbe(t *testing.T, srv sim.ServerConfig, fxp bool) *Report {
	t.Helper()
	srv.Anonymous, srv.DefaultDataPort, srv.Timeout = true, true, 10*time.Second
	tb, err := sim.StartTestbed(sim.TestbedConfig{
		Net:    sim.Config{Link: sim.Link{Latency: time.Millisecond, Bandwidth: 10 << 20}, ReuseAddr: true},
		Server: srv,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tb.Close() })
	target := loadgen.Target{Addr: tb.Addr, User: "anonymous", Password: "x", Path: "/size/65536"}
	cfg := Config{Network: tb.Client, Target: target, Timeout: time.Second, Transfers: 20}
	if fxp {
		cfg.FXPTarget = loadgen.Target{Addr: tb.Addr, User: "anonymous", Password: "x", Path: "/copy"}
	}
	start := time.Now()
	rep, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 25*time.Second {
		t.Errorf("probe took %v, more than its default budget", d)
	}
	return rep
}

// verdicts maps check IDs to verdicts; checks not named must PASS.
type verdicts map[string]Verdict

func checkVerdicts(t *testing.T, rep *Report, want verdicts) {
	t.Helper()
	if len(rep.Results) != len(checks) {
		t.Fatalf("%d results, want one per check (%d)", len(rep.Results), len(checks))
	}
	for _, r := range rep.Results {
		w, ok := want[r.ID]
		if !ok {
			w = Pass
		}
		if r.Verdict != w {
			t.Errorf("%s: %s (%s: %s), want %s", r.ID, r.Verdict, r.Note, r.Evidence, w)
		}
		if r.Note == "" || r.Evidence == "" {
			t.Errorf("%s: note %q, evidence %q: both must say something", r.ID, r.Note, r.Evidence)
		}
	}
}

func result(t *testing.T, rep *Report, id string) Result {
	t.Helper()
	for _, r := range rep.Results {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no result %q", id)
	return Result{}
}

// TestProbeCorrectServer: the simulated server ends transfers as §5.2
// says, implements the default data port from L-1 and refuses bounces, so
// every check passes; fxp is N/A without a second URL.
func TestProbeCorrectServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rep := simProbe(t, sim.ServerConfig{}, false)
		checkVerdicts(t, rep, verdicts{"fxp": NA})
		for id, want := range map[string]string{
			"default-from":   "connected from 127.0.0.2:20 to 127.0.0.1:",
			"close-then-226": "226 before EOF in 0 of 20 transfers",
			"bounce":         "PORT 127,0,0,3,",
			// The second RETR has no PORT or PASV: it goes to the default
			// data port, where nobody listens.
			"second-command": "replies: 226 Transfer complete. | 425 Failed to establish connection.; then NOOP: 200",
			"no-data-425":    "425 Failed to establish connection.",
		} {
			if ev := result(t, rep, id).Evidence; !strings.Contains(ev, want) {
				t.Errorf("%s evidence %q lacks %q", id, ev, want)
			}
		}
		if g := rep.Greeting; g != "ftpbench simulated server ready" {
			t.Errorf("greeting %q", g)
		}
	})
}

// TestProbeEndBehaviours: the end-of-transfer knobs of the simulated
// server, each caught by the checks it breaks.
func TestProbeEndBehaviours(t *testing.T) {
	for _, tc := range []struct {
		end  string
		want verdicts
	}{
		{"226-then-close", verdicts{"close-then-226": Fail}},
		{"226-before-flush", verdicts{"close-then-226": Fail}},
		{"delayed-close:500ms", verdicts{"close-then-226": Fail, "close-at-once": Fail}},
		// Half-closes at once (EOF), then waits for the client's close
		// before its 226, as proftpd does.
		{"226-after-client-close", verdicts{"226-while-open": Fail}},
	} {
		t.Run(tc.end, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				end, err := sim.ParseEndMix(tc.end)
				if err != nil {
					t.Fatal(err)
				}
				rep := simProbe(t, sim.ServerConfig{Race: sim.RaceKnobs{End: end}}, false)
				tc.want["fxp"] = NA
				checkVerdicts(t, rep, tc.want)
			})
		})
	}
}

// TestProbeMisbehavingServer: whatever a server does wrong — hang after
// the 150, trickle its replies a byte at a time, connect or listen too
// late, garble its replies — the probe ends within its budget with a line
// for every check, and some of them fail.
func TestProbeMisbehavingServer(t *testing.T) {
	for _, faults := range []string{"hang=1", "trickle:400ms=1", "slow-accept:1h=1", "late-listen:1h=1", "garbage-reply=1"} {
		t.Run(faults, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fm, err := sim.ParseFaults(faults)
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				rep := simProbe(t, sim.ServerConfig{Race: sim.RaceKnobs{Faults: fm}}, false)
				if d := time.Since(start); d > 26*time.Second || rep.Elapsed > 26*time.Second {
					t.Errorf("probe took %v (report: %v); budget 25s", d, rep.Elapsed)
				}
				if len(rep.Results) != len(checks) {
					t.Fatalf("%d results", len(rep.Results))
				}
				fails := 0
				for _, r := range rep.Results {
					if r.Verdict == Fail {
						fails++
					}
					if r.Note == "" || r.Evidence == "" {
						t.Errorf("%s: empty note or evidence", r.ID)
					}
				}
				if fails == 0 || testing.Verbose() {
					var b strings.Builder
					rep.WriteText(&b)
					t.Logf("%d checks failed:\n%s", fails, b.String())
				}
				if fails == 0 {
					t.Error("no check failed against a faulty server")
				}
			})
		})
	}
}

// TestProbeFXP copies between two sessions of a simulated server with
// AllowFXP (server to itself: a valid Figure 3); AllowFXP also lets a
// third-party PORT through, which the bounce check reports.
func TestProbeFXP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rep := simProbe(t, sim.ServerConfig{AllowFXP: true}, true)
		checkVerdicts(t, rep, verdicts{"bounce": Fail})
		if ev := result(t, rep, "fxp").Evidence; !strings.Contains(ev, "65536 bytes, final reply 226") {
			t.Errorf("fxp evidence %q", ev)
		}
	})
}
