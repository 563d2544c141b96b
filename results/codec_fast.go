package results

import (
	"bytes"
	"strconv"
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
			r.Mode = string(s)
		case "op":
			r.Op = string(s)
		case "outcome":
			r.Outcome = Outcome(s)
		case "err":
			r.Err = string(s)
		}
	case "start", "intended":
		s, i, ok = fastString(line, i)
		t := &r.Start
		if key == "intended" {
			t = &r.Intended
		}
		ok = ok && t.UnmarshalText(s) == nil
	case "t":
		// The phases object ends at its first '}': phase names hold none,
		// and a cut inside a string leaves invalid JSON, which fails.
		end := bytes.IndexByte(line[i:], '}')
		if end < 0 {
			return i, false
		}
		ok = r.T.UnmarshalJSON(line[i:i+end+1]) == nil
		i += end + 1
	default:
		return i, false
	}
	return i, ok
}

// fastInt reads a JSON integer (no fraction or exponent) that fits int64.
func fastInt(line []byte, i int) (int64, int, bool) {
	j := i
	if j < len(line) && line[j] == '-' {
		j++
	}
	start := j
	for j < len(line) && line[j] >= '0' && line[j] <= '9' {
		j++
	}
	digits := j - start
	if digits == 0 || (digits > 1 && line[start] == '0') {
		return 0, i, false
	}
	if j < len(line) && (line[j] == '.' || line[j] == 'e' || line[j] == 'E') {
		return 0, i, false
	}
	n, err := strconv.ParseInt(string(line[i:j]), 10, 64)
	return n, j, err == nil
}

// fastString reads a JSON string with no escapes or control characters
// and valid UTF-8, and returns its bytes (a subslice of line).
func fastString(line []byte, i int) ([]byte, int, bool) {
	if i >= len(line) || line[i] != '"' {
		return nil, i, false
	}
	for j := i + 1; j < len(line); j++ {
		switch c := line[j]; {
		case c == '"':
			s := line[i+1 : j]
			return s, j + 1, utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return nil, i, false
		}
	}
	return nil, i, false
}
