package loadgen

import (
	"fmt"
	"net/netip"
	"strings"
)

// maxSourceAddrs bounds ParseSourceAddrs, so a typo such as
// 10.0.0.1-10.255.0.1 is an error, not millions of addresses.
const maxSourceAddrs = 4096

// ParseSourceAddrs parses a comma-separated list of addresses and
// inclusive ranges of one family: "127.0.0.1-127.0.0.16,10.0.0.5".
func ParseSourceAddrs(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		lo, hi, isRange := strings.Cut(item, "-")
		first, err := netip.ParseAddr(strings.TrimSpace(lo))
		if err != nil {
			return nil, fmt.Errorf("source address %q: not an IP address", item)
		}
		last := first
		if isRange {
			if last, err = netip.ParseAddr(strings.TrimSpace(hi)); err != nil || last.BitLen() != first.BitLen() || last.Less(first) {
				return nil, fmt.Errorf("source addresses %q: want FIRST-LAST of one family, FIRST ≤ LAST", item)
			}
		}
		for a := first; ; a = a.Next() {
			if len(out) == maxSourceAddrs {
				return nil, fmt.Errorf("source addresses %q: more than %d", s, maxSourceAddrs)
			}
			out = append(out, a.Unmap())
			if a == last {
				break
			}
		}
	}
	return out, nil
}
