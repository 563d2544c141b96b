package loadgen_test

import (
	"testing"
	"testing/synctest"
	"time"

	"ftpbench/loadgen"
	"ftpbench/results"
	"ftpbench/sim"
)

// simRun runs cfg against a fresh simulated testbed inside the current
// synctest bubble and returns the records.
func simRun(t *testing.T, link sim.Link, knobs sim.RaceKnobs, cfg loadgen.Config) []results.Record {
	t.Helper()
	tb, err := sim.StartTestbed(sim.TestbedConfig{
		Net:    sim.Config{Link: link, Backlog: 1024},
		Server: sim.ServerConfig{Anonymous: true, Timeout: time.Minute, Race: knobs},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	cfg.Network = tb.Client
	if cfg.Target.Path == "" {
		cfg.Target = loadgen.Target{Addr: tb.Addr, User: "anonymous", Password: "x", Path: "/size/1000"}
	}
	ch, err := loadgen.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return collect(t, ch)
}

// TestOpenModelArrivals: a constant pacer of 100/s for 2 s starts exactly
// 200 cycles, each due 10 ms after the last, and with idle user-PIs every
// one starts when due.
func TestOpenModelArrivals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		recs := simRun(t, sim.Link{Latency: time.Millisecond}, sim.RaceKnobs{}, loadgen.Config{
			Users: 10, Pacer: loadgen.ConstantPacer(100), Duration: 2 * time.Second, Timeout: time.Second,
		})
		if len(recs) != 200 {
			t.Fatalf("%d records, want 200", len(recs))
		}
		perSecond := [2]int{}
		for _, r := range recs {
			want := start.Add(time.Duration(r.Seq) * 10 * time.Millisecond)
			if r.Outcome != results.OK || !r.Intended.Equal(want) || !r.Start.Equal(r.Intended) {
				t.Fatalf("seq %d: %s, intended %v (want %v), start %v", r.Seq, r.Outcome, r.Intended.Sub(start), want.Sub(start), r.Start.Sub(start))
			}
			perSecond[r.Intended.Sub(start)/time.Second]++
		}
		if perSecond != [2]int{100, 100} {
			t.Errorf("arrivals per second %v, want [100 100]", perSecond)
		}
	})
}

// TestOpenModelStallShowsInIntendedTime: one user-PI, cycles due every
// 10 ms, and a server that now and then takes 200 ms to accept the data
// connection. The cycles due during a stall wait for the user-PI: their
// start is later than their intended time by the rest of the stall, so
// the stall shows in every one of them, not only in the slow cycle.
func TestOpenModelStallShowsInIntendedTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		faults, err := sim.ParseFaults("slow-accept:200ms=0.05")
		if err != nil {
			t.Fatal(err)
		}
		recs := simRun(t, sim.Link{Latency: 100 * time.Microsecond}, sim.RaceKnobs{Faults: faults, Seed: 4}, loadgen.Config{
			Users: 1, MaxInFlight: 1000, Pacer: loadgen.ConstantPacer(100), Cycles: 300, Timeout: time.Second,
		})
		if len(recs) != 300 {
			t.Fatalf("%d records, want 300", len(recs))
		}
		var slow, waited int
		var maxWait time.Duration
		for i, r := range recs {
			if r.Outcome != results.OK {
				t.Fatalf("seq %d: %s %s", r.Seq, r.Outcome, r.Err)
			}
			cycle, _ := r.CycleTime()
			if cycle >= 200*time.Millisecond {
				slow++
				// Every cycle due before this one ended waited for it.
				end := r.End()
				for _, next := range recs[i+1:] {
					if !next.Intended.Before(end) {
						break
					}
					if wait := next.Start.Sub(next.Intended); wait <= 0 {
						t.Errorf("seq %d was due %v before seq %d ended but did not wait", next.Seq, end.Sub(next.Intended), r.Seq)
					}
				}
			}
			if wait := r.Start.Sub(r.Intended); wait > 0 {
				waited++
				maxWait = max(maxWait, wait)
			}
		}
		if slow == 0 || waited < 10*slow || maxWait < 190*time.Millisecond {
			t.Errorf("%d slow cycles, %d cycles waited, longest wait %v", slow, waited, maxWait)
		}
	})
}

// TestOpenModelMaxInFlight: cycles due while MaxInFlight are waiting or
// running are dropped, each still with its own record.
func TestOpenModelMaxInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		recs := simRun(t, sim.Link{Latency: 5 * time.Millisecond}, sim.RaceKnobs{}, loadgen.Config{
			Users: 1, MaxInFlight: 2, Pacer: loadgen.ConstantPacer(1000), Cycles: 500, Timeout: time.Second,
		})
		if len(recs) != 500 {
			t.Fatalf("%d records, want 500", len(recs))
		}
		count := map[results.Outcome]int{}
		for _, r := range recs {
			count[r.Outcome]++
		}
		// A cycle takes 30 ms (6 one-way trips) plus 10 ms of login for the
		// first: about 500 ms for 500 due cycles → about 17 run, 2 in flight.
		if count[results.OK]+count[results.Dropped] != 500 || count[results.OK] < 10 || count[results.OK] > 30 {
			t.Errorf("outcomes %v", count)
		}
	})
}

// TestUserStages: 0 → 10 users over 1 s, hold 1 s, back to 0 over 1 s.
func TestUserStages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		recs := simRun(t, sim.Link{Latency: time.Millisecond}, sim.RaceKnobs{}, loadgen.Config{
			Users:      0,
			UserStages: []loadgen.Stage{{time.Second, 10}, {time.Second, 10}, {time.Second, 0}},
			Think:      50 * time.Millisecond, Timeout: time.Second,
		})
		users := func(from, to time.Duration) int {
			seen := map[int]bool{}
			for _, r := range recs {
				if at := r.Start.Sub(start); at >= from && at < to {
					seen[r.User] = true
				}
			}
			return len(seen)
		}
		for _, tc := range []struct {
			from, to time.Duration
			lo, hi   int
		}{
			{0, 250 * time.Millisecond, 1, 3},
			{1200 * time.Millisecond, 1800 * time.Millisecond, 10, 10},
			{2800 * time.Millisecond, 3 * time.Second, 0, 2},
			{3 * time.Second, time.Hour, 0, 0},
		} {
			if n := users(tc.from, tc.to); n < tc.lo || n > tc.hi {
				t.Errorf("%d users active in [%v, %v), want %d..%d", n, tc.from, tc.to, tc.lo, tc.hi)
			}
		}
	})
}

// TestCyclesPerLoginAndLoginOnly: with K=3 the user-PI logs in again
// every third cycle, and those cycles carry the login phase; login-only
// cycles are nothing but a login (connect plus four round trips).
func TestCyclesPerLoginAndLoginOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const L = time.Millisecond
		recs := simRun(t, sim.Link{Latency: L}, sim.RaceKnobs{}, loadgen.Config{Users: 1, Cycles: 9, CyclesPerLogin: 3, Timeout: time.Second})
		for _, r := range recs {
			if got, want := r.T.Has(results.Login), r.Seq%3 == 0; got != want || r.Outcome != results.OK {
				t.Errorf("seq %d: login phase %v, want %v (%s)", r.Seq, got, want, r.Outcome)
			}
		}
		recs = simRun(t, sim.Link{Latency: L}, sim.RaceKnobs{}, loadgen.Config{Users: 2, Cycles: 10, LoginOnly: true, Timeout: time.Second})
		for _, r := range recs {
			if r.Mode != "login" || r.Outcome != results.OK || r.T[results.Login] != int64(10*L) || r.T.Has(results.SetupSent) {
				t.Errorf("seq %d: mode %s %s, login at %v", r.Seq, r.Mode, r.Outcome, time.Duration(r.T[results.Login]))
			}
		}
		if len(recs) != 10 {
			t.Errorf("%d login records, want 10", len(recs))
		}
	})
}

func TestSegmentSplit(t *testing.T) {
	cfg := loadgen.Config{Users: 10, Cycles: 100, Pacer: loadgen.ConstantPacer(90), MaxInFlight: 7,
		UserStages: []loadgen.Stage{{time.Second, 5}}}
	var users, cycles, inflight int64
	var rate float64
	for i := range 3 {
		s := loadgen.Segment{Index: i, Count: 3}.Split(cfg)
		users += int64(s.Users)
		cycles += s.Cycles
		inflight += int64(s.MaxInFlight)
		rate += s.Pacer.(loadgen.StagesPacer).Start
		if want := []int{4, 3, 3}[i]; s.Users != want {
			t.Errorf("shard %d: %d users, want %d", i, s.Users, want)
		}
	}
	if users != 10 || cycles != 100 || inflight != 7 || rate != 90 {
		t.Errorf("shards add up to %d users, %d cycles, %d in flight, %v/s", users, cycles, inflight, rate)
	}
	for _, bad := range []string{"3/3", "-1/2", "1", "a/b", "0/0"} {
		if _, err := loadgen.ParseSegment(bad); err == nil {
			t.Errorf("ParseSegment(%q) accepted", bad)
		}
	}
}

// TestSegmentSeqSpaces: shard i of N numbers its cycles i, i+N, …, and
// stamps its segment on every record.
func TestSegmentSeqSpaces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seg, _ := loadgen.ParseSegment("1/3")
		cfg := seg.Split(loadgen.Config{Users: 5, Cycles: 30, Timeout: time.Second})
		recs := simRun(t, sim.Link{Latency: time.Millisecond}, sim.RaceKnobs{}, cfg)
		if len(recs) != 10 {
			t.Fatalf("%d records, want 10", len(recs))
		}
		for _, r := range recs {
			if r.Seq%3 != 1 || r.Segment != "1/3" || r.Outcome != results.OK {
				t.Errorf("seq %d segment %q %s", r.Seq, r.Segment, r.Outcome)
			}
		}
	})
}

// TestRunEndsWithoutTrailingThink: a run ends when its work does, not a
// think time later. With user stages the run is over at the last stage,
// so thinking user-PIs stop thinking; with -n, once every cycle has been
// handed out, no user-PI pauses before finding there is no more.
func TestRunEndsWithoutTrailingThink(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  loadgen.Config
		recs int // records; -1: any
		end  time.Duration
	}{
		{"stages", loadgen.Config{Users: 0, UserStages: []loadgen.Stage{{time.Second, 10}, {2 * time.Second, 10}}}, -1, 3 * time.Second},
		{"cycles", loadgen.Config{Users: 10, Cycles: 15}, 15, 20 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				cfg := tc.cfg
				cfg.Think, cfg.Timeout = 20*time.Second, time.Second
				recs := simRun(t, sim.Link{Latency: time.Millisecond}, sim.RaceKnobs{}, cfg)
				took := time.Since(start)
				if tc.recs >= 0 && len(recs) != tc.recs {
					t.Errorf("%d records, want %d", len(recs), tc.recs)
				}
				// A cycle is a few milliseconds of link latency.
				if took < tc.end || took > tc.end+100*time.Millisecond {
					t.Errorf("run took %v, want %v plus a last cycle", took, tc.end)
				}
			})
		})
	}
}
