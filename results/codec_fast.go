package results

import (
	"bytes"
	"strconv"
	"time"
	"unicode/utf8"
)

// decodeFast decodes a record line in the shape Encoder writes — known
// lower-case keys, plain strings, integers, RFC 3339 times, a phases
// object — without reflection, several times faster than encoding/json
// (BenchmarkDecode). It reports false, leaving r in any state, on anything
// else (escapes, nulls, other keys or spellings, numbers with fractions,
// invalid UTF-8, malformed input); the caller then decodes the line with
// encoding/json, whose result is the reference: FuzzDecodeFastAgrees
// checks that whatever decodeFast accepts, encoding/json decodes alike.
func decodeFast(line []byte, r *Record) bool {
	i := skipSpace(line, 0)
	if i >= len(line) || line[i] != '{' {
		return false
	}
	i = skipSpace(line, i+1)
	if i < len(line) && line[i] == '}' {
		return skipSpace(line, i+1) == len(line)
	}
	for {
		key, next, ok := fastString(line, i)
		if !ok {
			return false
		}
		i = skipSpace(line, next)
		if i >= len(line) || line[i] != ':' {
			return false
		}
		i = skipSpace(line, i+1)
		if i, ok = fastField(line, i, string(key), r); !ok {
			return false
		}
		i = skipSpace(line, i)
		if i >= len(line) {
			return false
		}
		if line[i] == '}' {
			return skipSpace(line, i+1) == len(line)
		}
		if line[i] != ',' {
			return false
		}
		i = skipSpace(line, i+1)
	}
}

// fastField decodes the value of key at line[i] into r and returns the
// index past it.
func fastField(line []byte, i int, key string, r *Record) (int, bool) {
	var n int64
	var s []byte
	ok := true
	switch key {
	case "seq":
		n, i, ok = fastInt(line, i)
		r.Seq = n
	case "user":
		n, i, ok = fastInt(line, i)
		r.User = int(n)
		ok = ok && int64(r.User) == n
	case "bytes":
		r.Bytes, i, ok = fastInt(line, i)
	case "want":
		r.Want, i, ok = fastInt(line, i)
	case "code":
		n, i, ok = fastInt(line, i)
		r.Code = int(n)
		ok = ok && int64(r.Code) == n
	case "segment", "mode", "op", "outcome", "err":
		s, i, ok = fastString(line, i)
		switch key {
		case "segment":
			r.Segment = string(s)
		case "mode":
			r.Mode = intern(s, knownModes)
		case "op":
			r.Op = intern(s, knownOps)
		case "outcome":
			r.Outcome = Outcome(intern(s, knownOutcomes))
		case "err":
			r.Err = string(s)
		}
	case "start", "intended":
		s, i, ok = fastString(line, i)
		t := &r.Start
		if key == "intended" {
			t = &r.Intended
		}
		if ok && !fastTime(s, t) {
			ok = t.UnmarshalText(s) == nil
		}
	case "t":
		var fast bool
		if r.T, i, fast = fastPhases(line, i); !fast {
			// The phases object ends at its first '}': phase names hold
			// none, and a cut inside a string leaves invalid JSON, which
			// fails.
			end := bytes.IndexByte(line[i:], '}')
			if end < 0 {
				return i, false
			}
			ok = r.T.UnmarshalJSON(line[i:i+end+1]) == nil
			i += end + 1
		}
	default:
		return i, false
	}
	return i, ok
}

// fastInt reads a JSON integer (no fraction or exponent) that fits int64.
func fastInt(line []byte, i int) (int64, int, bool) {
	j := i
	neg := j < len(line) && line[j] == '-'
	if neg {
		j++
	}
	start := j
	var n int64
	for j < len(line) && line[j] >= '0' && line[j] <= '9' {
		n = n*10 + int64(line[j]-'0')
		j++
	}
	digits := j - start
	if digits == 0 || (digits > 1 && line[start] == '0') {
		return 0, i, false
	}
	if j < len(line) && (line[j] == '.' || line[j] == 'e' || line[j] == 'E') {
		return 0, i, false
	}
	if digits > 18 { // may have overflowed: let strconv decide
		v, err := strconv.ParseInt(string(line[i:j]), 10, 64)
		return v, j, err == nil
	}
	if neg {
		n = -n
	}
	return n, j, true
}

// fastString reads a JSON string with no escapes or control characters
// and valid UTF-8, and returns its bytes (a subslice of line).
func fastString(line []byte, i int) ([]byte, int, bool) {
	if i >= len(line) || line[i] != '"' {
		return nil, i, false
	}
	high := false // only a string with bytes ≥ 0x80 needs a UTF-8 check
	for j := i + 1; j < len(line); j++ {
		switch c := line[j]; {
		case c == '"':
			s := line[i+1 : j]
			return s, j + 1, !high || utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return nil, i, false
		case c >= utf8.RuneSelf:
			high = true
		}
	}
	return nil, i, false
}

// Values the Encoder writes over and over; intern returns these constants
// rather than allocating a copy per record.
var (
	knownModes    = []string{"pasv", "port", "epsv", "eprt", "default", "fxp"}
	knownOps      = []string{"retr", "stor", "login"}
	knownOutcomes = func() []string {
		s := make([]string, len(Outcomes))
		for i, o := range Outcomes {
			s[i] = string(o)
		}
		return s
	}()
)

// intern returns the member of known equal to s, or a copy of s.
func intern(s []byte, known []string) string {
	for _, k := range known {
		if string(s) == k {
			return k
		}
	}
	return string(s)
}

// fastPhases reads the phases object as the Encoder writes it: reached
// phases only, in phase order, plain non-negative integers without spaces.
// Anything else (another order, spaces, null, a duplicate) reports false
// for Phases.UnmarshalJSON to judge.
func fastPhases(line []byte, i int) (Phases, int, bool) {
	ph := NoPhases
	if i >= len(line) || line[i] != '{' {
		return ph, i, false
	}
	j := i + 1
	if j < len(line) && line[j] == '}' {
		return ph, j + 1, true
	}
	next := Phase(0)
	for {
		if j >= len(line) || line[j] != '"' {
			return ph, i, false
		}
		j++
		for next < NumPhases && !hasPhaseKey(line[j:], phaseNames[next]) {
			next++
		}
		if next == NumPhases {
			return ph, i, false
		}
		j += len(phaseNames[next]) + 2 // name, closing quote, colon
		start := j
		var n int64
		for j < len(line) && line[j] >= '0' && line[j] <= '9' {
			n = n*10 + int64(line[j]-'0')
			j++
		}
		if d := j - start; d == 0 || d > 18 || (d > 1 && line[start] == '0') {
			return ph, i, false
		}
		ph[next] = n
		next++
		if j >= len(line) {
			return ph, i, false
		}
		switch line[j] {
		case '}':
			return ph, j + 1, true
		case ',':
			j++
		default:
			return ph, i, false
		}
	}
}

// hasPhaseKey reports whether b starts with name followed by `":`.
func hasPhaseKey(b []byte, name string) bool {
	return len(b) > len(name)+1 && string(b[:len(name)]) == name && b[len(name)] == '"' && b[len(name)+1] == ':'
}

// fastTime parses s as the Encoder writes a UTC time,
// "2006-01-02T15:04:05.999999999Z" (1 to 9 fraction digits, or none), into
// t. It reports false, leaving t alone, on any other shape; the caller
// then asks time.Time.UnmarshalText.
func fastTime(s []byte, t *time.Time) bool {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' {
		return false
	}
	year, ok1 := digitsAt(s, 0, 4)
	month, ok2 := digitsAt(s, 5, 2)
	day, ok3 := digitsAt(s, 8, 2)
	hour, ok4 := digitsAt(s, 11, 2)
	minute, ok5 := digitsAt(s, 14, 2)
	sec, ok6 := digitsAt(s, 17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 ||
		day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return false
	}
	nsec := 0
	if frac := s[19 : len(s)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return false
		}
		n, ok := digitsAt(frac, 1, len(frac)-1)
		if !ok {
			return false
		}
		for range 10 - len(frac) {
			n *= 10
		}
		nsec = n
	}
	*t = time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return true
}

// digitsAt returns the decimal number in s[i:i+n], which must be all digits.
func digitsAt(s []byte, i, n int) (int, bool) {
	v := 0
	for _, c := range s[i : i+n] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// daysIn returns the number of days in month of year (Gregorian).
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
