package loadgen_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"ftpbench/loadgen"
	"ftpbench/sim"
)

// TestSession drives one control connection command by command: login
// learns the size, PASV opens the data connection the way cycles do, and
// once the session's ctx is done every command fails at once and Close
// does not wait for a QUIT reply.
func TestSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tb, err := sim.StartTestbed(sim.TestbedConfig{
			Net:    sim.Config{Link: sim.Link{Latency: time.Millisecond}},
			Server: sim.ServerConfig{Anonymous: true},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer tb.Close()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		s, err := loadgen.DialSession(ctx, loadgen.Config{
			Network: tb.Client, Timeout: time.Second,
			Target: loadgen.Target{Addr: tb.Addr, User: "anonymous", Password: "x", Path: "/size/5000"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if s.Size() != 5000 || s.Local().Addr() != tb.Client.Addr() || s.Peer().Port() != 21 {
			t.Errorf("size %d, local %v, peer %v", s.Size(), s.Local(), s.Peer())
		}
		dc, err := s.Passive(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		if code, text, err := s.Cmd("RETR /size/5000"); err != nil || code != 150 {
			t.Fatalf("RETR: %d %q %v", code, text, err)
		}
		b, err := io.ReadAll(dc)
		dc.Close()
		if err != nil || len(b) != 5000 {
			t.Fatalf("data: %d bytes, %v", len(b), err)
		}
		if code, _, err := s.Reply(); err != nil || code != 226 {
			t.Fatalf("final reply %d, %v", code, err)
		}
		if dc, err := s.Passive(ctx, true); err != nil {
			t.Errorf("EPSV: %v", err)
		} else {
			dc.Close()
		}

		cancel()
		start := time.Now()
		if _, _, err := s.Cmd("NOOP"); !errors.Is(err, context.Canceled) {
			t.Errorf("NOOP after cancel: %v, want context.Canceled", err)
		}
		s.Close()
		if d := time.Since(start); d != 0 {
			t.Errorf("after cancel, NOOP and Close took %v of virtual time, want none", d)
		}
	})
}
