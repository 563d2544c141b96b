//go:build unix

package loadgen

import (
	"fmt"
	"syscall"
)

// reuseAddrControl is the net.Dialer.Control of TCP.ReuseAddr.
var reuseAddrControl = setReuseAddr

// setReuseAddr sets SO_REUSEADDR on a socket before it binds.
func setReuseAddr(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	})
	if err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("setsockopt SO_REUSEADDR: %w", serr)
	}
	return nil
}
