//go:build !unix

package loadgen

import (
	"errors"
	"io"
	"net/netip"
)

// ReservePort is not available here: callers fall back to a port that was
// free a moment ago.
func (TCP) ReservePort(netip.Addr) (netip.AddrPort, io.Closer, error) {
	return netip.AddrPort{}, nil, errors.New("reserving a port without listening is not supported on this platform")
}
