//go:build !unix

package loadgen

import "syscall"

// reuseAddrControl is nil where this package does not set SO_REUSEADDR:
// TCP.ReuseAddr has no effect, and a default data port cycle fails to
// listen with the platform's "address in use" error.
var reuseAddrControl func(network, address string, c syscall.RawConn) error
