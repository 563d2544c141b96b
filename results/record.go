// Package results holds the per-cycle Record, its JSON Lines codec, and the
// summaries computed from streams of records. It knows nothing of sockets.
package results

import "time"

// Outcome classifies how a cycle ended.
type Outcome string

// The outcomes of a cycle. Every cycle ends in exactly one.
const (
	OK        Outcome = "ok"        // all bytes moved, final 2xx reply
	Truncated Outcome = "truncated" // fewer bytes than expected
	Desync    Outcome = "desync"    // a reply answered an earlier command
	Refused   Outcome = "refused"   // data or control connection refused (or 425)
	// AddrUnavailable: a connection could not even be tried because no
	// local address and port could be assigned (EADDRNOTAVAIL, "cannot
	// assign requested address"): this host's ephemeral ports toward the
	// server are used up (or a source address is not local). The server
	// never saw it; spread the users over more source addresses.
	AddrUnavailable Outcome = "addr-unavailable"
	Timeout         Outcome = "timeout"        // a deadline passed
	Reset           Outcome = "reset"          // a connection was reset mid-cycle
	ReplyError      Outcome = "reply-error"    // the server answered 4xx/5xx
	ProtocolError   Outcome = "protocol-error" // a malformed or unexpected reply
	Canceled        Outcome = "canceled"       // the run was stopped mid-cycle
	// Dropped: an open-model cycle came due while the most cycles allowed
	// in flight were waiting or running; it never started.
	Dropped Outcome = "dropped"
)

// Outcomes lists every outcome in a stable order for reports.
var Outcomes = []Outcome{OK, Truncated, Desync, Refused, AddrUnavailable, Timeout, Reset, ReplyError, ProtocolError, Canceled, Dropped}

// Phase indexes the per-cycle timestamps of RFC 959 §5.2, in the order a
// correct cycle passes them.
type Phase int

// The phases of one transfer cycle.
const (
	// Login: the control connection is up and logged in. Only cycles
	// that (re)connected reach it; their start is the connect.
	Login      Phase = iota
	SetupSent        // PASV/PORT/EPSV/EPRT sent (or the transfer command in default mode)
	SetupReply       // 227/229/200 read
	DataOpen         // data connection established
	CmdSent          // RETR/STOR sent
	Prelim           // 1xx preliminary reply read
	FirstByte        // first data byte read (RETR) or written (STOR)
	EOF              // data EOF read (RETR) or sent (STOR)
	Final            // 226/250 (or the failing reply) read
	Done             // cycle finished: data closed and final reply seen
	NumPhases
)

var phaseNames = [NumPhases]string{"login", "setup_sent", "setup_reply", "data_open", "cmd_sent", "prelim", "first_byte", "eof", "final", "done"}

// String returns the phase's JSON name.
func (p Phase) String() string {
	if p < 0 || p >= NumPhases {
		return "phase(?)"
	}
	return phaseNames[p]
}

// Phases holds, for each Phase, the offset from the cycle's start in
// nanoseconds, or -1 when the cycle never reached it. A zero offset is a
// real observation (in virtual time several phases can share an instant).
type Phases [NumPhases]int64

// NoPhases is a Phases value with no phase reached.
var NoPhases = Phases{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1}

// Has reports whether phase p was reached.
func (ph *Phases) Has(p Phase) bool { return ph[p] >= 0 }

// Get returns the offset of phase p and whether it was reached.
func (ph *Phases) Get(p Phase) (time.Duration, bool) {
	return time.Duration(ph[p]), ph[p] >= 0
}

// Between returns the duration from phase a to phase b when both were reached.
func (ph *Phases) Between(a, b Phase) (time.Duration, bool) {
	if ph[a] < 0 || ph[b] < 0 {
		return 0, false
	}
	return time.Duration(ph[b] - ph[a]), true
}

// Record is one transfer cycle, whatever happened to it. Field names are
// the stable JSON Lines format described in DESIGN.md.
type Record struct {
	Seq     int64     `json:"seq"`
	User    int       `json:"user"`
	Segment string    `json:"segment,omitempty"`
	Mode    string    `json:"mode"`
	Op      string    `json:"op"`
	Start   time.Time `json:"start"`
	// Intended is when an open-model cycle was due; Start - Intended is
	// how long it waited for a free user-PI (coordinated omission).
	Intended time.Time `json:"intended,omitzero"`
	T        Phases    `json:"t"`
	Bytes    int64     `json:"bytes"`
	Want     int64     `json:"want"`
	Code     int       `json:"code,omitempty"`
	Outcome  Outcome   `json:"outcome"`
	Err      string    `json:"err,omitempty"`
}

// SetupLatency is data_open − setup_sent: how long it took from asking for a
// data connection to having one.
func (r *Record) SetupLatency() (time.Duration, bool) { return r.T.Between(SetupSent, DataOpen) }

// RaceGap is final − eof, signed: negative when the final reply arrived
// before the data EOF (the §5.2 race).
func (r *Record) RaceGap() (time.Duration, bool) { return r.T.Between(EOF, Final) }

// CycleTime is the offset of done: the whole cycle.
func (r *Record) CycleTime() (time.Duration, bool) { return r.T.Get(Done) }

// End returns the wall-clock time the cycle finished, or its start when it
// never reached done.
func (r *Record) End() time.Time {
	if d, ok := r.T.Get(Done); ok {
		return r.Start.Add(d)
	}
	return r.Start
}
