package sim

import (
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// The faults that strike once the data connection is open and the 150
// sent (hang, garbage-reply, drop-control, trickle, 421), on the wire in
// virtual time. The server sends the 150 at 5 one-way latencies after the
// PASV (PASV→227, connect, RETR), so it arrives at 6L; the transfer
// command's other replies and the data start from the server at 5L.

// TestServerHangSendsNothingAfterThe150: after the 150 no data and no
// reply come. When the client closes the control connection the server
// ends the session, which closes the data connection (EOF one round trip
// later); when the client does nothing the session ends after the
// server's Timeout, counted from the transfer command.
func TestServerHangSendsNothingAfterThe150(t *testing.T) {
	t.Run("client-closes", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := newRaceBed(t, Config{}, raceKnobs(t, "close-then-226", "hang"))
			d := b.mustDial(b.pasv())
			dc := readData(d)
			b.c.tp.Cmd("RETR 1k.bin")
			b.c.expect(150)
			fc := b.readReply()
			b.c.tp.Cmd("NOOP") // discarded: a hung server answers nothing
			time.Sleep(5 * time.Second)
			synctest.Wait()
			select {
			case r := <-fc:
				t.Fatalf("reply %d %q, %v during the hang, want none", r.code, r.msg, r.err)
			case r := <-dc:
				t.Fatalf("data %d bytes, %v during the hang, want none", r.n, r.err)
			default:
			}
			closed := time.Now()
			b.c.conn.Close()
			if data := <-dc; data.err != io.EOF || data.n != 0 || data.at.Sub(closed) != 2*raceLat {
				t.Errorf("data: %d bytes, %v, %v after the client's close; want EOF after 0 bytes and %v", data.n, data.err, data.at.Sub(closed), 2*raceLat)
			}
			<-fc
			synctest.Wait()
			if st := b.srv.Stats(); st.ActiveSessions != 0 || st.Errors != 1 || st.Transfers != 0 {
				t.Errorf("stats %+v, want the session ended, 1 error, no transfer", st)
			}
			if n := b.srv.RaceStats().Faults[Fault{Kind: FaultHang}]; n != 1 {
				t.Errorf("hang counted %d times, want 1", n)
			}
		})
	})
	t.Run("server-timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := newRaceBed(t, Config{}, raceKnobs(t, "close-then-226", "hang"))
			d := b.mustDial(b.pasv())
			dc := readData(d)
			sent := time.Now()
			b.c.tp.Cmd("RETR 1k.bin")
			b.c.expect(150)
			r := <-b.readReply()
			// RETR reaches the server after L; the server's 10 s Timeout
			// ends the session, whose FIN takes L back.
			if !errors.Is(r.err, io.EOF) || r.at.Sub(sent) != 10*time.Second+2*raceLat {
				t.Errorf("control: %d %q, %v at %v after RETR; want EOF at %v", r.code, r.msg, r.err, r.at.Sub(sent), 10*time.Second+2*raceLat)
			}
			if data := <-dc; data.err != io.EOF || data.n != 0 {
				t.Errorf("data: %d bytes, %v; want EOF after 0 bytes", data.n, data.err)
			}
		})
	})
}

// TestServerGarbageReplyAfterTheData: the data arrives whole and ends
// with EOF, then the final reply is GarbageReply, which a reply parser
// rejects; the session goes on.
func TestServerGarbageReplyAfterTheData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newRaceBed(t, Config{}, raceKnobs(t, "close-then-226", "garbage-reply"))
		d := b.mustDial(b.pasv())
		dc := readData(d)
		b.c.tp.Cmd("RETR 1k.bin")
		b.c.expect(150)
		if data := <-dc; data.err != io.EOF || data.n != 1024 {
			t.Errorf("data: %d bytes, %v; want 1024 and EOF", data.n, data.err)
		}
		line, err := b.c.tp.ReadLine()
		if err != nil || line != GarbageReply {
			t.Errorf("final reply line %q, %v; want %q", line, err, GarbageReply)
		}
		b.c.must("NOOP", 200)
		if n := b.srv.RaceStats().Faults[Fault{Kind: FaultGarbageReply}]; n != 1 {
			t.Errorf("garbage-reply counted %d times, want 1", n)
		}
	})
}

// TestServerDropControlClosesBothConnections: half-way through a RETR
// (on a STOR, at the first bytes) the control connection closes with no
// final reply, and the data connection with a FIN: the client reads half
// the file, then EOF — a truncation only the missing 226 reveals.
func TestServerDropControlClosesBothConnections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 1 << 20
		b := newRaceBed(t, Config{}, raceKnobs(t, "close-then-226", "drop-control"))
		d := b.mustDial(b.pasv())
		dc := readData(d)
		b.c.tp.Cmd("RETR /size/%d", size)
		b.c.expect(150)
		if r := <-b.readReply(); !errors.Is(r.err, io.EOF) {
			t.Errorf("control: %d %q, %v; want EOF", r.code, r.msg, r.err)
		}
		if data := <-dc; data.err != io.EOF || data.n != size/2 {
			t.Errorf("data: %d bytes, %v; want %d and EOF", data.n, data.err, size/2)
		}
		synctest.Wait()
		if st := b.srv.Stats(); st.ActiveSessions != 0 || st.Errors != 1 {
			t.Errorf("stats %+v: want the session ended with 1 error", st)
		}

		// STOR on a new session: the control connection drops once the
		// first bytes have arrived and the data connection closes: as in
		// TCP, the next write draws an RST and the one after fails.
		b2 := newRaceBed(t, Config{}, raceKnobs(t, "close-then-226", "drop-control"))
		d2 := b2.mustDial(b2.pasv())
		b2.c.tp.Cmd("STOR up.bin")
		b2.c.expect(150)
		fc := b2.readReply()
		var err error
		for i := 0; i < 3 && err == nil; i++ {
			_, err = d2.Write(srvWant(32 << 10))
			time.Sleep(2 * raceLat)
		}
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("STOR write: %v, want ECONNRESET", err)
		}
		if r := <-fc; !errors.Is(r.err, io.EOF) {
			t.Errorf("STOR control: %d %q, %v; want EOF", r.code, r.msg, r.err)
		}
		if n := b2.srv.RaceStats().Faults[Fault{Kind: FaultDropControl}]; n != 1 {
			t.Errorf("drop-control counted %d times, want 1", n)
		}
	})
}

// TestServerTrickleSendsTheFinalReplyByteByByte: trickle:100ms sends
// "226 Transfer complete.\r\n" (24 bytes) one byte every 100 ms, so the
// reply is whole 23 × 100 ms after its first byte, which comes with the
// 150 and the data.
func TestServerTrickleSendsTheFinalReplyByteByByte(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const d = 100 * time.Millisecond
		b := newRaceBed(t, Config{}, raceKnobs(t, "close-then-226", "trickle:100ms"))
		data, final, t150 := b.retrPASV(1024)
		if data.err != io.EOF || data.n != 1024 || data.at != t150 {
			t.Errorf("data: %d bytes, %v at +%v; want 1024, EOF with the 150", data.n, data.err, data.at.Sub(t150))
		}
		const line = "226 Transfer complete.\r\n"
		if final.err != nil || final.code != 226 || final.at.Sub(t150) != time.Duration(len(line)-1)*d {
			t.Errorf("final reply %d %q, %v at +%v; want 226 at +%v", final.code, final.msg, final.err, final.at.Sub(t150), time.Duration(len(line)-1)*d)
		}
		b.c.must("NOOP", 200)
		if n := b.srv.RaceStats().Faults[Fault{Kind: FaultTrickle, Delay: d}]; n != 1 {
			t.Errorf("trickle counted %d times, want 1", n)
		}
	})
}

// TestServer421ClosesTheSession: the data connection closes with no data,
// the transfer command is answered 421 and the control connection closes.
func TestServer421ClosesTheSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newRaceBed(t, Config{}, raceKnobs(t, "close-then-226", "421"))
		data, final, t150 := b.retrPASV(1024)
		if data.err != io.EOF || data.n != 0 {
			t.Errorf("data: %d bytes, %v; want EOF after 0 bytes", data.n, data.err)
		}
		if final.err != nil || final.code != 421 || final.at != t150 || !strings.Contains(final.msg, "closing control connection") {
			t.Errorf("final reply %d %q, %v at +%v; want 421 with the 150", final.code, final.msg, final.err, final.at.Sub(t150))
		}
		if r := <-b.readReply(); !errors.Is(r.err, io.EOF) {
			t.Errorf("after 421: %d %q, %v; want EOF", r.code, r.msg, r.err)
		}
		synctest.Wait()
		st, rs := b.srv.Stats(), b.srv.RaceStats()
		if st.ActiveSessions != 0 || st.Transfers != 0 || rs.Faults[Fault{Kind: Fault421}] != 1 || len(rs.Ends) != 0 {
			t.Errorf("stats %+v, race stats %+v; want the session ended, no transfer, one 421, no end counted", st, rs)
		}
	})
}
