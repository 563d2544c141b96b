package loadgen

import (
	"fmt"
	"strings"
)

// Policy is how the user-PI ends a transfer: what it does on the data EOF
// and on the final reply, and in which order. Strict is RFC 959 §5.2's;
// the others reproduce bugs of real clients, so a run can show what a
// server does to such clients.
type Policy string

// The client end policies.
const (
	// PolicyStrict: on data EOF close the data connection at once; on a
	// final reply that comes before EOF keep reading to EOF; end the cycle
	// only when both were seen.
	PolicyStrict Policy = "strict"
	// PolicyEager: on the final reply close the data connection at once
	// and move on, even if data is still in flight (lwftp, fineftp #60):
	// truncates against servers that send 226 before the data is out.
	PolicyEager Policy = "eager"
	// PolicyEOFOnly: on data EOF move on without reading the final reply,
	// which then answers the next command (clj-ftp #8, MockFtpServer #22).
	PolicyEOFOnly Policy = "eof-only"
	// PolicyHoldOpen: keep the data connection open until the final reply,
	// then close it (jum/tinyftp #3): stalls against servers that reply
	// only after the client closed.
	PolicyHoldOpen Policy = "hold-open"
	// PolicyCloseFirst: read the data to EOF and close it, and only then
	// read the final reply.
	PolicyCloseFirst Policy = "close-first"
)

// Policies lists every policy in a stable order.
var Policies = []Policy{PolicyStrict, PolicyEager, PolicyEOFOnly, PolicyHoldOpen, PolicyCloseFirst}

// finalTiming says when a policy reads the transfer's final reply.
type finalTiming int

const (
	finalWithData  finalTiming = iota // concurrently with the data
	finalAfterData                    // once the data side is done
	finalNever                        // not at all: left for the next command
)

// rules is what a policy does, each field one sentence of its definition.
type rules struct {
	final        finalTiming
	closeOnEOF   bool // close the data connection as soon as EOF is read
	closeOnFinal bool // close the data connection as soon as the final reply is read
}

var policyRules = map[Policy]rules{
	PolicyStrict:     {final: finalWithData, closeOnEOF: true},
	PolicyEager:      {final: finalWithData, closeOnEOF: true, closeOnFinal: true},
	PolicyEOFOnly:    {final: finalNever, closeOnEOF: true},
	PolicyHoldOpen:   {final: finalWithData, closeOnFinal: true},
	PolicyCloseFirst: {final: finalAfterData, closeOnEOF: true},
}

// ParsePolicy parses a policy name.
func ParsePolicy(s string) (Policy, error) {
	p := Policy(strings.ToLower(strings.TrimSpace(s)))
	if _, ok := policyRules[p]; !ok {
		return "", fmt.Errorf("unknown policy %q (want strict, eager, eof-only, hold-open or close-first)", s)
	}
	return p, nil
}

// String returns the policy's name as a user writes it.
func (p Policy) String() string { return string(p) }
