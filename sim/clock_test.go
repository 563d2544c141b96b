package sim_test

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"ftpbench/loadgen"
	"ftpbench/results"
	"ftpbench/sim"
)

// virtualRun runs a whole simulated load test on a VirtualClock and returns
// its records, in seq order, encoded as JSON Lines.
func virtualRun(t testing.TB, seed uint64, users int, cycles int64, link sim.Link, think time.Duration) ([]byte, []results.Record, time.Duration) {
	t.Helper()
	vc := sim.NewVirtualClock(seed, time.Time{})
	tb, err := sim.StartTestbed(sim.TestbedConfig{
		Net:    sim.Config{Clock: vc, Link: link, Backlog: users},
		Server: sim.ServerConfig{Anonymous: true, Timeout: time.Minute},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	ch, err := loadgen.Run(t.Context(), loadgen.Config{
		Network: tb.Client, Clock: vc,
		Target: loadgen.Target{Addr: tb.Addr, User: "anonymous", Password: "x", Path: "/size/20000"},
		Modes:  []loadgen.Mode{loadgen.ModePASV, loadgen.ModePORT, loadgen.ModeEPSV, loadgen.ModeEPRT},
		Users:  users, Cycles: cycles, Think: think, Timeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	vc.Start()
	var recs []results.Record
	for r := range ch {
		recs = append(recs, r)
	}
	slices.SortFunc(recs, func(a, b results.Record) int { return int(a.Seq - b.Seq) })
	var buf bytes.Buffer
	enc := results.NewEncoder(&buf)
	for i := range recs {
		if err := enc.Encode(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), recs, vc.Now().Sub(sim.VirtualEpoch)
}

// TestVirtualClockReplaysASeed: the same seed gives the same records, byte
// for byte, timestamps included; another seed interleaves differently.
func TestVirtualClockReplaysASeed(t *testing.T) {
	link := sim.Link{Latency: 3 * time.Millisecond, Bandwidth: 5 << 20}
	a, recs, _ := virtualRun(t, 1, 20, 400, link, 0)
	b, _, _ := virtualRun(t, 1, 20, 400, link, 0)
	c, _, _ := virtualRun(t, 2, 20, 400, link, 0)
	if len(recs) != 400 {
		t.Fatalf("%d records, want 400", len(recs))
	}
	for _, r := range recs {
		if r.Outcome != results.OK || r.Bytes != 20000 {
			t.Fatalf("seq %d: %s %q, %d bytes", r.Seq, r.Outcome, r.Err, r.Bytes)
		}
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two runs with seed 1 differ")
	}
	if bytes.Equal(a, c) {
		t.Fatal("seeds 1 and 2 gave identical runs: the seed does not steer scheduling")
	}
}

// TestVirtualClockPhaseTimes: in virtual time the phases of a lone PASV
// cycle fall exactly where the link latency puts them, as under synctest.
func TestVirtualClockPhaseTimes(t *testing.T) {
	const L = 25 * time.Millisecond
	// Cycle 4 is PASV again (modes alternate), on the logged-in connection.
	_, recs, _ := virtualRun(t, 7, 1, 5, sim.Link{Latency: L}, 0)
	pasv := recs[4]
	for p, want := range map[results.Phase]time.Duration{
		results.SetupReply: 2 * L, results.DataOpen: 4 * L, results.Prelim: 6 * L, results.EOF: 6 * L, results.Final: 6 * L,
	} {
		if got, _ := pasv.T.Get(p); got != want {
			t.Errorf("%s at %v, want %v", p, got, want)
		}
	}
}

// TestVirtualClockScale: 10,000 users on 50 ms links each run cycles with
// 30 s of think time between them, every cycle recorded and ok. How much
// faster than virtual time it runs is BenchmarkVirtualClockScale's to
// measure, not a test's.
func TestVirtualClockScale(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 users: skipped in -short mode")
	}
	const users = 10_000
	start := time.Now()
	_, recs, virtual := virtualRun(t, 3, users, 3*users, sim.Link{Latency: 50 * time.Millisecond}, 30*time.Second)
	wall := time.Since(start)
	perUser := make(map[int]int)
	for _, r := range recs {
		if r.Outcome != results.OK {
			t.Fatalf("seq %d user %d: %s %q", r.Seq, r.User, r.Outcome, r.Err)
		}
		perUser[r.User]++
	}
	if len(perUser) != users {
		t.Fatalf("%d users completed a cycle, want %d", len(perUser), users)
	}
	if virtual < 60*time.Second {
		t.Fatalf("virtual %v: want more than a minute (three cycles 30 s apart)", virtual)
	}
	t.Logf("%d cycles of %d users: %v virtual in %v wall", len(recs), users, virtual, wall)
}

// BenchmarkVirtualClockScale reports how many seconds of virtual time a
// second of wall time simulates with 10,000 users on 50 ms links.
func BenchmarkVirtualClockScale(b *testing.B) {
	for range b.N {
		start := time.Now()
		_, _, virtual := virtualRun(b, 3, 10_000, 30_000, sim.Link{Latency: 50 * time.Millisecond}, 30*time.Second)
		b.ReportMetric(virtual.Seconds()/time.Since(start).Seconds(), "virtual-s/wall-s")
	}
}
