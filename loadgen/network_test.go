package loadgen

import (
	"errors"
	"net"
	"net/netip"
	"runtime"
	"syscall"
	"testing"
)

// TestReservePort: a reserved port refuses connections and cannot be
// listened on by anyone else until it is released.
func TestReservePort(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("ReservePort is unix only")
	}
	ap, c, err := TCP{}.ReservePort(netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	if ap.Port() == 0 || ap.Addr() != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("reserved %v", ap)
	}
	if conn, err := net.Dial("tcp", ap.String()); err == nil {
		conn.Close()
		t.Errorf("dial %v: connected, want refused", ap)
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial %v: %v, want connection refused", ap, err)
	}
	if ln, err := net.Listen("tcp", ap.String()); err == nil {
		ln.Close()
		t.Errorf("listen on reserved %v succeeded", ap)
	} else if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("listen on reserved %v: %v, want address in use", ap, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", ap.String())
	if err != nil {
		t.Fatalf("listen on %v after release: %v", ap, err)
	}
	ln.Close()
}
