package loadgen_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"ftpbench/loadgen"
	"ftpbench/results"
	"ftpbench/sim"
)

// fxpNet is a simulated network with a client and two servers, "dst"
// (A of RFC 959 Figure 3, the passive side) and "src" (B, the active
// side), each on port 21.
type fxpNet struct {
	n        *sim.Network
	client   *sim.Host
	dst, src string // server-PI addresses
	srvs     [2]*sim.Server
}

// startFXPNet starts the two servers with cfg (Network and Clock set per
// server); they stop when the test ends.
func startFXPNet(t *testing.T, link sim.Link, dstCfg, srcCfg sim.ServerConfig) *fxpNet {
	t.Helper()
	n := sim.NewNetwork(sim.Config{Link: link})
	f := &fxpNet{n: n, client: n.Host("client")}
	ctx, cancel := context.WithCancel(context.Background())
	wg := loadgen.NewGroup(n.Clock())
	for i, name := range []string{"dst", "src"} {
		cfg := []sim.ServerConfig{dstCfg, srcCfg}[i]
		h := n.Host(name)
		ln, err := h.Listen(ctx, h.Addr().String()+":21")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Network, cfg.Clock, cfg.Anonymous = h, n.Clock(), true
		f.srvs[i] = sim.NewServer(cfg)
		wg.Add(1)
		n.Clock().Go(func() {
			defer wg.Done()
			f.srvs[i].Serve(ctx, ln)
		})
		if name == "dst" {
			f.dst = ln.Addr().String()
		} else {
			f.src = ln.Addr().String()
		}
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	return f
}

func (f *fxpNet) config(cycles int64) loadgen.Config {
	return loadgen.Config{
		Network:   f.client,
		Target:    loadgen.Target{Addr: f.src, User: "anonymous", Password: "x", Path: "/size/65536"},
		FXPTarget: loadgen.Target{Addr: f.dst, User: "anonymous", Password: "x", Path: "/copy-{user}-{seq}"},
		Modes:     []loadgen.Mode{loadgen.ModeFXP}, Cycles: cycles, Timeout: time.Second,
	}
}

// TestFXPCycles runs server-to-server cycles between two simulated servers
// with AllowFXP, in virtual time over links of one-way latency L, and
// checks each phase against Figure 3's message sequence: PASV to the
// destination answers at 2L; PORT to the source at 4L; STOR and RETR
// leave at 4L and arrive at 5L; the source connects (from its port 20)
// to the destination's passive port at 6L, where the destination's 150
// leaves (it arrives at 7L); the source's connect returns at 7L, its 150,
// data, FIN and 226 leave then and its 226 arrives at 8L, as the data
// reach the destination, whose 226 arrives at 9L.
func TestFXPCycles(t *testing.T) {
	const L = 10 * time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		allow := sim.ServerConfig{AllowFXP: true}
		f := startFXPNet(t, sim.Link{Latency: L}, allow, allow)
		recs := collect(t, mustRun(t, f.config(3)))
		if len(recs) != 3 {
			t.Fatalf("%d records, want 3", len(recs))
		}
		want := phaseWant{results.SetupSent: 0, results.SetupReply: 4 * L, results.CmdSent: 4 * L,
			results.Prelim: 7 * L, results.DataOpen: 8 * L, results.Final: 9 * L, results.Done: 9 * L}
		for i, r := range recs {
			if r.Outcome != results.OK || r.Bytes != 65536 || r.Want != 65536 || r.Code != 226 || r.Mode != "fxp" {
				t.Fatalf("seq %d: %s %q, %d of %d bytes, code %d, mode %s", r.Seq, r.Outcome, r.Err, r.Bytes, r.Want, r.Code, r.Mode)
			}
			w := want
			if i == 0 { // logs in to both servers first
				w = shifted(want, time.Duration(r.T[results.Login]))
			}
			checkPhases(t, r, w)
		}
		dst, src := f.srvs[0].Stats(), f.srvs[1].Stats()
		if dst.BytesReceived != 3*65536 || src.BytesSent != 3*65536 || dst.Sessions != 1 || src.Sessions != 1 {
			t.Errorf("destination %+v, source %+v: want 3 transfers of 65536 bytes on one session each", dst, src)
		}
	})
}

// TestFXPRefused checks fxp cycles against servers that refuse
// third-party transfers (bounce protection, RFC 2577): each side's
// refusal is the cycle's outcome with its evidence, bounded in time, and
// the next cycle starts in step.
func TestFXPRefused(t *testing.T) {
	for _, tc := range []struct {
		name     string
		dst, src sim.ServerConfig
		outcome  results.Outcome
		code     int
		err      string
	}{
		{name: "source refuses PORT to a third party", dst: sim.ServerConfig{AllowFXP: true},
			outcome: results.ReplyError, code: 500, err: "fxp source 127.0.0.3:21: PORT 127,0,0,2,"},
		{name: "destination ignores the foreign data connection", src: sim.ServerConfig{AllowFXP: true},
			outcome: results.Refused, code: 425, err: "fxp destination 127.0.0.2:21: STOR /copy-0-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// The destination gives up waiting for its data connection
				// after its Timeout; the source must not count that wait as
				// idle time on its control connection.
				tc.dst.Timeout, tc.src.Timeout = 500*time.Millisecond, time.Minute
				f := startFXPNet(t, sim.Link{Latency: time.Millisecond}, tc.dst, tc.src)
				recs := collect(t, mustRun(t, f.config(2)))
				for _, r := range recs {
					if r.Outcome != tc.outcome || r.Code != tc.code || !strings.Contains(r.Err, tc.err) {
						t.Errorf("seq %d: %s %d %q, want %s %d with %q", r.Seq, r.Outcome, r.Code, r.Err, tc.outcome, tc.code, tc.err)
					}
					if d, _ := r.CycleTime(); d > 2*time.Second {
						t.Errorf("seq %d took %v", r.Seq, d)
					}
				}
			})
		})
	}
}
