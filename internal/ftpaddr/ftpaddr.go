// Package ftpaddr parses and formats the address arguments of FTP's data
// connection commands: the six-number form of PORT and the 227 reply
// (RFC 959), and the delimited forms of EPRT and the 229 reply (RFC 2428).
// Both sides of the wire use it: the user-PI formats PORT and parses 227, the
// simulated server parses PORT and formats 227.
package ftpaddr

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ErrSyntax reports a malformed address argument.
var ErrSyntax = errors.New("malformed address")

// ParseHostPort parses "h1,h2,h3,h4,p1,p2" (the argument of PORT and the
// body of a 227 reply) into an IPv4 address and port. Each number must be a
// decimal 0..255 without sign or spaces.
func ParseHostPort(s string) (netip.AddrPort, error) {
	var n [6]byte
	fields := strings.Split(s, ",")
	if len(fields) != 6 {
		return netip.AddrPort{}, fmt.Errorf("%q: want 6 comma-separated numbers, have %d: %w", s, len(fields), ErrSyntax)
	}
	for i, f := range fields {
		if len(f) == 0 || len(f) > 3 {
			return netip.AddrPort{}, fmt.Errorf("%q: field %d %q: %w", s, i+1, f, ErrSyntax)
		}
		v, err := strconv.ParseUint(f, 10, 8)
		if err != nil || f[0] == '+' {
			return netip.AddrPort{}, fmt.Errorf("%q: field %d %q not in 0..255: %w", s, i+1, f, ErrSyntax)
		}
		n[i] = byte(v)
	}
	ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte(n[:4])), uint16(n[4])<<8|uint16(n[5]))
	return ap, nil
}

// FormatHostPort formats an IPv4 address and port as "h1,h2,h3,h4,p1,p2".
func FormatHostPort(ap netip.AddrPort) (string, error) {
	a := ap.Addr().Unmap()
	if !a.Is4() {
		return "", fmt.Errorf("%s is not IPv4: PORT/PASV cannot carry it, use EPRT/EPSV", ap)
	}
	b := a.As4()
	p := ap.Port()
	return fmt.Sprintf("%d,%d,%d,%d,%d,%d", b[0], b[1], b[2], b[3], p>>8, p&0xff), nil
}

// Parse227 extracts the address from a 227 reply text such as
// "Entering Passive Mode (127,0,0,1,93,172)." The numbers are taken from the
// first run of digits and commas after the code text; RFC 1123 §4.1.2.6
// warns that the parentheses are optional, so they are not required.
func Parse227(text string) (netip.AddrPort, error) {
	start := strings.IndexFunc(text, isDigit)
	if start < 0 {
		return netip.AddrPort{}, fmt.Errorf("227 text %q has no address: %w", text, ErrSyntax)
	}
	end := start
	for end < len(text) && (isDigit(rune(text[end])) || text[end] == ',') {
		end++
	}
	ap, err := ParseHostPort(text[start:end])
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("227 text %q: %w", text, err)
	}
	return ap, nil
}

// Parse229 extracts the port from a 229 reply text such as
// "Entering Extended Passive Mode (|||26022|)". RFC 2428 §3: the text holds
// "(<d><d><d><port><d>)" where <d> is one delimiter character in 33..126.
func Parse229(text string) (uint16, error) {
	open := strings.IndexByte(text, '(')
	closing := strings.LastIndexByte(text, ')')
	if open < 0 || closing < open {
		return 0, fmt.Errorf("229 text %q: no parenthesised port: %w", text, ErrSyntax)
	}
	body := text[open+1 : closing]
	if len(body) < 5 {
		return 0, fmt.Errorf("229 text %q: %w", text, ErrSyntax)
	}
	d := body[0]
	if d < 33 || d > 126 || body[1] != d || body[2] != d || body[len(body)-1] != d {
		return 0, fmt.Errorf("229 text %q: bad delimiters: %w", text, ErrSyntax)
	}
	port, err := parsePort(body[3 : len(body)-1])
	if err != nil {
		return 0, fmt.Errorf("229 text %q: %w", text, err)
	}
	return port, nil
}

// Format229 formats the text of a 229 reply for port.
func Format229(port uint16) string {
	return fmt.Sprintf("Entering Extended Passive Mode (|||%d|)", port)
}

// ParseEPRT parses the argument of EPRT, "<d><proto><d><addr><d><port><d>"
// (RFC 2428 §2), where proto 1 is IPv4 and 2 is IPv6.
func ParseEPRT(arg string) (netip.AddrPort, error) {
	if len(arg) < 7 {
		return netip.AddrPort{}, fmt.Errorf("EPRT %q: %w", arg, ErrSyntax)
	}
	d := arg[0]
	if d < 33 || d > 126 || arg[len(arg)-1] != d {
		return netip.AddrPort{}, fmt.Errorf("EPRT %q: bad delimiter: %w", arg, ErrSyntax)
	}
	parts := strings.Split(arg[1:len(arg)-1], string(d))
	if len(parts) != 3 {
		return netip.AddrPort{}, fmt.Errorf("EPRT %q: want 3 fields, have %d: %w", arg, len(parts), ErrSyntax)
	}
	addr, err := netip.ParseAddr(parts[1])
	if err != nil || addr.Zone() != "" {
		return netip.AddrPort{}, fmt.Errorf("EPRT %q: address %q: %w", arg, parts[1], ErrSyntax)
	}
	switch {
	case parts[0] == "1" && addr.Is4(), parts[0] == "2" && addr.Is6():
	default:
		return netip.AddrPort{}, fmt.Errorf("EPRT %q: protocol %q does not match address %s: %w", arg, parts[0], addr, ErrSyntax)
	}
	port, err := parsePort(parts[2])
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("EPRT %q: %w", arg, err)
	}
	return netip.AddrPortFrom(addr, port), nil
}

// FormatEPRT formats the argument of EPRT for ap.
func FormatEPRT(ap netip.AddrPort) string {
	a := ap.Addr().Unmap()
	proto := 1
	if a.Is6() {
		proto = 2
	}
	return fmt.Sprintf("|%d|%s|%d|", proto, a, ap.Port())
}

func parsePort(s string) (uint16, error) {
	if len(s) == 0 || len(s) > 5 || s[0] == '+' {
		return 0, fmt.Errorf("port %q: %w", s, ErrSyntax)
	}
	p, err := strconv.ParseUint(s, 10, 16)
	if err != nil || p == 0 {
		return 0, fmt.Errorf("port %q not in 1..65535: %w", s, ErrSyntax)
	}
	return uint16(p), nil
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }
