package sim

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"ftpbench/internal/ftpaddr"
)

// The race knobs on the wire, in virtual time: each test runs a raw
// client against a server on the in-memory network inside a
// testing/synctest bubble, so instants are exact.

const raceLat = 10 * time.Millisecond // one-way latency of the tests' links

// raceBed is a server with race knobs and a logged-in raw client.
type raceBed struct {
	t      *testing.T
	n      *Network
	client *Host
	srv    *Server
	c      *srvClient
}

func newRaceBed(t *testing.T, nc Config, knobs RaceKnobs) *raceBed {
	t.Helper()
	if nc.Link == (Link{}) {
		nc.Link = Link{Latency: raceLat}
	}
	n := NewNetwork(nc)
	client, server := n.Host("client"), n.Host("server")
	ln, err := server.Listen(context.Background(), ":21")
	if err != nil {
		t.Fatal(err)
	}
	s := srvStartOn(t, ServerConfig{Network: server, Timeout: 10 * time.Second, Race: knobs}, ln)
	cc, err := client.Dial(context.Background(), "server:21")
	if err != nil {
		t.Fatal(err)
	}
	c := srvNewClient(t, cc)
	c.login()
	return &raceBed{t: t, n: n, client: client, srv: s, c: c}
}

// knobs parses an end mix and a fault mix for a test.
func raceKnobs(t *testing.T, end, faults string) RaceKnobs {
	t.Helper()
	e, err := ParseEndMix(end)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseFaults(faults)
	if err != nil {
		t.Fatal(err)
	}
	return RaceKnobs{End: e, Faults: f}
}

// pasv sends PASV and returns the address of the 227.
func (b *raceBed) pasv() string {
	b.t.Helper()
	ap, err := ftpaddr.Parse227(b.c.must("PASV", 227))
	if err != nil {
		b.t.Fatal(err)
	}
	return ap.String()
}

// dial connects the user-DTP to a passive address.
func (b *raceBed) dial(addr string) (net.Conn, error) {
	return b.client.Dial(context.Background(), addr)
}

// mustDial dials and fails the test on error.
func (b *raceBed) mustDial(addr string) net.Conn {
	b.t.Helper()
	d, err := b.dial(addr)
	if err != nil {
		b.t.Fatalf("data connect to %s: %v", addr, err)
	}
	b.t.Cleanup(func() { d.Close() })
	return d
}

// port listens on the client and sends PORT for it.
func (b *raceBed) port(lport int) net.Listener {
	b.t.Helper()
	dl, err := b.client.Listen(context.Background(), ":"+strconv.Itoa(lport))
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() { dl.Close() })
	hp, _ := ftpaddr.FormatHostPort(dl.Addr().(*net.TCPAddr).AddrPort())
	b.c.must("PORT "+hp, 200)
	return dl
}

// raceRead is what a reader saw, and when.
type raceRead struct {
	n    int64 // bytes read
	err  error // io.EOF at a clean end
	at   time.Time
	code int // control replies
	msg  string
}

// readData reads d until EOF or an error in a goroutine, then, like a
// strict user-DTP, closes it at once.
func readData(d net.Conn) <-chan raceRead {
	ch := make(chan raceRead, 1)
	go func() {
		var r raceRead
		buf := make([]byte, 32<<10)
		for r.err == nil {
			var k int
			k, r.err = d.Read(buf)
			r.n += int64(k)
		}
		r.at = time.Now()
		d.Close()
		ch <- r
	}()
	return ch
}

// readReply reads the next control reply in a goroutine.
func (b *raceBed) readReply() <-chan raceRead {
	ch := make(chan raceRead, 1)
	go func() {
		code, msg, err := b.c.tp.ReadResponse(0)
		ch <- raceRead{code: code, msg: msg, err: err, at: time.Now()}
	}()
	return ch
}

// retrPASV runs PASV and RETR of size bytes on a strict user-DTP and
// returns the data result, the final reply, and when the 150 arrived.
func (b *raceBed) retrPASV(size int64) (data, final raceRead, t150 time.Time) {
	b.t.Helper()
	d := b.mustDial(b.pasv())
	dc := readData(d)
	b.c.tp.Cmd("RETR /size/%d", size)
	b.c.expect(150)
	t150 = time.Now()
	fc := b.readReply()
	return <-dc, <-fc, t150
}

// TestServerEndsTransfersAsTheEndBehaviourSays: for each end behaviour,
// a strict user-DTP (reads to EOF, then closes at once) reading data and
// control concurrently sees the final reply and the data EOF at these
// instants after the 150 reply, over 10 ms links. Without a bandwidth
// limit the server's writes of 150, data and final reply at one instant
// arrive together, so close-then-226 and 226-then-close look alike here.
func TestServerEndsTransfersAsTheEndBehaviourSays(t *testing.T) {
	for _, tc := range []struct {
		end        string
		code       int
		eof, final time.Duration // after the 150
	}{
		// RFC 959 §5.2: the server closes the data connection, then sends 226.
		{"close-then-226", 226, 0, 0},
		{"226-then-close", 226, 0, 0},
		{"226-before-flush", 226, 0, 0},
		// prim-ftpd #258: 226 but the EOF only D later.
		{"delayed-close:50ms", 226, 50 * time.Millisecond, 0},
		// netxduo #404: 250 instead of 226.
		{"close-then-250", 250, 0, 0},
		// The client closes at EOF (+0); its FIN reaches the server
		// after 10 ms, whose 226 takes 10 ms more.
		{"226-after-client-close", 226, 0, 2 * raceLat},
	} {
		for _, mode := range []string{"pasv", "port"} {
			t.Run(tc.end+"/"+mode, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					b := newRaceBed(t, Config{}, raceKnobs(t, tc.end, ""))
					for _, size := range []int64{0, 1000, 100 << 10} {
						var data, final raceRead
						var t150 time.Time
						if mode == "pasv" {
							data, final, t150 = b.retrPASV(size)
						} else {
							dl := b.port(0)
							b.c.tp.Cmd("RETR /size/%d", size)
							d, err := dl.Accept()
							if err != nil {
								t.Fatal(err)
							}
							dc := readData(d)
							b.c.expect(150)
							t150 = time.Now()
							fc := b.readReply()
							data, final = <-dc, <-fc
						}
						if data.err != io.EOF || data.n != size {
							t.Fatalf("size %d: data %d bytes, %v; want %d bytes and EOF", size, data.n, data.err, size)
						}
						if final.err != nil || final.code != tc.code {
							t.Fatalf("size %d: final reply %d %q, %v; want %d", size, final.code, final.msg, final.err, tc.code)
						}
						if got := data.at.Sub(t150); got != tc.eof {
							t.Errorf("size %d: EOF %v after the 150, want %v", size, got, tc.eof)
						}
						if got := final.at.Sub(t150); got != tc.final {
							t.Errorf("size %d: %d %v after the 150, want %v", size, tc.code, got, tc.final)
						}
						b.c.must("NOOP", 200)
					}
					st := b.srv.RaceStats()
					e, _ := ParseEnd(tc.end)
					if st.Ends[e] != 3 || len(st.Ends) != 1 {
						t.Errorf("RaceStats().Ends = %v, want 3 × %v", st.Ends, e)
					}
				})
			})
		}
	}
}

// raceWire is how long n bytes take on a link of bw bytes per second.
func raceWire(n int, bw int64) time.Duration {
	return time.Duration(int64(n) * int64(time.Second) / bw)
}

// raceNear compares virtual instants up to the link's sub-nanosecond
// carry.
func raceNear(got, want time.Duration) bool {
	return got-want <= 2 && want-got <= 2
}

// TestServerOrdersEOFAnd226OnABusyLink: on a bandwidth-limited link the
// data connection and the control connection queue behind each other, a
// FIN like any packet, so the order in which the server closes and
// replies is the order in which the client sees EOF and the reply, each
// one packet's serialisation time apart.
func TestServerOrdersEOFAnd226OnABusyLink(t *testing.T) {
	const bw = 1 << 20
	reply := len("226 Transfer complete.\r\n") // 250's is as long
	for _, tc := range []struct {
		name string
		end  string
		code int
		gap  time.Duration // t(final reply) − t(EOF)
	}{
		{"the server closes the data connection and then sends 226", "close-then-226", 226, raceWire(reply, bw)},
		{"226 comes before the EOF when the server replies and then closes", "226-then-close", 226, -raceWire(npHeaderSize, bw)},
		{"the server closes the data connection and then sends 250", "close-then-250", 250, raceWire(reply, bw)},
		{"226 comes a tail ahead of the EOF when sent before the flush", "226-before-flush:4KiB", 226, -raceWire(4096+npHeaderSize, bw)},
	} {
		t.Run(tc.end, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newRaceBed(t, Config{Link: Link{Latency: raceLat, Bandwidth: bw}}, raceKnobs(t, tc.end, ""))
				data, final, _ := b.retrPASV(64 << 10)
				if data.err != io.EOF || data.n != 64<<10 || final.code != tc.code {
					t.Fatalf("%d bytes, %v, reply %d; want 64 KiB, EOF, %d", data.n, data.err, final.code, tc.code)
				}
				if gap := final.at.Sub(data.at); !raceNear(gap, tc.gap) {
					t.Errorf("%s: %d %v after the EOF, want %v", tc.name, tc.code, gap, tc.gap)
				}
			})
		})
	}
}

// TestServer226BeforeFlushTruncatesAnEagerClient: with 226-before-flush
// the 226 is queued on the shared link ahead of the data's tail, so it
// arrives tail/bandwidth before the EOF; a client that closes the data
// connection on 226 has all but the tail.
func TestServer226BeforeFlushTruncatesAnEagerClient(t *testing.T) {
	const size, tail = 256 << 10, 32 << 10
	const bw = 1 << 20 // 1 MiB/s: the 32 KiB tail takes 31.25 ms
	synctest.Test(t, func(t *testing.T) {
		b := newRaceBed(t, Config{Link: Link{Latency: raceLat, Bandwidth: bw}}, raceKnobs(t, "226-before-flush", ""))

		// Strict: reads to EOF, which comes 31.25 ms after the 226.
		data, final, _ := b.retrPASV(size)
		if data.err != io.EOF || data.n != size || final.code != 226 {
			t.Fatalf("strict client: %d bytes, %v, reply %d; want all %d, EOF, 226", data.n, data.err, final.code, size)
		}
		if gap, want := data.at.Sub(final.at), raceWire(tail+npHeaderSize, bw); !raceNear(gap, want) {
			t.Errorf("strict client: EOF %v after the 226, want %v", gap, want)
		}

		// Eager: closes the data connection on the 226.
		d := b.mustDial(b.pasv())
		dc := readData(d)
		b.c.tp.Cmd("RETR /size/%d", size)
		b.c.expect(150)
		b.c.expect(226)
		d.Close()
		if got := <-dc; got.n != size-tail {
			t.Errorf("eager client: %d bytes, want %d (all but the tail)", got.n, size-tail)
		}
		b.c.must("NOOP", 200)
	})
}

// TestServerDelayedCloseSendsEOFDAfter226 checks delayed-close:50ms
// against an eager client too: the session answers its next command while
// the old data connection is still open.
func TestServerDelayedCloseSendsEOFDAfter226(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newRaceBed(t, Config{}, raceKnobs(t, "delayed-close:50ms", ""))
		d := b.mustDial(b.pasv())
		dc := readData(d)
		b.c.tp.Cmd("RETR 1k.bin")
		b.c.expect(150)
		b.c.expect(226)
		t226 := time.Now()
		b.c.must("NOOP", 200) // 20 ms round trip, before the EOF
		if got := time.Since(t226); got != 2*raceLat {
			t.Errorf("NOOP answered %v after the 226, want %v", got, 2*raceLat)
		}
		data := <-dc
		if data.err != io.EOF || data.n != 1024 || data.at.Sub(t226) != 50*time.Millisecond {
			t.Errorf("data: %d bytes, %v, %v after the 226; want 1024, EOF, 50ms", data.n, data.err, data.at.Sub(t226))
		}
	})
}

// TestServerWithholds226UntilTheClientCloses: with 226-after-client-close
// a client that holds the data connection open until 226 gets no 226; it
// comes one round trip after the client closes, or, if the client never
// does, 426 after the server's Timeout.
func TestServerWithholds226UntilTheClientCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newRaceBed(t, Config{}, raceKnobs(t, "226-after-client-close", ""))
		d := b.mustDial(b.pasv())
		b.c.tp.Cmd("RETR 1k.bin")
		b.c.expect(150)
		fc := b.readReply()
		got, err := io.ReadAll(d) // the server's FIN: EOF
		if err != nil || len(got) != 1024 {
			t.Fatalf("data: %d bytes, %v", len(got), err)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		select {
		case r := <-fc:
			t.Fatalf("reply %d %q while the client holds the data connection", r.code, r.msg)
		default:
		}
		closed := time.Now()
		d.Close()
		if r := <-fc; r.code != 226 || r.at.Sub(closed) != 2*raceLat {
			t.Errorf("reply %d %v after the client's close, want 226 after %v", r.code, r.at.Sub(closed), 2*raceLat)
		}

		// A client that never closes: 426 once the server's Timeout
		// (10s) has passed since its FIN.
		d = b.mustDial(b.pasv())
		b.c.tp.Cmd("RETR 1k.bin")
		b.c.expect(150)
		start := time.Now()
		io.ReadAll(d)
		// The server's wait began as it sent the data, 150 and FIN, which
		// took 10 ms to arrive, and its 426 takes 10 ms too.
		msg := b.c.expect(426)
		if waited := time.Since(start); waited != 10*time.Second {
			t.Errorf("426 %q after %v, want the 10s Timeout", msg, waited)
		}
		d.Close()
		b.c.must("NOOP", 200)
	})
}

// TestServerNoFinalReplyAnswersTheNextCommand: no-final-reply closes the
// data connection and sends nothing; the next reply is the next command's.
func TestServerNoFinalReplyAnswersTheNextCommand(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newRaceBed(t, Config{}, raceKnobs(t, "no-final-reply", ""))
		d := b.mustDial(b.pasv())
		dc := readData(d)
		b.c.tp.Cmd("RETR 1k.bin")
		b.c.expect(150)
		if data := <-dc; data.err != io.EOF || data.n != 1024 {
			t.Fatalf("data: %d bytes, %v", data.n, data.err)
		}
		fc := b.readReply()
		time.Sleep(time.Second)
		synctest.Wait()
		select {
		case r := <-fc:
			t.Fatalf("reply %d %q after the data, want none", r.code, r.msg)
		default:
		}
		b.c.tp.Cmd("NOOP")
		if r := <-fc; r.code != 200 {
			t.Errorf("reply to NOOP: %d %q, want 200", r.code, r.msg)
		}
		if st := b.srv.Stats(); st.Transfers != 0 {
			t.Errorf("Transfers = %d, want 0: none ended with a reply", st.Transfers)
		}
	})
}

// TestServerStorEndBehaviours: on a STOR, 226-before-flush replies as
// soon as the first bytes arrive, while the client is still sending;
// close-then-250 closes and replies 250; delayed-close closes D after 226.
func TestServerStorEndBehaviours(t *testing.T) {
	for _, tc := range []struct {
		end        string
		code       int
		final, eof time.Duration // after the client's first write
	}{
		{"close-then-226", 226, 120 * time.Millisecond, 120 * time.Millisecond},
		{"226-before-flush", 226, 20 * time.Millisecond, 120 * time.Millisecond},
		{"close-then-250", 250, 120 * time.Millisecond, 120 * time.Millisecond},
		{"delayed-close:50ms", 226, 120 * time.Millisecond, 170 * time.Millisecond},
		{"226-after-client-close", 226, 120 * time.Millisecond, 120 * time.Millisecond},
	} {
		t.Run(tc.end, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newRaceBed(t, Config{}, raceKnobs(t, tc.end, ""))
				d := b.mustDial(b.pasv())
				b.c.tp.Cmd("STOR up.bin")
				b.c.expect(150)
				fc := b.readReply()
				start := time.Now()
				// Half the upload, 100 ms, the other half and the FIN.
				d.Write(srvWant(1000))
				time.Sleep(100 * time.Millisecond)
				d.Write(srvWant(1000))
				d.(*Conn).CloseWrite()
				dc := readData(d)
				final, data := <-fc, <-dc
				if final.code != tc.code {
					t.Fatalf("reply %d %q, want %d", final.code, final.msg, tc.code)
				}
				if got := final.at.Sub(start); got != tc.final {
					t.Errorf("%d %v after the first write, want %v", final.code, got, tc.final)
				}
				if got := data.at.Sub(start); data.err != io.EOF || got != tc.eof {
					t.Errorf("server's EOF %v (%v) after the first write, want %v", got, data.err, tc.eof)
				}
				b.c.must("NOOP", 200)
				if st := b.srv.Stats(); st.BytesReceived != 2000 {
					t.Errorf("BytesReceived = %d, want 2000", st.BytesReceived)
				}
			})
		})
	}
}

// TestServerLateListenRefusesAnEarlyConnect: late-listen:100ms answers
// PASV at once, but a connect right after the 227 is refused; one 100 ms
// after the 227 gets through. A transfer command sent before that waits
// for the listener.
func TestServerLateListenRefusesAnEarlyConnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const delay = 100 * time.Millisecond
		b := newRaceBed(t, Config{}, raceKnobs(t, "close-then-226", "late-listen:100ms"))
		addr := b.pasv()
		t227 := time.Now()
		if _, err := b.dial(addr); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("connect right after the 227: %v, want ECONNREFUSED", err)
		}
		time.Sleep(delay - time.Since(t227))
		d := b.mustDial(addr)
		dc := readData(d)
		b.c.tp.Cmd("RETR 1k.bin")
		b.c.expect(150)
		if data, final := <-dc, <-b.readReply(); data.n != 1024 || final.code != 226 {
			t.Errorf("connect %v after the 227: %d bytes, reply %d", delay, data.n, final.code)
		}

		// RETR at once, connect later: the server listens 100 ms after
		// the PASV and takes the connection then.
		addr = b.pasv()
		b.c.tp.Cmd("RETR 1k.bin")
		time.Sleep(delay)
		d = b.mustDial(addr)
		dc = readData(d)
		b.c.expect(150)
		if data, final := <-dc, <-b.readReply(); data.n != 1024 || final.code != 226 {
			t.Errorf("RETR before the listener: %d bytes, reply %d", data.n, final.code)
		}
		if n := b.srv.RaceStats().Faults[Fault{FaultLateListen, delay}]; n != 2 {
			t.Errorf("late-listen counted %d times, want 2", n)
		}
	})
}

// TestServerRefuseDataRefusesTheConnectAnd425: refuse-data on PASV
// refuses the connect and answers the transfer command 425; on PORT the
// server does not connect and answers 425.
func TestServerRefuseDataRefusesTheConnectAnd425(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newRaceBed(t, Config{}, raceKnobs(t, "close-then-226", "refuse-data"))
		if _, err := b.dial(b.pasv()); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("PASV connect: %v, want ECONNREFUSED", err)
		}
		b.c.must("RETR 1k.bin", 425)

		dl := b.port(0)
		b.c.must("RETR 1k.bin", 425)
		dl.(*Listener).SetDeadline(time.Now().Add(time.Second))
		if c, err := dl.Accept(); err == nil {
			t.Errorf("PORT: the server connected from %v", c.RemoteAddr())
		}
		b.c.must("NOOP", 200)
		if st := b.srv.Stats(); st.Errors != 2 {
			t.Errorf("Errors = %d, want 2", st.Errors)
		}
	})
}

// TestServerResetMidTransferResetsDataAnd426: reset-mid-transfer resets
// the data connection about half-way (ECONNRESET at the client) and
// answers 426, on RETR and on STOR.
func TestServerResetMidTransferResetsDataAnd426(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 1 << 20
		b := newRaceBed(t, Config{}, raceKnobs(t, "close-then-226", "reset-mid-transfer"))
		data, final, _ := b.retrPASV(size)
		if !errors.Is(data.err, syscall.ECONNRESET) || data.n > size/2 {
			t.Errorf("RETR data: %d bytes, %v; want at most %d, then ECONNRESET", data.n, data.err, size/2)
		}
		if final.code != 426 {
			t.Errorf("RETR reply %d %q, want 426", final.code, final.msg)
		}

		d := b.mustDial(b.pasv())
		b.c.tp.Cmd("STOR up.bin")
		b.c.expect(150)
		// Writes "succeed" until the RST is back, one round trip after
		// the server read the first bytes.
		var err error
		for sent := 0; err == nil && sent < size; sent += 32 << 10 {
			_, err = d.Write(srvWant(32 << 10))
		}
		if err == nil {
			time.Sleep(2 * raceLat)
			_, err = d.Write(srvWant(1))
		}
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("STOR write: %v, want ECONNRESET", err)
		}
		b.c.expect(426)
		b.c.must("NOOP", 200)
		if n := b.srv.RaceStats().Faults[Fault{Kind: FaultResetMidTransfer}]; n != 2 {
			t.Errorf("reset-mid-transfer counted %d times, want 2", n)
		}
	})
}

// TestServerSlowAcceptDelays150ByD: slow-accept:200ms takes the data
// connection 200 ms after the transfer command, so the 150 comes one
// round trip plus 200 ms after the RETR; on PORT the connect comes 200 ms
// late.
func TestServerSlowAcceptDelays150ByD(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const delay = 200 * time.Millisecond
		b := newRaceBed(t, Config{}, raceKnobs(t, "close-then-226", "slow-accept:200ms"))
		d := b.mustDial(b.pasv()) // the connect itself succeeds
		dc := readData(d)
		start := time.Now()
		b.c.tp.Cmd("RETR 1k.bin")
		b.c.expect(150)
		if got := time.Since(start); got != delay+2*raceLat {
			t.Errorf("PASV: 150 %v after RETR, want %v", got, delay+2*raceLat)
		}
		if data, final := <-dc, <-b.readReply(); data.n != 1024 || final.code != 226 {
			t.Errorf("PASV: %d bytes, reply %d", data.n, final.code)
		}

		dl := b.port(0)
		start = time.Now()
		b.c.tp.Cmd("RETR 1k.bin")
		dd, err := dl.Accept()
		if err != nil {
			t.Fatal(err)
		}
		// RETR travels 10 ms, the server waits 200 ms, its SYN 10 ms.
		if got := time.Since(start); got != delay+2*raceLat {
			t.Errorf("PORT: connect %v after RETR, want %v", got, delay+2*raceLat)
		}
		dc = readData(dd)
		b.c.expect(150)
		if data, final := <-dc, <-b.readReply(); data.n != 1024 || final.code != 226 {
			t.Errorf("PORT: %d bytes, reply %d", data.n, final.code)
		}
	})
}

// TestServerPassivePortsRunOutInTimeWait: with a passive range of two
// ports and a 1 s TIME_WAIT, the two ports whose data connections the
// server closed first are busy, so a third PASV within 1 s gets 425 (as
// pyftpdlib #176 and proftpd #2024); after TIME_WAIT the first port is
// back. A STOR, whose EOF the client sends first, leaves no TIME_WAIT.
func TestServerPassivePortsRunOutInTimeWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newRaceBed(t, Config{TimeWait: time.Second}, RaceKnobs{PassivePorts: [2]int{50000, 50001}})
		portOf := func(addr string) string {
			_, p, _ := net.SplitHostPort(addr)
			return p
		}
		retr := func(wantPort string) {
			t.Helper()
			addr := b.pasv()
			if p := portOf(addr); p != wantPort {
				t.Errorf("PASV port %s, want %s", p, wantPort)
			}
			d := b.mustDial(addr)
			dc := readData(d)
			b.c.tp.Cmd("RETR 1k.bin")
			b.c.expect(150)
			if data, final := <-dc, <-b.readReply(); data.n != 1024 || final.code != 226 {
				t.Fatalf("RETR: %d bytes, reply %d", data.n, final.code)
			}
		}
		start := time.Now()
		retr("50000")
		retr("50001")
		if code, msg := b.c.cmd("PASV"); code != 425 || !strings.Contains(msg, "No free passive port") {
			t.Errorf("third PASV %v after the first: %d %q, want 425 No free passive port", time.Since(start), code, msg)
		}
		if n := b.srv.RaceStats().NoFreePassivePort; n != 1 {
			t.Errorf("NoFreePassivePort = %d, want 1", n)
		}
		time.Sleep(time.Second)
		retr("50000")

		// STOR: the client closes first; the port is free at once.
		time.Sleep(time.Second)
		for range 2 {
			addr := b.pasv()
			if p := portOf(addr); p != "50000" {
				t.Errorf("PASV after a STOR: port %s, want 50000 again", p)
			}
			d := b.mustDial(addr)
			b.c.tp.Cmd("STOR up.bin")
			b.c.expect(150)
			d.Write(srvWant(1000))
			d.Close()
			b.c.expect(226)
		}
	})
}

// TestServerActiveSourcePortInTimeWait: the server-DTP connects from port
// L-1 = 20; once it closed a connection from 20 to the client's port P,
// that pair is in TIME_WAIT, so a second PORT to P within TimeWait gets
// 425 (proftpd PR #812); after TimeWait it works again.
func TestServerActiveSourcePortInTimeWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newRaceBed(t, Config{TimeWait: time.Second}, RaceKnobs{})
		const clientPort = 40000
		retr := func() {
			t.Helper()
			dl := b.port(clientPort)
			b.c.tp.Cmd("RETR 1k.bin")
			d, err := dl.Accept()
			if err != nil {
				t.Fatal(err)
			}
			if p := d.RemoteAddr().(*net.TCPAddr).Port; p != 20 {
				t.Errorf("active connection from port %d, want 20", p)
			}
			dl.Close()
			dc := readData(d)
			b.c.expect(150)
			if data, final := <-dc, <-b.readReply(); data.n != 1024 || final.code != 226 {
				t.Fatalf("RETR: %d bytes, reply %d", data.n, final.code)
			}
		}
		retr()
		dl := b.port(clientPort)
		b.c.must("RETR 1k.bin", 425)
		dl.Close()
		time.Sleep(time.Second)
		retr()
	})
}

// TestServerSeedReproducesTheEndPattern: two servers with the same seed
// end a run of transfers with the same sequence of replies; another seed
// gives another sequence.
func TestServerSeedReproducesTheEndPattern(t *testing.T) {
	run := func(seed uint64) string {
		var codes []string
		synctest.Test(t, func(t *testing.T) {
			k := raceKnobs(t, "close-then-226=0.5,close-then-250=0.5", "refuse-data=0.2")
			k.Seed = seed
			b := newRaceBed(t, Config{}, k)
			for range 40 {
				addr := b.pasv()
				d, err := b.dial(addr)
				if err != nil {
					codes = append(codes, "refused")
					b.c.must("RETR 1k.bin", 425)
					continue
				}
				dc := readData(d)
				b.c.tp.Cmd("RETR 1k.bin")
				b.c.expect(150)
				<-dc
				codes = append(codes, strconv.Itoa((<-b.readReply()).code))
			}
		})
		return strings.Join(codes, " ")
	}
	a, b, c := run(7), run(7), run(8)
	if a != b {
		t.Errorf("seed 7 twice:\n%s\n%s", a, b)
	}
	if a == c {
		t.Errorf("seeds 7 and 8 gave the same pattern: %s", a)
	}
	for _, want := range []string{"226", "250", "refused"} {
		if !strings.Contains(a, want) {
			t.Errorf("40 transfers never gave %s: %s", want, a)
		}
	}
}
