package sim

import (
	"context"
	"io"
	"net"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// TestNetworkPortLinks: a connection to a port listed in PortLinks takes
// that link (here a fast control path), every other the default link.
func TestNetworkPortLinks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(Config{
			Link:      Link{Latency: 20 * time.Millisecond},
			PortLinks: map[int]Link{21: {Latency: time.Millisecond}},
		})
		c, s := n.Host("c"), n.Host("s")
		for _, tc := range []struct {
			port string
			rtt  time.Duration
		}{{"21", 2 * time.Millisecond}, {"2000", 40 * time.Millisecond}} {
			ln, err := s.Listen(context.Background(), ":"+tc.port)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			conn, err := c.Dial(context.Background(), "s:"+tc.port)
			if err != nil {
				t.Fatal(err)
			}
			if got := time.Since(start); got != tc.rtt {
				t.Errorf("dial to port %s took %v, want %v", tc.port, got, tc.rtt)
			}
			conn.Close()
			ln.Close()
		}
	})
}

// arrivals writes 50 one-byte messages 1 ms apart over a jittery link and
// returns when each became readable, relative to when it was written.
func arrivals(t *testing.T, seed uint64) []time.Duration {
	var out []time.Duration
	synctest.Test(t, func(t *testing.T) {
		const lat, jitter = 10 * time.Millisecond, 5 * time.Millisecond
		n := NewNetwork(Config{Link: Link{Latency: lat, Jitter: jitter}, Seed: seed})
		a, b := n.Host("a"), n.Host("b")
		ln, err := b.Listen(context.Background(), ":1")
		if err != nil {
			t.Fatal(err)
		}
		srv := make(chan net.Conn, 1)
		go func() {
			c, _ := ln.Accept()
			srv <- c
		}()
		c, err := a.Dial(context.Background(), "b:1")
		if err != nil {
			t.Fatal(err)
		}
		peer := <-srv
		base := time.Now()
		go func() {
			for range 50 {
				c.Write([]byte{1})
				time.Sleep(time.Millisecond)
			}
			c.Close()
		}()
		buf := make([]byte, 1)
		for i := 0; ; i++ {
			if _, err := peer.Read(buf); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			out = append(out, time.Since(base)-time.Duration(i)*time.Millisecond)
		}
	})
	return out
}

// TestNetworkJitter: each byte is delayed by latency plus a seeded jitter
// in [0, Jitter), bytes stay in order, and the seed replays the delays.
func TestNetworkJitter(t *testing.T) {
	a := arrivals(t, 1)
	if len(a) != 50 {
		t.Fatalf("%d bytes arrived, want 50", len(a))
	}
	distinct := map[time.Duration]bool{}
	for i, d := range a {
		// In-order delivery may hold a byte back behind its predecessor,
		// but that one was written earlier with less than the full jitter,
		// so no byte takes latency + jitter or more.
		if d < 10*time.Millisecond || d >= 15*time.Millisecond {
			t.Errorf("byte %d arrived %v after it was written, want within [10ms, 15ms)", i, d)
		}
		distinct[d] = true
	}
	if len(distinct) < 5 {
		t.Errorf("only %d distinct delays: no jitter", len(distinct))
	}
	if b := arrivals(t, 1); !slices.Equal(a, b) {
		t.Error("same seed, different delays")
	}
	if c := arrivals(t, 2); slices.Equal(a, c) {
		t.Error("seeds 1 and 2 gave the same delays")
	}
}
