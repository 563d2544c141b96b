package loadgen_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"ftpbench/loadgen"
	"ftpbench/results"
	"ftpbench/sim"
)

// runSpread runs users user-PIs for cycles cycles in virtual time against
// the simulated server, on a network whose hosts have ephemeral ports
// 40000-40099 only, with the users spread over hosts simulated client
// addresses (1: no spreading). Default data port mode takes no port but
// the control connection's on the client (the user-DTP listens on it,
// the server connects from port 20), so each user holds exactly one of
// its address's ports for the whole run. Links have 1 ms latency.
func runSpread(t *testing.T, users int, cycles int64, hosts int) []results.Record {
	t.Helper()
	vc := sim.NewVirtualClock(7, time.Time{})
	tb, err := sim.StartTestbed(sim.TestbedConfig{
		Net:    sim.Config{Clock: vc, Link: sim.Link{Latency: time.Millisecond}, EphemeralPorts: [2]int{40000, 40099}, Backlog: users, ReuseAddr: true},
		Server: sim.ServerConfig{Anonymous: true, Timeout: time.Minute, MaxSessions: users, DefaultDataPort: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	var src []netip.Addr
	if hosts > 1 {
		src = append(src, tb.Client.Addr())
		for i := 2; i <= hosts; i++ {
			h := tb.Network.Host(fmt.Sprintf("client%d", i))
			tb.Client.AddLocal(h)
			src = append(src, h.Addr())
		}
	}
	ch, err := loadgen.Run(t.Context(), loadgen.Config{
		Network: tb.Client, Clock: vc, SourceAddrs: src,
		Target: loadgen.Target{Addr: tb.Addr, User: "anonymous", Password: "x", Path: "/size/1024"},
		Modes:  []loadgen.Mode{loadgen.ModeDefault}, Users: users, Cycles: cycles, Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	vc.Start()
	recs := collect(t, ch)
	if int64(len(recs)) != cycles {
		t.Fatalf("%d records, want one per cycle: %d", len(recs), cycles)
	}
	seen := make([]bool, cycles)
	for _, r := range recs {
		if r.Seq < 0 || r.Seq >= cycles {
			t.Fatalf("seq %d out of 0…%d", r.Seq, cycles-1)
		}
		seen[r.Seq] = true
	}
	for i, ok := range seen {
		if !ok {
			t.Fatalf("seq %d missing", i)
		}
	}
	return recs
}

// TestSourceAddrsBeyondOneHostsPorts: 300 users need 300 control
// connections, three times what one simulated host's 100 ephemeral ports
// hold. Spread over four simulated client addresses (75 users each) every
// cycle is ok; on one address the users beyond its ports fail to connect
// with EADDRNOTAVAIL, recorded as addr-unavailable (not refused: the
// server never saw them), and back off instead of spinning.
func TestSourceAddrsBeyondOneHostsPorts(t *testing.T) {
	const users, cycles = 300, 900
	t.Run("spread", func(t *testing.T) {
		for _, r := range runSpread(t, users, cycles, 4) {
			if r.Outcome != results.OK || r.Bytes != 1024 {
				t.Fatalf("seq %d user %d: %s (%d bytes) %s", r.Seq, r.User, r.Outcome, r.Bytes, r.Err)
			}
		}
	})
	t.Run("one-address", func(t *testing.T) {
		counts := map[results.Outcome]int{}
		lastFail := map[int]time.Time{}
		for _, r := range runSpread(t, users, cycles, 1) {
			counts[r.Outcome]++
			if r.Outcome == results.AddrUnavailable {
				// A user's records reach the channel in the order it made
				// them: each retry waits out a backoff of at least 10 ms.
				if prev, ok := lastFail[r.User]; ok && r.Start.Sub(prev) < 10*time.Millisecond {
					t.Fatalf("user %d retried after %v, want a backoff ≥ 10ms", r.User, r.Start.Sub(prev))
				}
				lastFail[r.User] = r.Start
			}
			switch r.Outcome {
			case results.OK:
			case results.AddrUnavailable:
				if !strings.Contains(r.Err, "cannot assign requested address") || r.T.Has(results.Login) {
					t.Fatalf("seq %d: addr-unavailable with err %q, phases %v", r.Seq, r.Err, r.T)
				}
			default:
				t.Fatalf("seq %d: outcome %s (%s), want ok or addr-unavailable", r.Seq, r.Outcome, r.Err)
			}
		}
		if counts[results.OK] == 0 || counts[results.AddrUnavailable] == 0 {
			t.Fatalf("outcomes %v: want both ok and addr-unavailable", counts)
		}
		t.Logf("outcomes on one address: %v", counts)
	})
}
