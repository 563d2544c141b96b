package loadgen_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"ftpbench/loadgen"
	"ftpbench/results"
	"ftpbench/sim"
)

// TestNothingLostUnderFaults: for every load model — closed, closed with
// user stages, open (a pacer, with cycles dropped when too many are in
// flight), login-only, cycles per login — against a server that strikes
// a third of the transfers with every fault, bounded by cycles, by
// duration and cancelled mid-run: cycles started == records == cycles in
// the summary (seqs 0…n-1, each once), and the run ends within one
// timeout of its end or cancellation.
func TestNothingLostUnderFaults(t *testing.T) {
	faults, err := sim.ParseFaults("hang=0.05,garbage-reply=0.05,drop-control=0.05,trickle:200ms=0.05,421=0.05," +
		"reset-mid-transfer=0.03,refuse-data=0.02,slow-accept:2s=0.02")
	if err != nil {
		t.Fatal(err)
	}
	models := []struct {
		name string
		cfg  loadgen.Config
	}{
		{"closed", loadgen.Config{Users: 6}},
		{"user-stages", loadgen.Config{Users: 1, UserStages: []loadgen.Stage{{Duration: time.Second, Target: 8}, {Duration: 2 * time.Second, Target: 2}}}},
		{"open", loadgen.Config{Users: 4, MaxInFlight: 6, Pacer: loadgen.ConstantPacer(200)}},
		{"open-ramp", loadgen.Config{Users: 6, Pacer: loadgen.StagesPacer{Start: 10, Stages: []loadgen.Stage{{Duration: 3 * time.Second, Target: 300}}}}},
		{"login-only", loadgen.Config{Users: 5, LoginOnly: true}},
		{"cycles-per-login", loadgen.Config{Users: 5, CyclesPerLogin: 3}},
	}
	bounds := []struct {
		name   string
		cycles int64
		dur    time.Duration
		cancel time.Duration
	}{
		{name: "cycles", cycles: 300},
		{name: "duration", dur: 2 * time.Second},
		{name: "cancelled", dur: time.Hour, cancel: 1500 * time.Millisecond},
	}
	for _, m := range models {
		for _, b := range bounds {
			if b.cycles > 0 && len(m.cfg.UserStages) > 0 {
				continue // user stages end the run by themselves
			}
			t.Run(m.name+"/"+b.name, func(t *testing.T) {
				checkLeaks(t)
				synctest.Test(t, func(t *testing.T) {
					site := newFaultSite(t, sim.RaceKnobs{Faults: faults, Seed: 7})
					cfg := site.config(m.cfg.Users, b.dur, loadgen.ModePASV, loadgen.ModePORT, loadgen.ModeEPSV)
					cfg.Cycles, cfg.UserStages, cfg.Pacer, cfg.MaxInFlight = b.cycles, m.cfg.UserStages, m.cfg.Pacer, m.cfg.MaxInFlight
					cfg.LoginOnly, cfg.CyclesPerLogin = m.cfg.LoginOnly, m.cfg.CyclesPerLogin
					if len(cfg.UserStages) > 0 && b.cancel == 0 {
						cfg.Duration = 0
					}
					ctx, cancel := context.WithCancel(t.Context())
					defer cancel()
					if b.cancel > 0 {
						time.AfterFunc(b.cancel, cancel)
					}
					start := time.Now()
					ch, err := loadgen.Run(ctx, cfg)
					if err != nil {
						t.Fatal(err)
					}
					var recs []results.Record
					for r := range ch {
						recs = append(recs, r)
					}
					took := time.Since(start)
					checkNothingLost(t, recs)
					byOutcome := map[results.Outcome]int{}
					for _, r := range recs {
						byOutcome[r.Outcome]++
					}
					// The run ends when its bound says, plus at most one
					// cycle (a timeout, a login's round trips) and the
					// longest connect backoff (1 s).
					end := map[bool]time.Duration{true: b.cancel, false: b.dur}[b.cancel > 0]
					if len(cfg.UserStages) > 0 && b.cancel == 0 {
						end = 3 * time.Second
					}
					if end > 0 && took > end+faultTimeout+time.Second+20*faultLat {
						t.Errorf("run took %v, bound %v", took, end)
					}
					switch {
					case b.cycles > 0 && int64(len(recs)) != b.cycles:
						t.Errorf("%d records, want %d", len(recs), b.cycles)
					case b.cancel > 0 && m.cfg.Pacer == nil && !m.cfg.LoginOnly && byOutcome[results.Canceled] == 0:
						t.Errorf("no cycle was cancelled mid-flight: %v", byOutcome)
					case byOutcome[results.OK] < (len(recs)-byOutcome[results.Dropped])/2:
						t.Errorf("outcomes %v: want most cycles that ran ok", byOutcome)
					}
				})
			})
		}
	}
}

// TestCancelDuringLogin: the server accepts and never sends its greeting;
// cancelling the run (Ctrl-C) ends the waiting logins at once, recorded
// as canceled, instead of after the timeout.
func TestCancelDuringLogin(t *testing.T) {
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		n := sim.NewNetwork(sim.Config{Link: sim.Link{Latency: faultLat}})
		ln, err := n.Host("server").Listen(context.Background(), ":21")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close() // its accept queue holds the connections; closing it resets them
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		const at = 100 * time.Millisecond
		time.AfterFunc(at, cancel)
		start := time.Now()
		ch, err := loadgen.Run(ctx, loadgen.Config{
			Network: n.Host("client"), Users: 3, Duration: time.Hour, Timeout: 10 * time.Second,
			Target: loadgen.Target{Addr: "server:21", User: "anonymous", Password: "x", Path: "/f"},
		})
		if err != nil {
			t.Fatal(err)
		}
		var recs []results.Record
		for r := range ch {
			recs = append(recs, r)
		}
		checkNothingLost(t, recs)
		if took := time.Since(start); took != at {
			t.Errorf("run ended %v after its start, want %v: at the cancel", took, at)
		}
		for _, r := range recs {
			if r.Outcome != results.Canceled {
				t.Errorf("%s: want canceled", describe(r))
			}
		}
	})
}
