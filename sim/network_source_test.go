package sim

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"

	"ftpbench/loadgen"
)

// TestHostDialFromAddr: a host given other hosts' addresses (AddLocal)
// dials from them and listens on them, each with its own ephemeral
// range; any other source address fails with EADDRNOTAVAIL, as binding
// an address the machine does not have does over TCP.
func TestHostDialFromAddr(t *testing.T) {
	bg := context.Background()
	n := NewNetwork(Config{EphemeralPorts: [2]int{40000, 40001}})
	client, server := n.Host("client"), n.Host("server")
	alias := n.Host("127.0.1.1")
	client.AddLocal(alias, alias, client, nil) // duplicates, itself and nil are ignored
	ln, err := server.Listen(bg, ":21")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	var sd loadgen.SourceDialer = client
	from := func(local netip.Addr) (net.Conn, error) { return sd.DialFromAddr(bg, local, "server:21") }
	// Two ports per address: four connections in all, two from each.
	for _, a := range []netip.Addr{client.Addr(), alias.Addr(), client.Addr(), alias.Addr()} {
		c, err := from(a)
		if err != nil {
			t.Fatalf("DialFromAddr(%s): %v", a, err)
		}
		la := c.LocalAddr().(*net.TCPAddr)
		if la.AddrPort().Addr() != a || la.Port < 40000 || la.Port > 40001 {
			t.Errorf("DialFromAddr(%s): local address %v", a, la)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if s.RemoteAddr().String() != la.String() {
			t.Errorf("server sees %v, client dialled from %v", s.RemoteAddr(), la)
		}
	}
	for _, a := range []netip.Addr{client.Addr(), alias.Addr()} {
		if _, err := from(a); !errors.Is(err, syscall.EADDRNOTAVAIL) {
			t.Errorf("DialFromAddr(%s) with its range used up: %v, want EADDRNOTAVAIL", a, err)
		}
	}
	for _, a := range []netip.Addr{server.Addr(), netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("::1"), {}} {
		_, err := from(a)
		if !errors.Is(err, syscall.EADDRNOTAVAIL) {
			t.Errorf("DialFromAddr(%v), not a local address: %v, want EADDRNOTAVAIL", a, err)
		}
	}
	if _, err := from(netip.MustParseAddr("192.0.2.1")); err == nil || err.Error() != "dial tcp 192.0.2.1:0: bind: cannot assign requested address" {
		t.Errorf("error text %q", err)
	}

	// Listen on the alias's address: the alias holds the listener (a
	// user-DTP for PORT listens on its control connection's address).
	// Its two ephemeral ports are taken by the connections above.
	if _, err := client.Listen(bg, alias.Addr().String()+":0"); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("Listen on the alias with its range used up: %v, want EADDRINUSE", err)
	}
	l2, err := client.Listen(bg, alias.Addr().String()+":2121")
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if got := l2.Addr().String(); got != "127.0.1.1:2121" {
		t.Errorf("listener on %s", got)
	}
	if _, err := alias.Listen(bg, ":2121"); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("the alias's own Listen on the same port: %v, want EADDRINUSE", err)
	}
	if c, err := server.Dial(bg, "127.0.1.1:2121"); err != nil {
		t.Errorf("dial the listener on the alias: %v", err)
	} else {
		c.Close()
	}
	// Not local: the server's address, a name of no host given to AddLocal.
	for _, a := range []string{server.Addr().String() + ":2122", "server:2122", "10.1.1.1:2122"} {
		if _, err := client.Listen(bg, a); !errors.Is(err, syscall.EADDRNOTAVAIL) {
			t.Errorf("Listen(%s): %v, want EADDRNOTAVAIL", a, err)
		}
	}
}
