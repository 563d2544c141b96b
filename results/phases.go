package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// MarshalJSON encodes the phases as an object holding only the phases that
// were reached, by name, in phase order:
//
//	{"setup_sent":0,"setup_reply":120000,"data_open":250000}
//
// Leaving out unreached phases (rather than writing -1) keeps lines short and
// makes "never reached" impossible to confuse with an offset. A cycle that
// reached nothing encodes as {}. Any negative offset counts as unreached.
//
// The receiver is a value so that encoding/json uses it for a Record that is
// not addressable.
func (ph Phases) MarshalJSON() ([]byte, error) {
	return ph.appendJSON(make([]byte, 0, 16*NumPhases)), nil
}

// appendJSON appends the encoding documented on MarshalJSON to b. It does not
// allocate beyond growing b, so the Encoder uses it on the hot path.
func (ph *Phases) appendJSON(b []byte) []byte {
	b = append(b, '{')
	first := true
	for p, off := range ph {
		if off < 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, phaseNames[p]...)
		b = append(b, '"', ':')
		b = appendInt(b, off)
	}
	return append(b, '}')
}

// UnmarshalJSON decodes the object written by MarshalJSON. Phases absent from
// the object are set to -1 (not reached), so the result never depends on what
// the receiver held before. JSON null likewise means "no phase reached".
//
// It rejects, with an error naming the phase, what MarshalJSON never writes
// and what would make derived durations meaningless: unknown phase names,
// a phase given twice, and offsets that are negative, fractional or out of
// the int64 range.
func (ph *Phases) UnmarshalJSON(data []byte) error {
	p := NoPhases
	i := skipSpace(data, 0)
	if rest := data[i:]; len(trimSpaceRight(rest)) == 4 && string(rest[:4]) == "null" {
		*ph = p
		return nil
	}
	if i >= len(data) || data[i] != '{' {
		return errors.New("phases: want a JSON object")
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		i++
	} else {
		for {
			name, next, err := readKey(data, i)
			if err != nil {
				return err
			}
			phase, ok := lookupPhase(name)
			if !ok {
				return fmt.Errorf("unknown phase %q", name)
			}
			if p[phase] >= 0 {
				return fmt.Errorf("phase %q given twice", name)
			}
			i = skipSpace(data, next)
			if i >= len(data) || data[i] != ':' {
				return fmt.Errorf("phase %q: want ':' after the name", name)
			}
			i = skipSpace(data, i+1)
			off, next, err := readOffset(data, i)
			if err != nil {
				return fmt.Errorf("phase %q: %w", name, err)
			}
			p[phase] = off
			i = skipSpace(data, next)
			if i >= len(data) {
				return errors.New("phases: unterminated object")
			}
			if data[i] == '}' {
				i++
				break
			}
			if data[i] != ',' {
				return fmt.Errorf("phases: unexpected %q after phase %q", data[i], name)
			}
			i = skipSpace(data, i+1)
		}
	}
	if skipSpace(data, i) != len(data) {
		return errors.New("phases: trailing data after the object")
	}
	*ph = p
	return nil
}

// lookupPhase maps a JSON name to its Phase.
func lookupPhase(name []byte) (Phase, bool) {
	for p, n := range phaseNames {
		if string(name) == n {
			return Phase(p), true
		}
	}
	return 0, false
}

// readKey reads the JSON string starting at data[i] and returns its decoded
// bytes and the index just past it. Escapes are rare in keys (MarshalJSON
// never writes one), so only then does it defer to encoding/json.
func readKey(data []byte, i int) (key []byte, next int, err error) {
	if i >= len(data) || data[i] != '"' {
		return nil, 0, errors.New("phases: want a quoted phase name")
	}
	escaped := false
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			escaped = true
			j++ // skip the escaped byte; \uXXXX needs no special care here
		case '"':
			if !escaped {
				return data[i+1 : j], j + 1, nil
			}
			var s string
			if err := json.Unmarshal(data[i:j+1], &s); err != nil {
				return nil, 0, fmt.Errorf("phases: bad phase name: %w", err)
			}
			return []byte(s), j + 1, nil
		}
	}
	return nil, 0, errors.New("phases: unterminated phase name")
}

// readOffset reads a non-negative JSON integer starting at data[i] and
// returns it and the index just past it.
func readOffset(data []byte, i int) (int64, int, error) {
	j := i
	for j < len(data) && isNumberByte(data[j]) {
		j++
	}
	tok := data[i:j]
	if len(tok) == 0 {
		return 0, 0, errors.New("offset is not a number")
	}
	if tok[0] == '-' {
		return 0, 0, fmt.Errorf("negative offset %s", tok)
	}
	var v int64
	for k, c := range tok {
		if c < '0' || c > '9' {
			return 0, 0, fmt.Errorf("offset %s is not an integer", tok)
		}
		if k > 0 && tok[0] == '0' {
			return 0, 0, fmt.Errorf("offset %s has a leading zero", tok)
		}
		d := int64(c - '0')
		if v > (math.MaxInt64-d)/10 {
			return 0, 0, fmt.Errorf("offset %s overflows int64", tok)
		}
		v = v*10 + d
	}
	return v, j, nil
}

func isNumberByte(c byte) bool {
	return '0' <= c && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

func trimSpaceRight(b []byte) []byte {
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}
