package results

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
	"unicode/utf8"
)

// MaxLineBytes is the longest line, newline excluded, that a Decoder
// accepts. A record is a few hundred bytes; the limit only exists so that a
// corrupt or foreign file cannot make the reader allocate without bound.
const MaxLineBytes = 1 << 20

// flushThreshold is the buffered size past which Encode writes. 64 KiB is
// large enough to make writes cheap and small enough that a crash loses
// little.
const flushThreshold = 64 << 10

// ErrPartialLine is wrapped by the error a Decoder returns for a final line
// that has no trailing newline and is not valid JSON: what a process killed
// mid-write (SIGKILL, OOM, power loss) leaves behind. Every complete line
// before it is intact, so callers usually warn and carry on.
var ErrPartialLine = errors.New("partial final line")

// Known reports whether o is one of Outcomes.
func (o Outcome) Known() bool {
	for _, k := range Outcomes {
		if o == k {
			return true
		}
	}
	return false
}

// Validate reports the first property of r that no writer of this format
// produces: an outcome outside Outcomes or a negative seq. Phase offsets are
// checked when they are decoded (see Phases.UnmarshalJSON).
func (r *Record) Validate() error {
	if !r.Outcome.Known() {
		return fmt.Errorf("unknown outcome %q", r.Outcome)
	}
	if r.Seq < 0 {
		return fmt.Errorf("negative seq %d", r.Seq)
	}
	return nil
}

// An Encoder writes Records as JSON Lines: one object per line, with the
// field names and order of Record's JSON tags.
//
// It buffers internally and hands the underlying writer only whole lines, in
// one Write per flush, so a process killed between flushes leaves a file of
// whole lines (at worst a torn final write, which Decoder reports as
// ErrPartialLine). Call Flush when done. An Encoder is not safe for
// concurrent use.
type Encoder struct {
	w   io.Writer
	buf []byte
	err error // sticky write error
}

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w io.Writer) *Encoder {
	return &Encoder{w: w, buf: make([]byte, 0, flushThreshold+4<<10)}
}

// Encode appends r as one line and writes the buffer out once it passes
// 64 KiB. The encoding is byte-for-byte what encoding/json produces for r
// with HTML escaping off, but built with strconv appenders: no reflection and
// no allocation in the steady state. After a write error every call returns
// that error.
func (e *Encoder) Encode(r *Record) error {
	if e.err != nil {
		return e.err
	}
	n := len(e.buf)
	b, err := appendRecord(e.buf, r)
	if err != nil {
		e.buf = e.buf[:n] // never leave half a line behind
		return fmt.Errorf("encode record seq %d: %w", r.Seq, err)
	}
	e.buf = append(b, '\n')
	if len(e.buf) >= flushThreshold {
		return e.Flush()
	}
	return nil
}

// Flush writes any buffered lines to the underlying writer.
func (e *Encoder) Flush() error {
	if e.err != nil {
		return e.err
	}
	if len(e.buf) == 0 {
		return nil
	}
	n, err := e.w.Write(e.buf)
	if err == nil && n < len(e.buf) {
		err = io.ErrShortWrite
	}
	if err != nil {
		e.err = fmt.Errorf("write records: %w", err)
		return e.err
	}
	e.buf = e.buf[:0]
	return nil
}

// appendRecord appends the JSON object for r to b, matching encoding/json's
// output for Record field for field (omitempty, omitzero, time format and
// string escaping included); TestEncodeMatchesEncodingJSON guards that.
// On error the returned slice must be discarded.
func appendRecord(b []byte, r *Record) ([]byte, error) {
	var err error
	b = append(b, `{"seq":`...)
	b = appendInt(b, r.Seq)
	b = append(b, `,"user":`...)
	b = appendInt(b, int64(r.User))
	if r.Segment != "" {
		b = append(b, `,"segment":`...)
		b = appendString(b, r.Segment)
	}
	b = append(b, `,"mode":`...)
	b = appendString(b, r.Mode)
	b = append(b, `,"op":`...)
	b = appendString(b, r.Op)
	b = append(b, `,"start":`...)
	if b, err = appendTime(b, r.Start); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	if !r.Intended.IsZero() {
		b = append(b, `,"intended":`...)
		if b, err = appendTime(b, r.Intended); err != nil {
			return nil, fmt.Errorf("intended: %w", err)
		}
	}
	b = append(b, `,"t":`...)
	b = r.T.appendJSON(b)
	b = append(b, `,"bytes":`...)
	b = appendInt(b, r.Bytes)
	b = append(b, `,"want":`...)
	b = appendInt(b, r.Want)
	if r.Code != 0 {
		b = append(b, `,"code":`...)
		b = appendInt(b, int64(r.Code))
	}
	b = append(b, `,"outcome":`...)
	b = appendString(b, string(r.Outcome))
	if r.Err != "" {
		b = append(b, `,"err":`...)
		b = appendString(b, r.Err)
	}
	return append(b, '}'), nil
}

func appendInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }

// appendTime appends t as a quoted RFC 3339 timestamp with nanoseconds in
// t's own offset, as time.Time.MarshalJSON does.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return nil, err
	}
	return append(b, '"'), nil
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string exactly as encoding/json does with
// HTML escaping off: quote, backslash and control bytes escaped (short forms
// where JSON has them), U+2028 and U+2029 escaped, and each byte of invalid
// UTF-8 replaced by U+FFFD so the output is always valid JSON.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// A Decoder reads Records from JSON Lines, as written by Encoder.
//
// Every error names the line it is about ("line 17: ..."), counting from 1
// and including blank lines, which are skipped. Errors about one line's
// content (bad JSON, an unknown outcome or phase, a line over MaxLineBytes)
// leave the Decoder positioned at the next line, so a caller may report and
// continue; read errors from the underlying reader are returned from then on.
type Decoder struct {
	br   *bufio.Reader
	buf  []byte // holds a line longer than br's buffer
	line int    // number of the last line read
	err  error  // sticky read error or io.EOF
}

// NewDecoder returns a Decoder reading from r. It buffers r, so it may read
// past the last record it returns.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{br: bufio.NewReaderSize(r, 64<<10)}
}

// Line returns the number of the last line Decode read, from 1.
func (d *Decoder) Line() int { return d.line }

// Decode reads the next record into r, returning io.EOF when there are no
// more. r is reset first, so fields absent from the line are zero and
// phases absent from "t" are -1. Each record is checked with Validate.
//
// A final line without a trailing newline that is not valid JSON yields an
// error wrapping ErrPartialLine; a final line without a newline that does
// parse is returned as a record, since it lost nothing.
func (d *Decoder) Decode(r *Record) error {
	for {
		line, terminated, err := d.readLine()
		if err != nil {
			return err
		}
		if skip, err := decodeLine(line, terminated, d.line, r); !skip {
			return err
		}
	}
}

// decodeLine decodes line number n (terminated: it ended in a newline) into
// r, or reports skip for a blank line, which holds no record.
func decodeLine(line []byte, terminated bool, n int, r *Record) (skip bool, err error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return true, nil
	}
	*r = Record{T: NoPhases}
	if !decodeFast(line, r) {
		*r = Record{T: NoPhases}
		if err := json.Unmarshal(line, r); err != nil {
			var syn *json.SyntaxError
			if !terminated && errors.As(err, &syn) {
				return false, fmt.Errorf("line %d: %w (no trailing newline): %w", n, ErrPartialLine, err)
			}
			return false, fmt.Errorf("line %d: %w", n, err)
		}
	}
	if err := r.Validate(); err != nil {
		return false, fmt.Errorf("line %d: %w", n, err)
	}
	return false, nil
}

// readLine returns the next line without its newline and whether it had
// one. The slice is valid until the next call. Lines longer than
// MaxLineBytes are consumed up to their newline and reported as an error
// without being held in memory.
func (d *Decoder) readLine() (line []byte, terminated bool, err error) {
	if d.err != nil {
		return nil, false, d.err
	}
	d.buf = d.buf[:0]
	size := 0
	for {
		frag, err := d.br.ReadSlice('\n')
		size += len(frag)
		switch err {
		case nil:
			d.line++
			if size-1 > MaxLineBytes {
				return nil, false, fmt.Errorf("line %d: longer than %d bytes", d.line, MaxLineBytes)
			}
			frag = frag[:len(frag)-1]
			if len(d.buf) == 0 {
				return frag, true, nil
			}
			d.buf = append(d.buf, frag...)
			return d.buf, true, nil
		case bufio.ErrBufferFull:
			if size <= MaxLineBytes {
				d.buf = append(d.buf, frag...)
			}
			continue
		case io.EOF:
			d.err = io.EOF
			if size == 0 {
				return nil, false, io.EOF
			}
			d.line++
			if size > MaxLineBytes {
				return nil, false, fmt.Errorf("line %d: longer than %d bytes", d.line, MaxLineBytes)
			}
			if len(d.buf) == 0 {
				return frag, false, nil
			}
			d.buf = append(d.buf, frag...)
			return d.buf, false, nil
		default:
			d.err = fmt.Errorf("line %d: read: %w", d.line+1, err)
			return nil, false, d.err
		}
	}
}

// ReadFiles decodes the record files at paths in order, calling fn for each
// record. Memory stays bounded by one line whatever the files' sizes. The
// Record passed to fn is reused; fn must copy it to keep it.
//
// A torn final line (ErrPartialLine) in any file is not fatal: it is
// skipped and described in warnings, since it is what a killed writer
// leaves. Any other error stops the read and is returned naming the file
// and line; an error from fn is returned wrapped the same way.
func ReadFiles(paths []string, fn func(*Record) error) (warnings []string, err error) {
	return readFiles(paths, true, fn)
}

// readFiles is ReadFiles, decoding each file on every core (parallel) or
// on the calling goroutine only, holding one line at a time (merge, which
// reads many files at once, each on its own goroutine).
func readFiles(paths []string, parallel bool, fn func(*Record) error) (warnings []string, err error) {
	for _, path := range paths {
		w, err := readFile(path, parallel, fn)
		if w != "" {
			warnings = append(warnings, w)
		}
		if err != nil {
			return warnings, err
		}
	}
	return warnings, nil
}

func readFile(path string, parallel bool, fn func(*Record) error) (warning string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err // *PathError already names the file
	}
	defer f.Close()
	if parallel {
		err = decodeParallel(f, readBlockSize, fn)
	} else {
		err = decodeEach(f, fn)
	}
	if errors.Is(err, ErrPartialLine) {
		return fmt.Sprintf("%s: %v; skipped", path, err), nil
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return "", nil
}

// decodeEach calls fn for each record of r, as decodeParallel does, but on
// the calling goroutine and holding one line at a time.
func decodeEach(r io.Reader, fn func(*Record) error) error {
	d := NewDecoder(r)
	var rec Record
	for {
		err := d.Decode(&rec)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(&rec); err != nil {
			return fmt.Errorf("line %d: %w", d.Line(), err)
		}
	}
}
