//go:build unix

package loadgen

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"syscall"
)

// ReservePort binds a TCP socket to an ephemeral port of ip without
// listening on it: connections to the port are refused, and nobody else
// can take the port until the returned Closer is closed. A probe uses it
// for "a port nobody listens on" that stays so while the server tries it.
func (TCP) ReservePort(ip netip.Addr) (netip.AddrPort, io.Closer, error) {
	var sa syscall.Sockaddr
	family := syscall.AF_INET
	switch {
	case ip.Is4() || ip.Is4In6():
		sa = &syscall.SockaddrInet4{Addr: ip.Unmap().As4()}
	case ip.Is6():
		family = syscall.AF_INET6
		sa = &syscall.SockaddrInet6{Addr: ip.As16()}
	default:
		return netip.AddrPort{}, nil, fmt.Errorf("reserve a port: invalid address %v", ip)
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM, 0)
	if err != nil {
		return netip.AddrPort{}, nil, os.NewSyscallError("socket", err)
	}
	f := os.NewFile(uintptr(fd), "reserved port")
	if err := syscall.Bind(fd, sa); err != nil {
		f.Close()
		return netip.AddrPort{}, nil, os.NewSyscallError("bind", err)
	}
	got, err := syscall.Getsockname(fd)
	if err != nil {
		f.Close()
		return netip.AddrPort{}, nil, os.NewSyscallError("getsockname", err)
	}
	var port int
	switch a := got.(type) {
	case *syscall.SockaddrInet4:
		port = a.Port
	case *syscall.SockaddrInet6:
		port = a.Port
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), f, nil
}
