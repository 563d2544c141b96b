package loadgen_test

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"ftpbench/loadgen"
	"ftpbench/results"
	"ftpbench/sim"
)

func TestParseSourceAddrs(t *testing.T) {
	got, err := loadgen.ParseSourceAddrs("127.0.0.1-127.0.0.3, 10.0.0.9")
	if err != nil || len(got) != 4 || got[2] != netip.MustParseAddr("127.0.0.3") || got[3] != netip.MustParseAddr("10.0.0.9") {
		t.Fatalf("ParseSourceAddrs = %v, %v", got, err)
	}
	for _, bad := range []string{"", "x", "127.0.0.2-127.0.0.1", "127.0.0.1-::1", "10.0.0.0-10.1.0.0", "127.0.0.1-"} {
		if _, err := loadgen.ParseSourceAddrs(bad); err == nil || !strings.Contains(err.Error(), "source address") {
			t.Errorf("ParseSourceAddrs(%q) = %v, want an error naming it", bad, err)
		}
	}
}

func FuzzParseSourceAddrs(f *testing.F) {
	f.Add("127.0.0.1-127.0.0.16")
	f.Add("::1,10.0.0.1-10.0.0.2")
	f.Fuzz(func(t *testing.T, s string) {
		if addrs, err := loadgen.ParseSourceAddrs(s); err == nil && (len(addrs) == 0 || len(addrs) > 4096) {
			t.Fatalf("%q gave %d addresses", s, len(addrs))
		}
	})
}

// peerRecorder is a listener that notes the address of every control
// connection it accepts.
type peerRecorder struct {
	net.Listener
	mu    sync.Mutex
	peers map[netip.Addr]int
}

func (l *peerRecorder) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.peers[netip.MustParseAddrPort(c.RemoteAddr().String()).Addr()]++
		l.mu.Unlock()
	}
	return c, err
}

// TestSourceAddrsOverTCP: 8 user-PIs over 4 loopback addresses reach the
// simulated server from all four, and every PASV and PORT cycle succeeds —
// the server accepts a data connection only from its control
// connection's peer, so data connections come from the user's address.
func TestSourceAddrsOverTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := &peerRecorder{Listener: ln, peers: map[netip.Addr]int{}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- sim.NewServer(sim.ServerConfig{Anonymous: true, Timeout: 10 * time.Second}).Serve(ctx, rec)
	}()
	defer func() { cancel(); <-done }()
	addrs, _ := loadgen.ParseSourceAddrs("127.0.0.1-127.0.0.4")
	ch, err := loadgen.Run(t.Context(), loadgen.Config{
		Network: loadgen.TCP{}, SourceAddrs: addrs,
		Target: loadgen.Target{Addr: ln.Addr().String(), User: "anonymous", Password: "x", Path: "/size/5000"},
		Modes:  []loadgen.Mode{loadgen.ModePASV, loadgen.ModePORT, loadgen.ModeEPSV, loadgen.ModeEPRT},
		Users:  8, Cycles: 80, Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	for r := range ch {
		if r.Outcome != results.OK {
			t.Fatalf("seq %d (%s): %s %s", r.Seq, r.Mode, r.Outcome, r.Err)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.peers) != 4 {
		t.Errorf("control connections came from %v, want 4 addresses", rec.peers)
	}
}
