package sim

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"ftpbench/loadgen"
)

// This file is the user's side of the server's race knobs: how a RETR or
// STOR ends (End, mixed by weight in an EndMix) and which setup or data
// faults a transfer suffers (Fault, each with a probability, in a
// FaultMix), written and printed the way a user types them on a command
// line. What each one does on the wire is in server_race.go.

// EndKind names a way of ending a transfer.
type EndKind string

// The end-of-transfer behaviours. RFC 959 §5.2 asks for the first; the
// others are what real servers do (see REFERENCES.md).
const (
	// EndCloseThen226: close the data connection, then reply 226 (RFC 959).
	EndCloseThen226 EndKind = "close-then-226"
	// End226ThenClose: all data written, 226 sent, then the data
	// connection closed (pyftpdlib #156).
	End226ThenClose EndKind = "226-then-close"
	// End226BeforeFlush: 226 sent while the tail of the data is still
	// unwritten; a client that closes on 226 truncates (fineftp #60).
	End226BeforeFlush EndKind = "226-before-flush"
	// EndDelayedClose: data written, 226 sent, data connection closed
	// End.Delay later: "226 but no EOF yet" (prim-ftpd #258).
	EndDelayedClose EndKind = "delayed-close"
	// EndCloseThen250: close, then "250 Transfer complete." (netxduo #404).
	EndCloseThen250 EndKind = "close-then-250"
	// End226AfterClientClose: the final reply waits for the client to
	// close the data connection (jum/tinyftp #3).
	End226AfterClientClose EndKind = "226-after-client-close"
	// EndNoFinalReply: close the data connection and never reply.
	EndNoFinalReply EndKind = "no-final-reply"
)

// End is one end-of-transfer behaviour with its parameter. The zero End
// is close-then-226.
type End struct {
	Kind EndKind
	// Delay is delayed-close's D: how long after the 226 the data
	// connection is closed.
	Delay time.Duration
	// Tail is 226-before-flush's N: how many bytes of a RETR are still
	// unwritten when the 226 is sent. 0 means one write chunk (32 KiB).
	Tail int64
}

// String prints e the way ParseEnd reads it, e.g. "delayed-close:50ms".
func (e End) String() string {
	switch e.kind() {
	case EndDelayedClose:
		return string(EndDelayedClose) + ":" + e.Delay.String()
	case End226BeforeFlush:
		if e.Tail > 0 {
			return string(End226BeforeFlush) + ":" + formatKnobSize(e.Tail)
		}
	}
	return string(e.kind())
}

func (e End) kind() EndKind {
	if e.Kind == "" {
		return EndCloseThen226
	}
	return e.Kind
}

// knobParam is what follows the ':' of a knob: nothing, a duration or a
// byte count, optional or required.
type knobParam int

const (
	paramNone knobParam = iota
	paramDuration
	paramOptionalSize
)

// knobKind is a name a knob parser knows and the parameter it takes.
type knobKind[K ~string] struct {
	kind  K
	param knobParam
}

var endKinds = []knobKind[EndKind]{
	{EndCloseThen226, paramNone},
	{End226ThenClose, paramNone},
	{End226BeforeFlush, paramOptionalSize},
	{EndDelayedClose, paramDuration},
	{EndCloseThen250, paramNone},
	{End226AfterClientClose, paramNone},
	{EndNoFinalReply, paramNone},
}

// knobNames lists kinds the way a user writes them, parameters marked.
func knobNames[K ~string](kinds []knobKind[K]) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k.kind)
		switch k.param {
		case paramDuration:
			names[i] += ":D"
		case paramOptionalSize:
			names[i] += "[:N]"
		}
	}
	return strings.Join(names, ", ")
}

// knobArgs is the parameter parseKnob read after a knob's name.
type knobArgs struct {
	delay time.Duration
	size  int64
}

// parseKnob finds tok's name (case-insensitive) in kinds and reads the
// parameter after ':' that it takes.
func parseKnob[K ~string](tok string, kinds []knobKind[K]) (K, knobArgs, error) {
	name, arg, hasArg := strings.Cut(tok, ":")
	name, arg = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(arg)
	var a knobArgs
	for _, k := range kinds {
		if name != string(k.kind) {
			continue
		}
		var err error
		switch k.param {
		case paramNone:
			if hasArg {
				err = fmt.Errorf("%s takes no parameter", k.kind)
			}
		case paramDuration:
			a.delay, err = parseKnobDuration(string(k.kind), arg, hasArg)
		case paramOptionalSize:
			if hasArg {
				a.size, err = loadgen.ParseSize(arg)
				if err == nil && a.size == 0 {
					err = errors.New("the tail must be at least 1 byte")
				}
			}
		}
		return k.kind, a, err
	}
	return "", a, fmt.Errorf("unknown (want %s)", knobNames(kinds))
}

// ParseEnd parses one end behaviour: a name, case-insensitive, with a
// parameter after ':' where it takes one: "close-then-226",
// "226-then-close", "226-before-flush" or "226-before-flush:4KiB" (bytes
// left for after the 226), "delayed-close:50ms", "close-then-250",
// "226-after-client-close", "no-final-reply".
func ParseEnd(s string) (End, error) {
	tok := strings.TrimSpace(s)
	kind, a, err := parseKnob(tok, endKinds)
	if err != nil {
		return End{}, fmt.Errorf("end behaviour %q: %w", tok, err)
	}
	return End{Kind: kind, Delay: a.delay, Tail: a.size}, nil
}

// EndWeight is one behaviour of an EndMix and its relative weight.
type EndWeight struct {
	End    End
	Weight float64
}

// EndMix is a weighted choice of end behaviours, one drawn per transfer
// with probability weight/sum of weights. The zero EndMix always ends
// close-then-226.
type EndMix []EndWeight

// ParseEndMix parses a comma-separated list of end behaviours (see
// ParseEnd), each optionally followed by "=weight":
// "close-then-226=0.9,226-then-close=0.1". Weights are non-negative
// numbers, normalised by their sum (so "a=9,b=1" is the same mix); a
// behaviour without a weight weighs 1, so a single name means always.
func ParseEndMix(s string) (EndMix, error) {
	var m EndMix
	var total float64
	for _, tok := range strings.Split(s, ",") {
		tok = strings.TrimSpace(tok)
		if tok == "" {
			return nil, fmt.Errorf("end behaviours %q: empty entry", s)
		}
		spec, w, err := parseKnobWeight(tok)
		if err != nil {
			return nil, fmt.Errorf("end behaviour %q: %w", tok, err)
		}
		e, err := ParseEnd(spec)
		if err != nil {
			return nil, err
		}
		m = append(m, EndWeight{e, w})
		total += w
	}
	if !(total > 0) || math.IsInf(total, 0) {
		return nil, fmt.Errorf("end behaviours %q: weights must add up to a positive finite number", s)
	}
	return m, nil
}

// String prints m the way ParseEndMix reads it; a single behaviour of
// weight 1 prints as its bare name.
func (m EndMix) String() string {
	switch {
	case len(m) == 0:
		return string(EndCloseThen226)
	case len(m) == 1 && m[0].Weight == 1:
		return m[0].End.String()
	}
	parts := make([]string, len(m))
	for i, ew := range m {
		parts[i] = ew.End.String() + "=" + strconv.FormatFloat(ew.Weight, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

// pick returns the behaviour for a uniform draw u in [0, 1).
func (m EndMix) pick(u float64) End {
	var total float64
	for _, ew := range m {
		total += ew.Weight
	}
	if !(total > 0) {
		return End{Kind: EndCloseThen226}
	}
	x, last := u*total, End{Kind: EndCloseThen226}
	for _, ew := range m {
		if ew.Weight <= 0 {
			continue
		}
		if x < ew.Weight {
			return ew.End.normal()
		}
		x -= ew.Weight
		last = ew.End.normal()
	}
	return last // u*total rounded up to total
}

func (e End) normal() End {
	e.Kind = e.kind()
	return e
}

// FaultKind names a fault of a data connection.
type FaultKind string

// The faults a transfer may suffer.
const (
	// FaultLateListen: PASV/EPSV is answered at once but the server
	// listens only Fault.Delay later, so an early connect is refused
	// (proftpd-mod_proxy #283). No effect on PORT/EPRT.
	FaultLateListen FaultKind = "late-listen"
	// FaultRefuseData: PASV/EPSV announces a port nobody listens on, so
	// the connect is refused, and the transfer command gets 425;
	// PORT/EPRT: the server does not connect and replies 425.
	FaultRefuseData FaultKind = "refuse-data"
	// FaultResetMidTransfer: the data connection is reset (RST) half-way
	// and the transfer command gets 426 (cyberduck #17540).
	FaultResetMidTransfer FaultKind = "reset-mid-transfer"
	// FaultSlowAccept: the server-DTP takes the data connection only
	// Fault.Delay after the transfer command: it accepts (PASV/EPSV) or
	// connects (PORT/EPRT) then (curl #12823, mod_proxy #335).
	FaultSlowAccept FaultKind = "slow-accept"

	// The faults below strike once the data connection is open and the
	// 150 reply sent, and replace the end behaviour (except trickle,
	// which only slows the final reply down).

	// FaultHang: after the 150 the server moves no data and sends no
	// final reply; it discards whatever the client sends until the
	// client closes the control connection or Timeout passes, then ends
	// the session without a word (prim-ftpd #258's hanging transfer, a
	// wedged server process).
	FaultHang FaultKind = "hang"
	// FaultGarbageReply: the data moves and the data connection closes
	// as RFC 959 asks, but the final reply is a malformed line,
	// GarbageReply, instead of 226; the session goes on.
	FaultGarbageReply FaultKind = "garbage-reply"
	// FaultDropControl: half-way through the data (on STOR, once the
	// first bytes arrived) the server closes the control connection and
	// then the data connection, as when a session process dies.
	FaultDropControl FaultKind = "drop-control"
	// FaultTrickle: the final reply is sent one byte every Fault.Delay,
	// a slow-loris server; a client must bound the whole reply, not each
	// read.
	FaultTrickle FaultKind = "trickle"
	// Fault421: the server closes the data connection without moving
	// data, replies "421 Service not available, closing control
	// connection." and closes the control connection: a server shutting
	// down mid-session (RFC 959 §4.2: 421 may answer any command).
	Fault421 FaultKind = "421"
)

// GarbageReply is the final reply line of the garbage-reply fault: its
// code is not a number, so a reply parser must reject it.
const GarbageReply = "22G Transfer complete."

// Fault is one fault with its parameter. The zero Fault is no fault.
type Fault struct {
	Kind  FaultKind
	Delay time.Duration // late-listen:D, slow-accept:D, trickle:D
}

// String prints f the way ParseFault reads it, e.g. "late-listen:100ms";
// the zero Fault prints as "none".
func (f Fault) String() string {
	switch f.Kind {
	case "":
		return "none"
	case FaultLateListen, FaultSlowAccept, FaultTrickle:
		return string(f.Kind) + ":" + f.Delay.String()
	}
	return string(f.Kind)
}

var faultKinds = []knobKind[FaultKind]{
	{FaultLateListen, paramDuration},
	{FaultRefuseData, paramNone},
	{FaultResetMidTransfer, paramNone},
	{FaultSlowAccept, paramDuration},
	{FaultHang, paramNone},
	{FaultGarbageReply, paramNone},
	{FaultDropControl, paramNone},
	{FaultTrickle, paramDuration},
	{Fault421, paramNone},
}

// ParseFault parses one fault: "late-listen:D", "refuse-data",
// "reset-mid-transfer", "slow-accept:D", "hang", "garbage-reply",
// "drop-control", "trickle:D" or "421", names case-insensitive, D a Go
// duration such as 100ms.
func ParseFault(s string) (Fault, error) {
	tok := strings.TrimSpace(s)
	kind, a, err := parseKnob(tok, faultKinds)
	if err != nil {
		return Fault{}, fmt.Errorf("fault %q: %w", tok, err)
	}
	return Fault{Kind: kind, Delay: a.delay}, nil
}

// FaultChance is one fault of a FaultMix and its probability per
// transfer.
type FaultChance struct {
	Fault Fault
	P     float64
}

// FaultMix is the faults transfers suffer: each transfer draws at most
// one, fault i with probability P_i; with probability 1-ΣP it has none.
// The zero FaultMix injects nothing.
type FaultMix []FaultChance

// ParseFaults parses a comma-separated list of faults (see ParseFault),
// each optionally followed by "=probability":
// "refuse-data=0.05,reset-mid-transfer=0.01". A fault without a
// probability has probability 1 (every transfer). Probabilities are in
// [0, 1] and add up to at most 1. "" and "none" mean no faults.
func ParseFaults(s string) (FaultMix, error) {
	if t := strings.TrimSpace(s); t == "" || strings.EqualFold(t, "none") {
		return nil, nil
	}
	var m FaultMix
	var total float64
	for _, tok := range strings.Split(s, ",") {
		tok = strings.TrimSpace(tok)
		if tok == "" {
			return nil, fmt.Errorf("faults %q: empty entry", s)
		}
		spec, p, err := parseKnobWeight(tok)
		if err == nil && p > 1 {
			err = errors.New("a probability is at most 1")
		}
		if err != nil {
			return nil, fmt.Errorf("fault %q: %w", tok, err)
		}
		f, err := ParseFault(spec)
		if err != nil {
			return nil, err
		}
		m = append(m, FaultChance{f, p})
		total += p
	}
	// Allow for rounding: 0.1+0.2+0.7 is 1.0000000000000002.
	if total > 1+1e-9 {
		return nil, fmt.Errorf("faults %q: probabilities add up to %g, more than 1", s, total)
	}
	return m, nil
}

// String prints m the way ParseFaults reads it; no faults print as
// "none", a single fault of probability 1 as its bare name.
func (m FaultMix) String() string {
	switch {
	case len(m) == 0:
		return "none"
	case len(m) == 1 && m[0].P == 1:
		return m[0].Fault.String()
	}
	parts := make([]string, len(m))
	for i, fc := range m {
		parts[i] = fc.Fault.String() + "=" + strconv.FormatFloat(fc.P, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

// pick returns the fault for a uniform draw u in [0, 1), or the zero
// Fault.
func (m FaultMix) pick(u float64) Fault {
	for _, fc := range m {
		if u < fc.P {
			return fc.Fault
		}
		u -= fc.P
	}
	return Fault{}
}

// RaceKnobs are the server's end-of-transfer behaviours and faults, and
// the passive port range. The zero value is the RFC 959 server: close,
// then 226; no faults; any ephemeral passive port.
type RaceKnobs struct {
	// End is how transfers end, drawn per transfer.
	End EndMix
	// Faults are the faults transfers suffer, drawn per transfer.
	Faults FaultMix
	// PassivePorts, when not {0, 0}, is the inclusive range PASV/EPSV
	// listen on: the lowest free port is taken; when none is free the
	// reply is 425 "No free passive port". A port whose data connection
	// the server closed first stays busy for PassiveTimeWait, like a
	// passive socket bound without SO_REUSEADDR (pyftpdlib #176,
	// proftpd #2024).
	PassivePorts [2]int
	// PassiveTimeWait is how long a passive port stays in TIME_WAIT after
	// the server closed its data connection first. 0 takes the
	// simulated network's Config.TimeWait when the server's Network is a
	// *Host, and none otherwise; negative means none.
	PassiveTimeWait time.Duration
	// Seed seeds the PCG generator the draws come from: one generator
	// per Server, one draw of the end behaviour and one of the fault per
	// transfer, in the order the server processes the commands, so the
	// same seed gives the same pattern. A transfer draws at its data
	// connection setup (PASV, EPSV, PORT, EPRT: late-listen and
	// refuse-data act there), or at the transfer command on the default
	// data port; a setup without a transfer command still uses its draws.
	Seed uint64
}

// String prints the knobs as flags would set them.
func (k RaceKnobs) String() string {
	s := "end=" + k.End.String() + " faults=" + k.Faults.String()
	if k.PassivePorts != [2]int{} {
		s += fmt.Sprintf(" passive-ports=%d-%d", k.PassivePorts[0], k.PassivePorts[1])
	}
	if k.PassiveTimeWait != 0 {
		s += " passive-time-wait=" + k.PassiveTimeWait.String()
	}
	return s + " seed=" + strconv.FormatUint(k.Seed, 10)
}

// ParsePassivePorts parses a passive port range "LO-HI" (inclusive, 1 ≤
// LO ≤ HI ≤ 65535) or a single port "P".
func ParsePassivePorts(s string) ([2]int, error) {
	t := strings.TrimSpace(s)
	los, his, isRange := strings.Cut(t, "-")
	if !isRange {
		his = los
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(los))
	hi, err2 := strconv.Atoi(strings.TrimSpace(his))
	if err1 != nil || err2 != nil || lo < 1 || hi > 65535 || lo > hi {
		return [2]int{}, fmt.Errorf("passive ports %q: want LO-HI with 1 <= LO <= HI <= 65535", s)
	}
	return [2]int{lo, hi}, nil
}

// parseKnobWeight splits "spec=number" into the spec and the number (1
// when there is no '='), which must be finite and not negative.
func parseKnobWeight(tok string) (string, float64, error) {
	spec, ws, ok := strings.Cut(tok, "=")
	if !ok {
		return spec, 1, nil
	}
	ws = strings.TrimSpace(ws)
	w, err := strconv.ParseFloat(ws, 64)
	if err != nil || w < 0 || math.IsInf(w, 0) || math.IsNaN(w) {
		return "", 0, fmt.Errorf("weight %q: want a number >= 0", ws)
	}
	return strings.TrimSpace(spec), w, nil
}

// parseKnobDuration parses a knob's required duration parameter.
func parseKnobDuration(name, arg string, hasArg bool) (time.Duration, error) {
	if !hasArg || arg == "" {
		return 0, fmt.Errorf("%s needs a duration, e.g. %s:50ms", name, name)
	}
	d, err := time.ParseDuration(arg)
	if err != nil {
		return 0, fmt.Errorf("duration %q: %w", arg, err)
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q is negative", arg)
	}
	return d, nil
}

// formatKnobSize prints a byte count the way loadgen.ParseSize reads it,
// with the largest binary unit that divides it: 4096 → "4KiB".
func formatKnobSize(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.mult && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}
