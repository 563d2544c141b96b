package sim

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

func TestNetworkHosts(t *testing.T) {
	n := NewNetwork(Config{})
	a, b, x := n.Host("a"), n.Host("b"), n.Host("10.0.0.5")
	for _, tc := range []struct {
		h          *Host
		name, addr string
	}{{a, "a", "127.0.0.1"}, {b, "b", "127.0.0.2"}, {x, "10.0.0.5", "10.0.0.5"}, {n.Host("c"), "c", "127.0.0.3"}} {
		if tc.h.Name() != tc.name || tc.h.Addr() != netip.MustParseAddr(tc.addr) {
			t.Errorf("host %s at %s, want %s at %s", tc.h.Name(), tc.h.Addr(), tc.name, tc.addr)
		}
	}
	if n.Host("a") != a || n.Host("127.0.0.2") != b {
		t.Error("Host does not return the existing host by name or address")
	}
	// An automatic address skips one taken explicitly.
	n.Host("127.0.0.4")
	if d := n.Host("d"); d.Addr() != netip.MustParseAddr("127.0.0.5") {
		t.Errorf("d at %s, want 127.0.0.5", d.Addr())
	}
}

func TestNetworkDialAcceptEcho(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const lat = 5 * time.Millisecond
		n := NewNetwork(Config{Link: Link{Latency: lat}})
		client, server := n.Host("client"), n.Host("server")
		ln, err := server.Listen(context.Background(), ":21")
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		accepted := make(chan time.Time, 1)
		var echoes sync.WaitGroup
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					close(accepted)
					return
				}
				accepted <- time.Now()
				echoes.Go(func() { io.Copy(c, c); c.Close() })
			}
		}()
		for _, target := range []string{"server:21", "127.0.0.2:21"} {
			t0 := time.Now()
			c, err := client.Dial(context.Background(), target)
			if err != nil {
				t.Fatal(err)
			}
			if got := (<-accepted).Sub(t0); got != lat {
				t.Errorf("%s: accepted after %v, want %v", target, got, lat)
			}
			if got := time.Since(t0); got != 2*lat {
				t.Errorf("%s: Dial took %v, want %v", target, got, 2*lat)
			}
			la, ok1 := c.LocalAddr().(*net.TCPAddr)
			ra, ok2 := c.RemoteAddr().(*net.TCPAddr)
			if !ok1 || !ok2 || ra.String() != "127.0.0.2:21" || !la.IP.Equal(net.IPv4(127, 0, 0, 1)) || la.Port < 32768 || la.Port > 60999 {
				t.Errorf("%s: addresses %v -> %v", target, c.LocalAddr(), c.RemoteAddr())
			}
			t1 := time.Now()
			c.Write([]byte("ping"))
			buf := make([]byte, 4)
			if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
				t.Fatalf("echo %q, %v", buf, err)
			}
			if got := time.Since(t1); got != 2*lat {
				t.Errorf("echo took %v, want %v", got, 2*lat)
			}
			c.Close()
		}
		ln.Close()
		<-accepted
		echoes.Wait() // each echo ends when the client's FIN arrives
		if time.Since(start) != 9*lat {
			t.Errorf("test took %v of virtual time", time.Since(start))
		}
	})
}

func TestNetworkAcceptedAddrs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(Config{})
		c, s := npConnect(t, n)
		if s.RemoteAddr().String() != c.LocalAddr().String() || s.LocalAddr().String() != c.RemoteAddr().String() {
			t.Errorf("server end %v<-%v, client end %v->%v", s.LocalAddr(), s.RemoteAddr(), c.LocalAddr(), c.RemoteAddr())
		}
		if _, ok := s.RemoteAddr().(*net.TCPAddr); !ok {
			t.Errorf("RemoteAddr is %T", s.RemoteAddr())
		}
		c.Close()
		s.Close()
	})
}

func TestNetworkDialErrors(t *testing.T) {
	const lat = 5 * time.Millisecond
	bg := context.Background()
	for _, tc := range []struct {
		name    string
		cfg     Config
		listen  bool
		prepare func(t *testing.T, client *Host) // dials before the one under test
		ctx     func() (context.Context, context.CancelFunc)
		addr    string
		check   func(error) bool
		wantMsg string
		took    time.Duration
	}{
		{
			name: "refused", addr: "server:21", took: 2 * lat,
			check:   func(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) },
			wantMsg: "dial tcp 127.0.0.2:21: connect: connection refused",
		},
		{
			name: "unknown host", addr: "nowhere:21", took: 0,
			check: func(err error) bool {
				var de *net.DNSError
				return errors.As(err, &de) && de.IsNotFound
			},
			wantMsg: "dial tcp: lookup nowhere: no such host",
		},
		{
			name: "unknown address", addr: "10.9.9.9:21", took: 0,
			check:   func(err error) bool { return errors.Is(err, syscall.EHOSTUNREACH) },
			wantMsg: "dial tcp 10.9.9.9:21: connect: no route to host",
		},
		{
			name: "accept queue full", cfg: Config{Backlog: 1}, listen: true, addr: "server:21", took: 2 * lat,
			prepare: func(t *testing.T, client *Host) {
				if _, err := client.Dial(bg, "server:21"); err != nil {
					t.Fatal(err)
				}
			},
			check: func(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) },
		},
		{
			name: "ephemeral ports exhausted", cfg: Config{EphemeralPorts: [2]int{40000, 40001}}, listen: true, addr: "server:21", took: 0,
			prepare: func(t *testing.T, client *Host) {
				for range 2 {
					if _, err := client.Dial(bg, "server:21"); err != nil {
						t.Fatal(err)
					}
				}
			},
			check:   func(err error) bool { return errors.Is(err, syscall.EADDRNOTAVAIL) },
			wantMsg: "dial tcp 127.0.0.2:21: connect: cannot assign requested address",
		},
		{
			name: "ctx deadline while the SYN travels", listen: true, addr: "server:21", took: 3 * time.Millisecond,
			ctx:   func() (context.Context, context.CancelFunc) { return context.WithTimeout(bg, 3*time.Millisecond) },
			check: func(err error) bool { return errors.Is(err, context.DeadlineExceeded) },
		},
		{
			name: "ctx cancelled before dialling", listen: true, addr: "server:21", took: 0,
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(bg)
				cancel()
				return ctx, cancel
			},
			check: func(err error) bool { return errors.Is(err, context.Canceled) },
		},
		{
			name: "bad port", addr: "server:ftp", took: 0,
			check: func(err error) bool { var ae *net.AddrError; return errors.As(err, &ae) },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := tc.cfg
				cfg.Link.Latency = lat
				n := NewNetwork(cfg)
				client, server := n.Host("client"), n.Host("server")
				if tc.listen {
					ln, err := server.Listen(bg, ":21")
					if err != nil {
						t.Fatal(err)
					}
					defer ln.Close()
				}
				if tc.prepare != nil {
					tc.prepare(t, client)
				}
				ctx, cancel := bg, context.CancelFunc(func() {})
				if tc.ctx != nil {
					ctx, cancel = tc.ctx()
				}
				defer cancel()
				start := time.Now()
				c, err := client.Dial(ctx, tc.addr)
				if c != nil || !tc.check(err) {
					t.Fatalf("Dial = %v, %v", c, err)
				}
				var oe *net.OpError
				if !errors.As(err, &oe) || oe.Op != "dial" {
					t.Errorf("error %v is not a dial *net.OpError", err)
				}
				if tc.wantMsg != "" && err.Error() != tc.wantMsg {
					t.Errorf("error %q, want %q", err, tc.wantMsg)
				}
				if got := time.Since(start); got != tc.took {
					t.Errorf("failed after %v, want %v", got, tc.took)
				}
			})
		})
	}
}

// TestNetworkDialFreesPort checks that failed and closed dials give their
// ephemeral port back.
func TestNetworkDialFreesPort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(Config{EphemeralPorts: [2]int{40000, 40000}, Link: Link{Latency: time.Millisecond}})
		client, server := n.Host("client"), n.Host("server")
		bg := context.Background()
		if _, err := client.Dial(bg, "server:21"); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("want refused, got %v", err)
		}
		ctx, cancel := context.WithTimeout(bg, time.Microsecond)
		_, err := client.Dial(ctx, "server:21")
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("want deadline, got %v", err)
		}
		ln, _ := server.Listen(bg, ":21")
		defer ln.Close()
		c, err := client.Dial(bg, "server:21")
		if err != nil {
			t.Fatal(err)
		}
		if c.LocalAddr().(*net.TCPAddr).Port != 40000 {
			t.Errorf("local address %v", c.LocalAddr())
		}
		if _, err := client.Dial(bg, "server:21"); !errors.Is(err, syscall.EADDRNOTAVAIL) {
			t.Errorf("second dial: %v, want EADDRNOTAVAIL", err)
		}
		c.Close()
		if c, err = client.Dial(bg, "server:21"); err != nil {
			t.Errorf("dial after Close: %v", err)
		} else {
			c.Close()
		}
	})
}

// TestNetworkDialCancelAfterSYN: cancelling once the connection is in the
// accept queue aborts it; the server sees the RST.
func TestNetworkDialCancelAfterSYN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const lat = 5 * time.Millisecond
		n := NewNetwork(Config{Link: Link{Latency: lat}})
		ln, _ := n.Host("server").Listen(context.Background(), ":21")
		defer ln.Close()
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 7*time.Millisecond)
		defer cancel()
		if _, err := n.Host("client").Dial(ctx, "server:21"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Dial: %v", err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Read(make([]byte, 1))
		if !errors.Is(err, syscall.ECONNRESET) || time.Since(start) != 7*time.Millisecond+lat {
			t.Errorf("server Read: %v after %v, want ECONNRESET after 12ms", err, time.Since(start))
		}
		s.Close()
	})
}

func TestNetworkListen(t *testing.T) {
	bg := context.Background()
	n := NewNetwork(Config{EphemeralPorts: [2]int{50000, 50001}})
	h := n.Host("server")
	for _, tc := range []struct {
		addr    string
		errno   syscall.Errno // 0: success
		wantMsg string
	}{
		{":21", 0, ""},
		{":21", syscall.EADDRINUSE, "listen tcp 127.0.0.1:21: bind: address already in use"},
		{"server:21", syscall.EADDRINUSE, ""},
		{"127.0.0.1:22", 0, ""},
		{"0.0.0.0:23", 0, ""},
		{"10.1.1.1:24", syscall.EADDRNOTAVAIL, "listen tcp: bind: cannot assign requested address"},
		{"other:24", syscall.EADDRNOTAVAIL, ""},
		{":0", 0, ""},
		{":0", 0, ""},
		{":0", syscall.EADDRINUSE, ""}, // the ephemeral range is used up
	} {
		ln, err := h.Listen(bg, tc.addr)
		if tc.errno == 0 {
			if err != nil {
				t.Errorf("Listen(%q): %v", tc.addr, err)
				continue
			}
			a, ok := ln.Addr().(*net.TCPAddr)
			if !ok || !a.IP.Equal(net.IPv4(127, 0, 0, 1)) || (tc.addr == ":0" && (a.Port < 50000 || a.Port > 50001)) {
				t.Errorf("Listen(%q): address %v", tc.addr, ln.Addr())
			}
			continue
		}
		if ln != nil || !errors.Is(err, tc.errno) {
			t.Errorf("Listen(%q) = %v, %v; want %v", tc.addr, ln, err, tc.errno)
		}
		if tc.wantMsg != "" && (err == nil || err.Error() != tc.wantMsg) {
			t.Errorf("Listen(%q) error %q, want %q", tc.addr, err, tc.wantMsg)
		}
	}
}

func TestNetworkListenerClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const lat = 5 * time.Millisecond
		bg := context.Background()
		n := NewNetwork(Config{Link: Link{Latency: lat}})
		client, server := n.Host("client"), n.Host("server")
		ln, err := server.Listen(bg, ":21")
		if err != nil {
			t.Fatal(err)
		}
		// A connection left in the accept queue.
		pending, err := client.Dial(bg, "server:21")
		if err != nil {
			t.Fatal(err)
		}
		// Drain it, then block in Accept.
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		pending2, err := client.Dial(bg, "server:21")
		if err != nil {
			t.Fatal(err)
		}
		ln2 := ln
		ln, err = server.Listen(bg, ":22")
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		type res struct {
			err error
			at  time.Time
		}
		done := make(chan res)
		go func() { _, err := ln.Accept(); done <- res{err, time.Now()} }()
		time.Sleep(10 * time.Millisecond)
		ln.Close()
		r := <-done
		if !errors.Is(r.err, net.ErrClosed) || r.at.Sub(start) != 10*time.Millisecond {
			t.Errorf("Accept: %v after %v, want net.ErrClosed after 10ms", r.err, r.at.Sub(start))
		}
		if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close: %v", err)
		}
		// The listener on 21 still has pending2 queued: closing it resets
		// pending2 but not the accepted s.
		t0 := time.Now()
		ln2.Close()
		if _, err := pending2.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) || time.Since(t0) != lat {
			t.Errorf("queued conn Read: %v after %v, want ECONNRESET after %v", err, time.Since(t0), lat)
		}
		s.Write([]byte("still here"))
		if k, err := pending.Read(make([]byte, 20)); err != nil || k != 10 {
			t.Errorf("accepted conn broken by listener close: %d, %v", k, err)
		}
		// The ports are free: dialling is refused, listening works.
		if _, err := client.Dial(bg, "server:21"); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("Dial to closed listener: %v", err)
		}
		for _, a := range []string{":21", ":22"} {
			l, err := server.Listen(bg, a)
			if err != nil {
				t.Errorf("Listen(%s) after Close: %v", a, err)
				continue
			}
			l.Close()
		}
		pending.Close()
		pending2.Close()
		s.Close()
	})
}

func TestNetworkAcceptDeadline(t *testing.T) {
	for _, tc := range []struct {
		name     string
		newDL    time.Duration // set at 100ms, while Accept is blocked
		wantTook time.Duration
	}{{"extended", 2 * time.Second, 2 * time.Second}, {"shortened", 200 * time.Millisecond, 200 * time.Millisecond}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := NewNetwork(Config{})
				ln, _ := n.Host("server").Listen(context.Background(), ":21")
				defer ln.Close()
				start := time.Now()
				ln.(*Listener).SetDeadline(start.Add(time.Second))
				time.AfterFunc(100*time.Millisecond, func() { ln.(*Listener).SetDeadline(start.Add(tc.newDL)) })
				_, err := ln.Accept()
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() || time.Since(start) != tc.wantTook {
					t.Errorf("Accept: %v after %v, want timeout after %v", err, time.Since(start), tc.wantTook)
				}
			})
		})
	}
}

func TestNetworkDialFrom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bg := context.Background()
		n := NewNetwork(Config{TimeWait: time.Minute})
		server, client := n.Host("server"), n.Host("client")
		ln, _ := client.Listen(bg, ":5000")
		ln2, _ := client.Listen(bg, ":5001")
		defer ln.Close()
		defer ln2.Close()
		c1, err := server.DialFrom(bg, 20, "client:5000")
		if err != nil {
			t.Fatal(err)
		}
		if c1.LocalAddr().String() != "127.0.0.1:20" {
			t.Errorf("local address %v, want 127.0.0.1:20", c1.LocalAddr())
		}
		if _, err := server.DialFrom(bg, 20, "client:5000"); !errors.Is(err, syscall.EADDRNOTAVAIL) {
			t.Errorf("same 4-tuple: %v, want EADDRNOTAVAIL", err)
		}
		c2, err := server.DialFrom(bg, 20, "client:5001")
		if err != nil {
			t.Errorf("same port, other peer: %v", err)
		}
		if _, err := server.Listen(bg, ":20"); !errors.Is(err, syscall.EADDRINUSE) {
			t.Errorf("Listen on a port dialled from: %v, want EADDRINUSE", err)
		}
		// c1 closes first: its tuple is in TIME_WAIT for a minute.
		c1.Close()
		if _, err := server.DialFrom(bg, 20, "client:5000"); !errors.Is(err, syscall.EADDRNOTAVAIL) {
			t.Errorf("tuple in TIME_WAIT: %v, want EADDRNOTAVAIL", err)
		}
		time.Sleep(time.Minute)
		c3, err := server.DialFrom(bg, 20, "client:5000")
		if err != nil {
			t.Errorf("after TIME_WAIT: %v", err)
		} else {
			c3.Close()
		}
		c2.Close()
	})
}

func TestNetworkTimeWait(t *testing.T) {
	for _, tc := range []struct {
		name        string
		serverFirst bool // the server closes first: the client's close is passive
		wantFree    bool
	}{
		{"client closes first: TIME_WAIT", false, false},
		{"server closes first: no TIME_WAIT", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				bg := context.Background()
				n := NewNetwork(Config{EphemeralPorts: [2]int{40000, 40000}, TimeWait: time.Minute, Link: Link{Latency: time.Millisecond}})
				client := n.Host("client")
				ln, err := n.Host("server").Listen(bg, ":21")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				dial := func() error {
					c, err := client.Dial(bg, "server:21")
					if err == nil {
						c.Close()
						s, _ := ln.Accept()
						s.Close()
					}
					return err
				}
				cc, err := client.Dial(bg, "server:21")
				if err != nil {
					t.Fatal(err)
				}
				c := cc.(*Conn)
				sc, _ := ln.Accept()
				s := sc.(*Conn)
				var closedAt time.Time
				if tc.serverFirst {
					s.Close()
					io.ReadAll(c)
					c.Close()
				} else {
					closedAt = time.Now()
					c.Close()
					io.ReadAll(s)
					s.Close()
				}
				if tc.wantFree {
					if err := dial(); err != nil {
						t.Errorf("Dial: %v, want the port free", err)
					}
					return
				}
				if err := dial(); !errors.Is(err, syscall.EADDRNOTAVAIL) {
					t.Errorf("Dial: %v, want EADDRNOTAVAIL", err)
				}
				time.Sleep(time.Until(closedAt.Add(time.Minute - time.Nanosecond)))
				if err := dial(); !errors.Is(err, syscall.EADDRNOTAVAIL) {
					t.Errorf("Dial 1ns before TIME_WAIT ends: %v, want EADDRNOTAVAIL", err)
				}
				time.Sleep(time.Nanosecond)
				if err := dial(); err != nil {
					t.Errorf("Dial after TIME_WAIT: %v", err)
				}
			})
		})
	}
}

func TestNetworkSetLink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bg := context.Background()
		n := NewNetwork(Config{Link: Link{Latency: 5 * time.Millisecond}})
		n.SetLink("a", "far", Link{Latency: 30 * time.Millisecond})
		n.Host("near")
		for _, tc := range []struct {
			from, to string
			want     time.Duration
		}{{"a", "far", 60 * time.Millisecond}, {"far", "a", 60 * time.Millisecond}, {"a", "near", 10 * time.Millisecond}, {"a", "a", 10 * time.Millisecond}} {
			start := time.Now()
			if _, err := n.Host(tc.from).Dial(bg, tc.to+":1"); !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("%s→%s: %v", tc.from, tc.to, err)
			}
			if got := time.Since(start); got != tc.want {
				t.Errorf("%s→%s: round trip %v, want %v", tc.from, tc.to, got, tc.want)
			}
		}
		start := time.Now()
		if _, err := n.Host("a").Dial(bg, "localhost:1"); !errors.Is(err, syscall.ECONNREFUSED) || time.Since(start) != 10*time.Millisecond {
			t.Errorf("localhost: %v after %v", err, time.Since(start))
		}
	})
}
