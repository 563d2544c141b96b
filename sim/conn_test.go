package sim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// npConnect opens a connection from host "client" to host "server" of n
// and returns both ends; the listener is closed again.
func npConnect(t testing.TB, n *Network) (client, server *Conn) {
	t.Helper()
	ln, err := n.Host("server").Listen(context.Background(), ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	c, err := n.Host("client").Dial(context.Background(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	return c.(*Conn), r.c.(*Conn)
}

// npReadAll reads from c until an error, returning the bytes, the error
// (nil for io.EOF) and when it ended.
func npReadAll(c net.Conn) ([]byte, error, time.Time) {
	var got []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			return got, nil, time.Now()
		}
		if err != nil {
			return got, err, time.Now()
		}
	}
}

func npPattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func npIsErrno(err error, errno syscall.Errno) bool { return errors.Is(err, errno) }

func TestConnDeliveryLatency(t *testing.T) {
	for _, lat := range []time.Duration{0, time.Millisecond, 50 * time.Millisecond} {
		t.Run(lat.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := NewNetwork(Config{Link: Link{Latency: lat}})
				c, s := npConnect(t, n)
				for _, dir := range []struct {
					name string
					w, r *Conn
				}{{"client→server", c, s}, {"server→client", s, c}} {
					start := time.Now()
					if _, err := dir.w.Write([]byte("hello")); err != nil {
						t.Fatal(err)
					}
					buf := make([]byte, 16)
					k, err := dir.r.Read(buf)
					if err != nil || string(buf[:k]) != "hello" {
						t.Fatalf("%s: Read = %q, %v", dir.name, buf[:k], err)
					}
					if got := time.Since(start); got != lat {
						t.Errorf("%s: delivered after %v, want %v", dir.name, got, lat)
					}
				}
				c.Close()
				s.Close()
			})
		})
	}
}

func TestConnBandwidth(t *testing.T) {
	const mb = 1_000_000
	for _, tc := range []struct {
		name   string
		cfg    Config
		conns  int // parallel connections sharing the link
		size   int // bytes per connection
		wantAt time.Duration
	}{
		// Serialisation 1 s, then the FIN (a 40-byte header: 40 µs at
		// 1 MB/s) behind the data, then 10 ms of travel.
		{"1MB at 1MB/s, 10ms", Config{Link: Link{Latency: 10 * time.Millisecond, Bandwidth: mb}}, 1, mb, 1010*time.Millisecond + 40*time.Microsecond},
		// Two connections share the link: 1 MB in total still takes 1 s,
		// and both FINs queue on it.
		{"2x500kB share 1MB/s", Config{Link: Link{Latency: 10 * time.Millisecond, Bandwidth: mb}}, 2, mb / 2, 1010*time.Millisecond + 80*time.Microsecond},
		// Unlimited bandwidth: window-limited, one 256 KiB window per
		// latency (window updates are instant): ceil(1e6/262144) = 4.
		{"1MB window-limited", Config{Link: Link{Latency: 10 * time.Millisecond}}, 1, mb, 40 * time.Millisecond},
		// A small window throttles below the bandwidth: each 1000 B
		// window takes 1 ms to serialise plus 1 ms to travel; then the
		// FIN's 40 µs.
		{"1MB, 1000B window, 1ms, 1MB/s", Config{Buffer: 1000, Link: Link{Latency: time.Millisecond, Bandwidth: mb}}, 1, mb, 2*time.Second + 40*time.Microsecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := NewNetwork(tc.cfg)
				type end struct {
					c, s *Conn
				}
				ends := make([]end, tc.conns)
				for i := range ends {
					ends[i].c, ends[i].s = npConnect(t, n)
				}
				data := npPattern(tc.size)
				start := time.Now()
				done := make(chan time.Time, tc.conns)
				for _, e := range ends {
					go func() {
						if k, err := e.c.Write(data); k != len(data) || err != nil {
							t.Errorf("Write = %d, %v", k, err)
						}
						e.c.CloseWrite()
					}()
					go func() {
						got, err, at := npReadAll(e.s)
						if err != nil || !bytes.Equal(got, data) {
							t.Errorf("read %d bytes, %v; want %d bytes intact", len(got), err, len(data))
						}
						done <- at
					}()
				}
				var last time.Time
				for range ends {
					if at := <-done; at.After(last) {
						last = at
					}
				}
				if got := last.Sub(start); got != tc.wantAt {
					t.Errorf("all read (EOF) after %v, want %v", got, tc.wantAt)
				}
				for _, e := range ends {
					e.c.Close()
					e.s.Close()
				}
			})
		})
	}
}

func TestConnFlowControl(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(Config{Buffer: 1000})
		c, s := npConnect(t, n)
		data := npPattern(2500)
		start := time.Now()
		done := make(chan struct{})
		go func() {
			defer close(done)
			if k, err := c.Write(data); k != len(data) || err != nil {
				t.Errorf("Write = %d, %v", k, err)
			}
		}()
		// Each read of 1000 bytes lets the writer buffer 1000 more; it
		// returns once the last 500 fit.
		got := make([]byte, 0, len(data))
		for i, step := range []struct {
			read        int
			wantBlocked bool
		}{{1000, true}, {1000, true}, {500, false}} {
			synctest.Wait()
			blocked := true
			select {
			case <-done:
				blocked = false
			default:
			}
			if blocked != step.wantBlocked {
				t.Fatalf("step %d (%d bytes read): writer blocked = %v, want %v", i, len(got), blocked, step.wantBlocked)
			}
			buf := make([]byte, step.read)
			if _, err := io.ReadFull(s, buf); err != nil {
				t.Fatal(err)
			}
			got = append(got, buf...)
		}
		if time.Since(start) != 0 {
			t.Errorf("virtual time moved: %v", time.Since(start))
		}
		if !bytes.Equal(got, data) {
			t.Error("data corrupted")
		}
		c.Close()
		s.Close()
	})
}

func TestConnCloseWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const lat = 10 * time.Millisecond
		n := NewNetwork(Config{Link: Link{Latency: lat}})
		c, s := npConnect(t, n)
		start := time.Now()
		c.Write([]byte("data"))
		if err := c.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		got, err, at := npReadAll(s)
		if string(got) != "data" || err != nil || at.Sub(start) != lat {
			t.Errorf("server read %q, %v after %v; want \"data\", EOF after %v", got, err, at.Sub(start), lat)
		}
		if k, err := s.Read(make([]byte, 1)); k != 0 || err != io.EOF {
			t.Errorf("Read after EOF = %d, %v; want 0, EOF", k, err)
		}
		// Half-close: the other direction still works.
		s.Write([]byte("reply"))
		s.Close()
		got, err, _ = npReadAll(c)
		if string(got) != "reply" || err != nil {
			t.Errorf("client read %q, %v; want \"reply\", EOF", got, err)
		}
		if _, err := c.Write([]byte("x")); !npIsErrno(err, syscall.EPIPE) {
			t.Errorf("Write after CloseWrite: %v, want EPIPE", err)
		}
		c.Close()
	})
}

func TestConnCloseResets(t *testing.T) {
	const lat = 10 * time.Millisecond
	for _, tc := range []struct {
		name      string
		unread    string        // what the server sends the client before it closes
		wait      time.Duration // before the client closes
		close     func(*Conn) error
		wantReset bool
	}{
		{"close, all read: FIN", "", lat, (*Conn).Close, false},
		{"close with unread delivered data: RST", "unread", 2 * lat, (*Conn).Close, true},
		{"close with data in flight: RST", "in flight", 0, (*Conn).Close, true},
		{"Reset", "", lat, (*Conn).Reset, true},
		{"SetLinger(0) then Close", "", lat, func(c *Conn) error { c.SetLinger(0); return c.Close() }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := NewNetwork(Config{Link: Link{Latency: lat}})
				c, s := npConnect(t, n)
				if tc.unread != "" {
					s.Write([]byte(tc.unread))
				}
				time.Sleep(tc.wait)
				closed := time.Now()
				if err := tc.close(c); err != nil {
					t.Fatal(err)
				}
				k, err := s.Read(make([]byte, 10))
				if got := time.Since(closed); got != lat {
					t.Errorf("server Read returned after %v, want %v", got, lat)
				}
				if tc.wantReset {
					if k != 0 || !npIsErrno(err, syscall.ECONNRESET) {
						t.Errorf("server Read = %d, %v; want ECONNRESET", k, err)
					}
					if _, err := s.Write([]byte("x")); !npIsErrno(err, syscall.ECONNRESET) {
						t.Errorf("server Write after RST: %v, want ECONNRESET", err)
					}
				} else if k != 0 || err != io.EOF {
					t.Errorf("server Read = %d, %v; want EOF", k, err)
				}
				s.Close()
			})
		})
	}
}

// TestConnResetDiscardsUndelivered checks that an RST overtakes the bytes
// still queued on a slow link: the peer reads what arrived before the RST,
// then ECONNRESET.
func TestConnResetDiscardsUndelivered(t *testing.T) {
	for _, readFrom := range []time.Duration{0, 2 * time.Second} {
		t.Run("reader starts at "+readFrom.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const lat = 10 * time.Millisecond
				n := NewNetwork(Config{Link: Link{Latency: lat, Bandwidth: 100_000}})
				c, s := npConnect(t, n)
				start := time.Now()
				data := npPattern(100_000)
				if _, err := c.Write(data); err != nil {
					t.Fatal(err)
				}
				time.AfterFunc(500*time.Millisecond, func() { c.Reset() })
				time.Sleep(readFrom)
				got, err, at := npReadAll(s)
				// 16 KiB runs take 163.84 ms each; three have arrived
				// when the RST does, at 510 ms; the rest is lost.
				if len(got) != 3*npSegSize || !bytes.Equal(got, data[:len(got)]) {
					t.Errorf("read %d bytes before the RST, want %d", len(got), 3*npSegSize)
				}
				if want := max(510*time.Millisecond, readFrom); !npIsErrno(err, syscall.ECONNRESET) || at.Sub(start) != want {
					t.Errorf("got %v after %v, want ECONNRESET after %v", err, at.Sub(start), want)
				}
				s.Close()
			})
		})
	}
}

func TestConnWriteAfterPeerClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const lat = 10 * time.Millisecond
		n := NewNetwork(Config{Link: Link{Latency: lat}})
		c, s := npConnect(t, n)
		start := time.Now()
		s.Close()
		if k, err := c.Read(make([]byte, 1)); k != 0 || err != io.EOF || time.Since(start) != lat {
			t.Fatalf("Read = %d, %v after %v; want EOF after %v", k, err, time.Since(start), lat)
		}
		// The bytes reach the closed peer at 20ms, its RST is back at 30ms.
		for i := 0; i < 2; i++ {
			if _, err := c.Write([]byte("late")); err != nil {
				t.Fatalf("write %d before the RST is back: %v", i, err)
			}
		}
		time.Sleep(2*lat - time.Nanosecond)
		if _, err := c.Write([]byte("late")); err != nil {
			t.Fatalf("write just before the RST is back: %v", err)
		}
		time.Sleep(time.Nanosecond)
		_, err := c.Write([]byte("late"))
		if !npIsErrno(err, syscall.ECONNRESET) {
			t.Fatalf("write after the RST: %v, want ECONNRESET", err)
		}
		if want := "write tcp " + c.LocalAddr().String() + "->" + c.RemoteAddr().String() + ": write: connection reset by peer"; err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
		c.Close()
	})
}

func TestConnLocalClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(Config{Buffer: 10})
		c, s := npConnect(t, n)
		// A blocked Read and a blocked Write (window full) both end
		// with net.ErrClosed when the Conn is closed.
		errs := make(chan error, 2)
		go func() { _, err := c.Read(make([]byte, 1)); errs <- err }()
		go func() { _, err := c.Write(make([]byte, 20)); errs <- err }()
		synctest.Wait()
		time.Sleep(time.Second)
		c.Close()
		for range 2 {
			if err := <-errs; !errors.Is(err, net.ErrClosed) {
				t.Errorf("blocked op: %v, want net.ErrClosed", err)
			}
		}
		for name, op := range map[string]func() error{
			"Read":        func() error { _, err := c.Read(make([]byte, 1)); return err },
			"Write":       func() error { _, err := c.Write([]byte("x")); return err },
			"Close":       c.Close,
			"CloseWrite":  c.CloseWrite,
			"SetDeadline": func() error { return c.SetDeadline(time.Now()) },
		} {
			if err := op(); !errors.Is(err, net.ErrClosed) {
				t.Errorf("%s after Close: %v, want net.ErrClosed", name, err)
			}
		}
		s.Close()
	})
}

func TestConnDeadlines(t *testing.T) {
	const lat = 5 * time.Millisecond
	ms := time.Millisecond
	for _, tc := range []struct {
		name     string
		deadline time.Duration                  // read deadline, from start
		change   func(s, c *Conn, t0 time.Time) // run concurrently with the Read
		want     time.Duration                  // when Read returns
		wantData string                         // else a timeout
	}{
		{"fires", 100 * ms, nil, 100 * ms, ""},
		{"extended while blocked", 100 * ms, func(s, c *Conn, t0 time.Time) {
			time.Sleep(50 * ms)
			s.SetReadDeadline(t0.Add(200 * ms))
		}, 200 * ms, ""},
		{"shortened while blocked", 100 * ms, func(s, c *Conn, t0 time.Time) {
			time.Sleep(20 * ms)
			s.SetDeadline(t0.Add(30 * ms))
		}, 30 * ms, ""},
		{"moved into the past while blocked", 100 * ms, func(s, c *Conn, t0 time.Time) {
			time.Sleep(20 * ms)
			s.SetReadDeadline(t0)
		}, 20 * ms, ""},
		{"cleared while blocked", 100 * ms, func(s, c *Conn, t0 time.Time) {
			time.Sleep(50 * ms)
			s.SetReadDeadline(time.Time{})
			time.Sleep(100 * ms)
			c.Write([]byte("late"))
		}, 150*ms + lat, "late"},
		{"data before the deadline", 100 * ms, func(s, c *Conn, t0 time.Time) {
			time.Sleep(50 * ms)
			c.Write([]byte("x"))
		}, 50*ms + lat, "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := NewNetwork(Config{Link: Link{Latency: lat}})
				c, s := npConnect(t, n)
				t0 := time.Now()
				s.SetReadDeadline(t0.Add(tc.deadline))
				if tc.change != nil {
					go tc.change(s, c, t0)
				}
				buf := make([]byte, 10)
				k, err := s.Read(buf)
				if got := time.Since(t0); got != tc.want {
					t.Errorf("Read returned after %v, want %v", got, tc.want)
				}
				if tc.wantData != "" {
					if err != nil || string(buf[:k]) != tc.wantData {
						t.Errorf("Read = %q, %v; want %q", buf[:k], err, tc.wantData)
					}
				} else {
					var ne net.Error
					if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
						t.Errorf("Read error %v, want a net.Error timeout wrapping os.ErrDeadlineExceeded", err)
					}
				}
				synctest.Wait()
				c.Close()
				s.Close()
			})
		})
	}
}

func TestConnPastDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(Config{Buffer: 4})
		c, s := npConnect(t, n)
		c.Write([]byte("data"))
		t0 := time.Now()
		// Like Go's net: an expired deadline fails a Read even when data waits.
		s.SetReadDeadline(t0.Add(-time.Second))
		if _, err := s.Read(make([]byte, 4)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("Read past deadline: %v, want timeout", err)
		}
		s.SetReadDeadline(time.Time{})
		if buf := make([]byte, 4); func() bool { k, err := s.Read(buf); return err != nil || string(buf[:k]) != "data" }() {
			t.Error("data lost after a timeout")
		}
		// A Write blocked on the window times out with what it buffered.
		c.SetWriteDeadline(t0.Add(100 * time.Millisecond))
		k, err := c.Write([]byte("0123456789"))
		if k != 4 || !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(t0) != 100*time.Millisecond {
			t.Errorf("Write = %d, %v after %v; want 4, timeout after 100ms", k, err, time.Since(t0))
		}
		if time.Since(t0) != 100*time.Millisecond {
			t.Error("virtual time moved unexpectedly")
		}
		c.Close()
		s.Close()
	})
}

// BenchmarkConnTransfer measures the throughput of one connection without
// latency or bandwidth limit (the cost of the simulation itself).
func BenchmarkConnTransfer(b *testing.B) {
	n := NewNetwork(Config{})
	c, s := npConnect(b, n)
	const chunk = 32 << 10
	wbuf, rbuf := npPattern(chunk), make([]byte, chunk)
	b.SetBytes(chunk)
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for i := 0; i < b.N; i++ {
			if _, err := c.Write(wbuf); err != nil {
				b.Error(err)
				return
			}
		}
		c.CloseWrite()
	}()
	total := 0
	for {
		k, err := s.Read(rbuf)
		total += k
		if err != nil {
			break
		}
	}
	b.StopTimer()
	if total != b.N*chunk {
		b.Fatalf("read %d bytes, want %d", total, b.N*chunk)
	}
	c.Close()
	s.Close()
}

// TestConnWakersRecycled: once both ends of a connection are closed, the
// wakers its blocked Reads used go back to the network and the next
// connection's Reads take them; a Read blocked when its Conn is closed
// still returns at once.
func TestConnWakersRecycled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(Config{Link: Link{Latency: time.Millisecond}})
		c, s := npConnect(t, n)
		done := make(chan error, 1)
		go func() {
			_, err := s.Read(make([]byte, 8)) // blocks: nothing was written
			done <- err
		}()
		synctest.Wait()
		c.Close()
		s.Close()
		if err := <-done; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Read blocked across Close: %v, want net.ErrClosed", err)
		}
		if got := len(n.wakers.spare); got != 1 {
			t.Fatalf("%d spare wakers after both ends closed, want 1 (the server's Read)", got)
		}
		c2, s2 := npConnect(t, n)
		go func() {
			_, err := s2.Read(make([]byte, 8))
			done <- err
		}()
		synctest.Wait()
		if got := len(n.wakers.spare); got != 0 {
			t.Errorf("%d spare wakers while a new Read waits, want 0 (reused)", got)
		}
		c2.Close()
		s2.Close()
		<-done
	})
}
