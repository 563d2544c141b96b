package loadgen_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ftpbench/loadgen"
	"ftpbench/results"
	"ftpbench/sim"
)

// relay accepts connections on ln and joins each to a connection that
// host dials to target, byte for byte in both directions, like a NAT
// gateway or TCP proxy in front of an FTP server: the server sees the
// relay's address as its peer, the client sees the relay's as the server's.
func relay(t *testing.T, ln net.Listener, host *sim.Host, target string) {
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := host.Dial(context.Background(), target)
			if err != nil {
				c.Close()
				continue
			}
			wg.Add(2)
			pipe := func(dst, src net.Conn) {
				defer wg.Done()
				io.Copy(dst, src)
				dst.(interface{ CloseWrite() error }).CloseWrite()
				src.Close()
			}
			go pipe(s, c)
			go pipe(c, s)
		}
	}()
}

// TestPASVUsesTheControlPeer: the server sits behind a relay ("nat",
// 127.0.0.3) and announces its own address (127.0.0.2) in the 227, as a
// server behind NAT announces its private one. By default the user-PI
// connects to the port on the control connection's peer — the relay, where
// nothing listens, so the connect is refused, and the error names where it
// went; with TrustPASVAddress it connects to the announced address.
func TestPASVUsesTheControlPeer(t *testing.T) {
	checkLeaks(t)
	for _, trust := range []bool{false, true} {
		t.Run(fmt.Sprintf("trust=%v", trust), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := sim.NewNetwork(sim.Config{Link: sim.Link{Latency: faultLat}})
				client, server, nat := n.Host("client"), n.Host("server"), n.Host("nat")
				ln, err := server.Listen(context.Background(), ":21")
				if err != nil {
					t.Fatal(err)
				}
				// AllowFXP: the data connection comes from the client, not
				// from the relay that is the control connection's peer.
				srv := sim.NewServer(sim.ServerConfig{Network: server, Anonymous: true, AllowFXP: true})
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() {
					defer close(done)
					srv.Serve(ctx, ln)
				}()
				defer func() { cancel(); <-done }()
				nln, err := nat.Listen(context.Background(), ":21")
				if err != nil {
					t.Fatal(err)
				}
				relay(t, nln, nat, "server:21")
				recs := faultRun(t, loadgen.Config{
					Network: client, Users: 1, Cycles: 3, Timeout: faultTimeout, TrustPASVAddress: trust,
					Target: loadgen.Target{Addr: "nat:21", User: "anonymous", Password: "x", Path: "/size/1000"},
				})
				for _, r := range recs {
					switch {
					case trust && r.Outcome != results.OK:
						t.Errorf("%s: trusting the 227, want ok", describe(r))
					case !trust && (r.Outcome != results.Refused || !strings.Contains(r.Err, "data connection to "+nat.Addr().String()+":")):
						t.Errorf("%s: want refused, connecting to the control peer %v", describe(r), nat.Addr())
					}
				}
			})
		})
	}
}

// TestPasswordsStayOutOfRecordsAndLogs: a run with a right and a wrong
// password leaves the password in no record, no trace hook call (PASS is
// masked) and no line of the server's log.
func TestPasswordsStayOutOfRecordsAndLogs(t *testing.T) {
	const secret = "Zq7-p4ss-Xv"
	checkLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var seen []string
		note := func(s string) {
			mu.Lock()
			seen = append(seen, s)
			mu.Unlock()
		}
		tb, err := sim.StartTestbed(sim.TestbedConfig{
			Net: sim.Config{Link: sim.Link{Latency: faultLat}},
			Server: sim.ServerConfig{Users: map[string]string{"bench": secret}, Timeout: time.Second,
				Logf: func(format string, args ...any) { note(fmt.Sprintf(format, args...)) }},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer tb.Close()
		trace := &loadgen.ClientTrace{
			WroteCommand: func(_ int, line string) { note(line) },
			GotReply:     func(_ int, code int, text string) { note(fmt.Sprint(code, text)) },
		}
		for _, pw := range []string{secret, secret + "-wrong"} {
			recs := faultRun(t, loadgen.Config{
				Network: tb.Client, Users: 2, Cycles: 4, Timeout: time.Second, Trace: trace,
				Target: loadgen.Target{Addr: tb.Addr, User: "bench", Password: pw, Path: "/size/1000"},
			})
			for _, r := range recs {
				note(describe(r))
				if pw == secret && r.Outcome != results.OK || pw != secret && r.Code != 530 {
					t.Errorf("password %q: %s", pw, describe(r))
				}
			}
		}
		masked := 0
		for _, s := range seen {
			if strings.Contains(s, secret) {
				t.Errorf("%q shows the password", s)
			}
			if s == "PASS ****" || strings.HasSuffix(s, ": PASS ****") {
				masked++
			}
		}
		if masked < 4 {
			t.Errorf("PASS seen masked %d times, want at least 4 (trace and server log, 2 users × 2 runs)", masked)
		}
	})
}
