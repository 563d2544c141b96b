package loadgen_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ftpbench/loadgen"
	"ftpbench/results"
	"ftpbench/sim"
)

// collect drains a run and returns its records in seq order.
func collect(t *testing.T, ch <-chan results.Record) []results.Record {
	t.Helper()
	var recs []results.Record
	for r := range ch {
		recs = append(recs, r)
	}
	seen := make(map[int64]bool)
	for _, r := range recs {
		if seen[r.Seq] {
			t.Fatalf("seq %d recorded twice", r.Seq)
		}
		seen[r.Seq] = true
	}
	return recs
}

// TestCyclesOverSimulation runs every mode and op against the simulated
// server over links of one-way latency L, in virtual time, and checks each
// phase against the time §5.2's message sequence takes on such links.
//
// PASV: PASV→227 is one round trip (2L); the connect is another (4L);
// RETR reaches the server at 5L and its 150, the data and its FIN, and the
// 226 all arrive at 6L. PORT: PORT→200 is 2L; RETR arrives at 3L and the
// server's connect reaches our listener at 4L; its connect returns at 5L,
// so 150, data and 226 arrive at 6L. STOR writes as soon as the data
// connection is open, so its first byte and EOF are stamped when sent.
func TestCyclesOverSimulation(t *testing.T) {
	const L = 10 * time.Millisecond
	const size = 64 << 10
	ms := func(n int) int64 { return int64(time.Duration(n) * L) }
	type phases map[results.Phase]int64
	for _, tc := range []struct {
		mode loadgen.Mode
		op   loadgen.Op
		want phases
	}{
		{loadgen.ModePASV, loadgen.OpRETR, phases{results.SetupSent: 0, results.SetupReply: ms(2), results.DataOpen: ms(4), results.CmdSent: ms(4), results.Prelim: ms(6), results.FirstByte: ms(6), results.EOF: ms(6), results.Final: ms(6), results.Done: ms(6)}},
		{loadgen.ModeEPSV, loadgen.OpRETR, phases{results.SetupSent: 0, results.SetupReply: ms(2), results.DataOpen: ms(4), results.CmdSent: ms(4), results.Prelim: ms(6), results.FirstByte: ms(6), results.EOF: ms(6), results.Final: ms(6), results.Done: ms(6)}},
		{loadgen.ModePORT, loadgen.OpRETR, phases{results.SetupSent: 0, results.SetupReply: ms(2), results.CmdSent: ms(2), results.DataOpen: ms(4), results.Prelim: ms(6), results.FirstByte: ms(6), results.EOF: ms(6), results.Final: ms(6), results.Done: ms(6)}},
		{loadgen.ModeEPRT, loadgen.OpRETR, phases{results.SetupSent: 0, results.SetupReply: ms(2), results.CmdSent: ms(2), results.DataOpen: ms(4), results.Prelim: ms(6), results.FirstByte: ms(6), results.EOF: ms(6), results.Final: ms(6), results.Done: ms(6)}},
		{loadgen.ModePASV, loadgen.OpSTOR, phases{results.SetupSent: 0, results.SetupReply: ms(2), results.DataOpen: ms(4), results.CmdSent: ms(4), results.FirstByte: ms(4), results.EOF: ms(4), results.Prelim: ms(6), results.Final: ms(6), results.Done: ms(6)}},
		{loadgen.ModePORT, loadgen.OpSTOR, phases{results.SetupSent: 0, results.SetupReply: ms(2), results.CmdSent: ms(2), results.DataOpen: ms(4), results.FirstByte: ms(4), results.EOF: ms(4), results.Prelim: ms(6), results.Final: ms(6), results.Done: ms(6)}},
	} {
		t.Run(fmt.Sprintf("%s-%s", tc.mode, tc.op), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tb, err := sim.StartTestbed(sim.TestbedConfig{
					Net:    sim.Config{Link: sim.Link{Latency: L}},
					Server: sim.ServerConfig{Anonymous: true, Timeout: 5 * time.Second},
				})
				if err != nil {
					t.Fatal(err)
				}
				defer tb.Close()
				ch, err := loadgen.Run(t.Context(), loadgen.Config{
					Network: tb.Client, Target: loadgen.Target{Addr: tb.Addr, User: "anonymous", Password: "x", Path: "/size/65536"},
					Modes: []loadgen.Mode{tc.mode}, Op: tc.op, Size: size, Users: 1, Cycles: 3, Timeout: time.Second,
				})
				if err != nil {
					t.Fatal(err)
				}
				recs := collect(t, ch)
				if len(recs) != 3 {
					t.Fatalf("%d records, want 3", len(recs))
				}
				// The first cycle logs in first: connect (2L), then USER,
				// PASS, TYPE I and, for RETR, SIZE, a round trip each.
				login := ms(8)
				if tc.op == loadgen.OpRETR {
					login = ms(10)
				}
				for _, r := range recs {
					if r.Outcome != results.OK || r.Bytes != size || r.Want != size || r.Code != 226 {
						t.Fatalf("seq %d: outcome %s err %q bytes %d want %d code %d", r.Seq, r.Outcome, r.Err, r.Bytes, r.Want, r.Code)
					}
					shift, wantLogin := int64(0), int64(-1)
					if r.Seq == 0 {
						shift, wantLogin = login, login
					}
					if r.T[results.Login] != wantLogin {
						t.Errorf("seq %d login at %v, want %v", r.Seq, time.Duration(r.T[results.Login]), time.Duration(wantLogin))
					}
					for p := results.SetupSent; p < results.NumPhases; p++ {
						if got, want := r.T[p], tc.want[p]+shift; got != want {
							t.Errorf("seq %d phase %s at %v, want %v", r.Seq, p, time.Duration(got), time.Duration(want))
						}
					}
				}
			})
		})
	}
}

// TestNothingLost checks cycles started == records written under a bound
// on cycles, on duration, and a run cancelled midway: every seq from 0 to
// the last appears exactly once.
func TestNothingLost(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cycles int64
		dur    time.Duration
		cancel time.Duration
	}{
		{name: "cycles", cycles: 500},
		{name: "duration", dur: 2 * time.Second},
		{name: "cancelled", dur: time.Hour, cancel: 1500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tb, err := sim.StartTestbed(sim.TestbedConfig{
					Net:    sim.Config{Link: sim.Link{Latency: 5 * time.Millisecond, Bandwidth: 10 << 20}},
					Server: sim.ServerConfig{Anonymous: true},
				})
				if err != nil {
					t.Fatal(err)
				}
				defer tb.Close()
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				if tc.cancel > 0 {
					time.AfterFunc(tc.cancel, cancel)
				}
				var started sync.Map
				ch, err := loadgen.Run(ctx, loadgen.Config{
					Network: tb.Client, Target: loadgen.Target{Addr: tb.Addr, User: "anonymous", Password: "x", Path: "/size/100000"},
					Modes: []loadgen.Mode{loadgen.ModePASV, loadgen.ModePORT}, Users: 7, Cycles: tc.cycles, Duration: tc.dur, Timeout: time.Second,
					Trace: &loadgen.ClientTrace{PhaseReached: func(_ int, seq int64, p results.Phase, _ time.Time) {
						if p == results.SetupSent {
							started.Store(seq, true)
						}
					}},
				})
				if err != nil {
					t.Fatal(err)
				}
				recs := collect(t, ch)
				sum := results.NewSummary()
				byOutcome := map[results.Outcome]int{}
				for i := range recs {
					sum.Add(&recs[i])
					byOutcome[recs[i].Outcome]++
					started.Delete(recs[i].Seq)
				}
				started.Range(func(k, _ any) bool { t.Errorf("cycle %v started but has no record", k); return true })
				if int64(len(recs)) != sum.All().Cycles {
					t.Errorf("%d records but summary counts %d", len(recs), sum.All().Cycles)
				}
				maxSeq := int64(-1)
				for _, r := range recs {
					maxSeq = max(maxSeq, r.Seq)
				}
				if int64(len(recs)) != maxSeq+1 {
					t.Errorf("%d records for seqs 0..%d: some seq lost", len(recs), maxSeq)
				}
				switch {
				case tc.cycles > 0 && int64(len(recs)) != tc.cycles:
					t.Errorf("%d records, want %d", len(recs), tc.cycles)
				case tc.cancel > 0 && byOutcome[results.Canceled] == 0:
					t.Errorf("no cycle was cancelled mid-flight: %v", byOutcome)
				case tc.cancel == 0 && byOutcome[results.OK] != len(recs):
					t.Errorf("outcomes %v, want all ok", byOutcome)
				}
				if byOutcome[results.OK] < 100 {
					t.Errorf("only %d ok cycles", byOutcome[results.OK])
				}
			})
		})
	}
}
