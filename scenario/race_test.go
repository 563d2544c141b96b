package scenario

import (
	"bytes"
	"testing"
	"time"

	"ftpbench/loadgen"
	"ftpbench/results"
	"ftpbench/sim"
)

// TestRaceMatrix asserts the qualitative outcome of every cell: the
// sentences of RFC 959 §5.2 and the bug reports the knobs come from.
func TestRaceMatrix(t *testing.T) {
	cells, err := Race(t.Context(), RaceConfig{Cycles: 40, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != len(DefaultEnds)*len(loadgen.Policies) {
		t.Fatalf("%d cells, want %d", len(cells), len(DefaultEnds)*len(loadgen.Policies))
	}
	get := func(end, policy string) results.ModeStats {
		for _, c := range cells {
			if c.End == end && c.Policy == policy {
				return c.Stats
			}
		}
		t.Fatalf("no cell %s × %s", end, policy)
		return results.ModeStats{}
	}
	count := func(s results.ModeStats, o results.Outcome) int64 { return s.Outcomes[o] }
	for _, c := range cells {
		if c.Stats.Cycles != 40 {
			t.Errorf("%s × %s: %d cycles, want 40 (no cycle lost)", c.End, c.Policy, c.Stats.Cycles)
		}
		// A strict client never truncates or desyncs, whatever the server does.
		if c.Policy == "strict" && (count(c.Stats, results.Truncated) > 0 || count(c.Stats, results.Desync) > 0) {
			t.Errorf("strict × %s: outcomes %v", c.End, c.Stats.Outcomes)
		}
	}
	for _, tc := range []struct {
		end, policy, why string
		check            func(s results.ModeStats) bool
	}{
		{"close-then-226", "strict", "the RFC's server and client agree", func(s results.ModeStats) bool { return s.OK == s.Cycles && s.BeforeEOF == 0 }},
		{"close-then-226", "eager", "closing on 226 is safe when the server closed first", func(s results.ModeStats) bool { return s.OK == s.Cycles }},
		{"226-before-flush", "eager", "226 before the tail is out truncates an eager client (fineftp #60)", func(s results.ModeStats) bool { return count(s, results.Truncated) > 0 }},
		{"226-before-flush", "strict", "a strict client reads to EOF after an early 226", func(s results.ModeStats) bool {
			return s.OK == s.Cycles && s.BeforeEOF == s.RaceGap.Count && s.BeforeEOF > 0
		}},
		{"close-then-226", "eof-only", "a skipped 226 answers the next command (clj-ftp #8)", func(s results.ModeStats) bool { return count(s, results.Desync) > 0 }},
		{"close-then-250", "strict", "250 is a valid end of transfer (netxduo #404)", func(s results.ModeStats) bool { return s.OK == s.Cycles }},
		{"no-final-reply", "strict", "a missing final reply ends in a timeout, not a hang", func(s results.ModeStats) bool { return count(s, results.Timeout) == s.Cycles }},
		{"226-after-client-close", "hold-open", "holding the data open until 226 stalls (jum/tinyftp #3)", func(s results.ModeStats) bool { return count(s, results.Timeout) == s.Cycles }},
		{"226-after-client-close", "strict", "closing on EOF lets such a server reply", func(s results.ModeStats) bool { return s.OK == s.Cycles }},
		{"delayed-close:50ms", "strict", "226 long before EOF (50 ms less the transfer time) is waited out", func(s results.ModeStats) bool {
			return s.OK == s.Cycles && s.BeforeEOF == s.Cycles && s.RaceGap.Max <= -20*time.Millisecond
		}},
	} {
		if s := get(tc.end, tc.policy); !tc.check(s) {
			t.Errorf("%s × %s: %s; got ok %d/%d, outcomes %v, 226 before EOF %d of %d, gap %+v",
				tc.end, tc.policy, tc.why, s.OK, s.Cycles, s.Outcomes, s.BeforeEOF, s.RaceGap.Count, s.RaceGap)
		}
	}
}

// TestRaceTableReplaysASeed: the same seed prints the same table, byte for
// byte, in every format; a jittery link makes the seed matter.
func TestRaceTableReplaysASeed(t *testing.T) {
	cfg := RaceConfig{
		Ends:     []sim.End{{Kind: sim.End226ThenClose}, {Kind: sim.EndCloseThen226}},
		Policies: []loadgen.Policy{loadgen.PolicyStrict, loadgen.PolicyEager},
		Cycles:   30, Links: Links{Data: sim.Link{Latency: time.Millisecond, Jitter: time.Millisecond}},
	}
	table := func(seed uint64, format string) string {
		cfg.Seed = seed
		cells, err := Race(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := WriteRaceTable(&b, cells, format); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	for _, f := range []string{"text", "csv", "json"} {
		if a, b := table(7, f), table(7, f); a != b {
			t.Errorf("%s: seed 7 printed two different tables:\n%s\n%s", f, a, b)
		}
	}
	if table(7, "csv") == table(8, "csv") {
		t.Error("seeds 7 and 8 printed the same table over a jittery link")
	}
}

// TestRaceDataSlowerThanControl: with the control path faster than the
// data path, even the RFC's close-then-226 order reaches the client as
// 226 before EOF, and an eager client truncates (curl #12823's shape).
func TestRaceDataSlowerThanControl(t *testing.T) {
	cells, err := Race(t.Context(), RaceConfig{
		Ends:     []sim.End{{Kind: sim.EndCloseThen226}},
		Policies: []loadgen.Policy{loadgen.PolicyStrict, loadgen.PolicyEager},
		Cycles:   20,
		Links: Links{
			Data:    sim.Link{Latency: 20 * time.Millisecond, Bandwidth: 10 << 20},
			Control: &sim.Link{Latency: time.Millisecond},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	strict, eager := cells[0].Stats, cells[1].Stats
	if strict.OK != 20 || strict.BeforeEOF != 20 {
		t.Errorf("strict: ok %d, 226 before EOF %d of 20", strict.OK, strict.BeforeEOF)
	}
	if eager.Outcomes[results.Truncated] != 20 {
		t.Errorf("eager: outcomes %v, want every cycle truncated", eager.Outcomes)
	}
}

func TestSweep(t *testing.T) {
	points, err := Sweep(t.Context(), SweepConfig{
		Users: []int{1, 20}, Latencies: []time.Duration{time.Millisecond, 20 * time.Millisecond},
		Duration: 2 * time.Second, Size: 10 << 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(points) != 4 {
		t.Fatalf("%d points", len(points))
	}
	byKey := map[[2]int64]results.ModeStats{}
	for _, p := range points {
		if p.Stats.Cycles == 0 || p.Stats.OK != p.Stats.Cycles {
			t.Errorf("%d users at %v: %d cycles, %d ok", p.Users, p.Latency, p.Stats.Cycles, p.Stats.OK)
		}
		byKey[[2]int64{int64(p.Users), int64(p.Latency)}] = p.Stats
	}
	// More users, more throughput; more latency, less.
	one, twenty := byKey[[2]int64{1, int64(time.Millisecond)}], byKey[[2]int64{20, int64(time.Millisecond)}]
	slow := byKey[[2]int64{1, int64(20 * time.Millisecond)}]
	if twenty.CyclesPerSec < 5*one.CyclesPerSec || slow.CyclesPerSec > one.CyclesPerSec/5 {
		t.Errorf("cycles/s: 1 user %.0f, 20 users %.0f, 1 user at 20ms %.0f", one.CyclesPerSec, twenty.CyclesPerSec, slow.CyclesPerSec)
	}
	// One user over 1 ms links: a PASV cycle is 6 one-way trips, so ~166/s.
	if one.CyclesPerSec < 150 || one.CyclesPerSec > 170 {
		t.Errorf("1 user at 1ms: %.1f cycles/s, want about 166", one.CyclesPerSec)
	}
}
