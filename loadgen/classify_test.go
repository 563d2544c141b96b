package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"syscall"
	"testing"

	"ftpbench/results"
)

// TestClassify maps the errors that end cycles to outcomes. EADDRNOTAVAIL
// — no local port, or a source address that is not local — is its own
// outcome, apart from refused: the server never saw the connection. It
// still counts as local exhaustion, so the user-PI backs off.
func TestClassify(t *testing.T) {
	bg := context.Background()
	canceled, cancel := context.WithCancel(bg)
	cancel()
	dial := func(errno error) error {
		return fmt.Errorf("connect server:21: %w", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errno)})
	}
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		err     error
		want    results.Outcome
		exhaust bool
	}{
		{"nil", bg, nil, results.OK, false},
		{"no local port", bg, dial(syscall.EADDRNOTAVAIL), results.AddrUnavailable, true},
		{"source address not local", bg, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("bind", syscall.EADDRNOTAVAIL)}, results.AddrUnavailable, true},
		{"refused", bg, dial(syscall.ECONNREFUSED), results.Refused, false},
		{"425", bg, &ReplyError{Cmd: "RETR /f", Code: 425, Text: "no data connection"}, results.Refused, false},
		{"no descriptors", bg, dial(syscall.EMFILE), results.Refused, true},
		{"no file table", bg, dial(syscall.ENFILE), results.Refused, true},
		{"no buffers", bg, dial(syscall.ENOBUFS), results.Refused, true},
		{"user-DTP found no free port", bg, fmt.Errorf("user-DTP listen on 127.0.0.1: %w: %w", ErrNoLocalPort, os.NewSyscallError("bind", syscall.EADDRINUSE)), results.AddrUnavailable, true},
		{"address in use", bg, fmt.Errorf("user-DTP listen: %w", os.NewSyscallError("bind", syscall.EADDRINUSE)), results.ProtocolError, false},
		{"no port, run stopped", canceled, dial(syscall.EADDRNOTAVAIL), results.Canceled, true},
		{"timeout", bg, os.ErrDeadlineExceeded, results.Timeout, false},
		{"reset", bg, dial(syscall.ECONNRESET), results.Reset, false},
		{"eof", bg, io.EOF, results.Reset, false},
		{"550", bg, &ReplyError{Cmd: "RETR /f", Code: 550, Text: "no such file"}, results.ReplyError, false},
		{"truncated", bg, ErrTruncated, results.Truncated, false},
		{"desync", bg, ErrDesync, results.Desync, false},
	} {
		if got := classify(tc.ctx, tc.err); got != tc.want {
			t.Errorf("%s: classify(%v) = %s, want %s", tc.name, tc.err, got, tc.want)
		}
		if got := localExhaustion(tc.err); got != tc.exhaust {
			t.Errorf("%s: localExhaustion(%v) = %v, want %v", tc.name, tc.err, got, tc.exhaust)
		}
	}
}

// TestClassifyTCPAddrNotAvail: a real socket that cannot take its local
// address — 192.0.2.1 (TEST-NET-1) is not an address of this machine —
// fails with EADDRNOTAVAIL and is classified addr-unavailable, the same
// outcome as the simulation's exhausted ephemeral range.
func TestClassifyTCPAddrNotAvail(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback: %v", err)
	}
	defer ln.Close()
	c, err := TCP{}.DialFromAddr(t.Context(), netip.MustParseAddr("192.0.2.1"), ln.Addr().String())
	if err == nil {
		c.Close()
		t.Skip("192.0.2.1 is an address of this machine")
	}
	if !errors.Is(err, syscall.EADDRNOTAVAIL) {
		if runtime.GOOS == "linux" {
			t.Fatalf("dial from a foreign address: %v, want EADDRNOTAVAIL", err)
		}
		t.Skipf("dial from a foreign address: %v, not EADDRNOTAVAIL on this platform", err)
	}
	if got := classify(t.Context(), fmt.Errorf("connect %s: %w", ln.Addr(), err)); got != results.AddrUnavailable {
		t.Errorf("classify(%v) = %s, want %s", err, got, results.AddrUnavailable)
	}
}
