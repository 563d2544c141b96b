package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPhasesMarshalJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Phases
		want string
	}{
		{"none", NoPhases, `{}`},
		{"zero offsets", phases(SetupSent, time.Duration(0), SetupReply, time.Duration(0)), `{"setup_sent":0,"setup_reply":0}`},
		{"gaps", phases(SetupSent, time.Duration(0), EOF, time.Duration(5), Done, time.Duration(9)), `{"setup_sent":0,"eof":5,"done":9}`},
		{"all", Phases{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, `{"login":0,"setup_sent":1,"setup_reply":2,"data_open":3,"cmd_sent":4,"prelim":5,"first_byte":6,"eof":7,"final":8,"done":9}`},
		{"other negatives are absent", Phases{-1, -5, 1, -1, -1, -1, -1, -1, -1, -1}, `{"setup_reply":1}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := json.Marshal(tc.in)
			if err != nil || string(got) != tc.want {
				t.Errorf("json.Marshal = %s, %v; want %s", got, err, tc.want)
			}
		})
	}
}

func TestPhasesUnmarshalJSON(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Phases
		wantErr string
	}{
		{in: `{}`, want: NoPhases},
		{in: `null`, want: NoPhases},
		{in: ` { "eof" : 5 , "final":7 } `, want: phases(EOF, time.Duration(5), Final, time.Duration(7))},
		{in: `{"setup_sent":0}`, want: phases(SetupSent, time.Duration(0))},
		{in: `{"e\u006ff":3}`, want: phases(EOF, time.Duration(3))},
		{in: `{"done":9223372036854775807}`, want: phases(Done, time.Duration(1<<63-1))},
		{in: `{"bogus":1}`, wantErr: `unknown phase "bogus"`},
		{in: `{"eof":-1}`, wantErr: `phase "eof": negative offset -1`},
		{in: `{"eof":1.5}`, wantErr: `phase "eof": offset 1.5 is not an integer`},
		{in: `{"eof":1e3}`, wantErr: `phase "eof": offset 1e3 is not an integer`},
		{in: `{"eof":"1"}`, wantErr: `phase "eof": offset is not a number`},
		{in: `{"eof":null}`, wantErr: `phase "eof": offset is not a number`},
		{in: `{"eof":01}`, wantErr: `leading zero`},
		{in: `{"eof":99999999999999999999}`, wantErr: `overflows int64`},
		{in: `{"eof":1,"eof":2}`, wantErr: `phase "eof" given twice`},
		{in: `[]`, wantErr: `want a JSON object`},
		{in: ``, wantErr: `want a JSON object`},
		{in: `{"eof":1`, wantErr: `unterminated object`},
		{in: `{"eof":1}x`, wantErr: `trailing data`},
		{in: `{"eof" 1}`, wantErr: `want ':'`},
		{in: `{"eof":1 "final":2}`, wantErr: `unexpected`},
		{in: `{eof:1}`, wantErr: `want a quoted phase name`},
		{in: `{"eof`, wantErr: `unterminated phase name`},
		{in: `{"e\x":1}`, wantErr: `bad phase name`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			p := Phases{1, 2, 3, 4, 5, 6, 7, 8, 9, 10} // must not leak into the result
			err := p.UnmarshalJSON([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v; want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || p != tc.want {
				t.Fatalf("got %v, %v; want %v", p, err, tc.want)
			}
		})
	}
}

// extraRecords adds edge cases to the fixtures for round trips.
func extraRecords() []Record {
	return []Record{
		{Mode: "pasv", Op: "retr", Start: base, T: NoPhases, Outcome: Canceled},
		{Seq: 1<<63 - 1, User: -1, Mode: "", Op: "", Start: base.Add(123456789 * time.Nanosecond),
			Intended: base.Add(-1), T: Phases{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, Bytes: 1<<63 - 1, Want: -1,
			Code: 226, Outcome: OK},
		{Seq: 42, Mode: "pasv", Op: "retr", Start: time.Date(1, 1, 1, 0, 0, 0, 1, time.FixedZone("", -(23*3600+59*60))),
			T: phases(EOF, time.Duration(10), Final, time.Duration(3)), Outcome: ProtocolError,
			Err: "ctl \x00\x01\x1f\x7f \b\f\r\n\t \"q\" \\ \u2028\u2029 日本語 🚀 </script>"},
		{Seq: 43, Segment: "3/4", Mode: "fxp", Op: "stor", Start: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
			T: NoPhases, Outcome: Desync, Err: strings.Repeat("x", 100000)},
	}
}

func encodeAll(t testing.TB, recs []Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	e := NewEncoder(&buf)
	for i := range recs {
		if err := e.Encode(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	recs := append(fixtureRecords(), extraRecords()...)
	data := encodeAll(t, recs)
	d := NewDecoder(bytes.NewReader(data))
	for i := range recs {
		var got Record
		if err := d.Decode(&got); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !sameRecord(&got, &recs[i]) {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, got, recs[i])
		}
		// encoding/json reads the same thing.
		var std Record
		line := bytes.Split(data, []byte("\n"))[i]
		if err := json.Unmarshal(line, &std); err != nil || !sameRecord(&std, &recs[i]) {
			t.Errorf("record %d via encoding/json: %v\n got %+v\nwant %+v", i, err, std, recs[i])
		}
	}
	var r Record
	if err := d.Decode(&r); err != io.EOF {
		t.Fatalf("after the last record: %v; want io.EOF", err)
	}
}

func TestGoldenRecords(t *testing.T) {
	golden(t, "records.jsonl", encodeAll(t, fixtureRecords()))
}

// stdEncode is what encoding/json writes for r with HTML escaping off.
func stdEncode(r *Record) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func TestEncodeMatchesEncodingJSON(t *testing.T) {
	recs := append(fixtureRecords(), extraRecords()...)
	recs = append(recs, Record{Mode: "bad\xffutf8\xc3", Op: "\xe2\x80", Start: base, T: NoPhases, Outcome: OK, Err: "\xed\xa0\x80 surrogate"})
	for i := range recs {
		got, err := appendRecord(nil, &recs[i])
		if err != nil {
			t.Fatal(err)
		}
		want, err := stdEncode(&recs[i])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("record %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func TestEncodeBadTime(t *testing.T) {
	var buf bytes.Buffer
	e := NewEncoder(&buf)
	good := fixtureRecords()[0]
	bad := good
	bad.Start = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := e.Encode(&good); err != nil {
		t.Fatal(err)
	}
	err := e.Encode(&bad)
	if err == nil || !strings.Contains(err.Error(), "start") {
		t.Fatalf("Encode(year 10000) = %v; want an error about start", err)
	}
	bad.Start, bad.Intended = good.Start, time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := e.Encode(&bad); err == nil || !strings.Contains(err.Error(), "intended") {
		t.Fatalf("Encode(intended year -1) = %v; want an error about intended", err)
	}
	// The failed records left nothing behind; the encoder still works.
	if err := e.Encode(&good); err != nil {
		t.Fatal(err)
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(buf.Bytes(), []byte("\n")); n != 2 {
		t.Fatalf("wrote %d lines; want 2:\n%s", n, buf.Bytes())
	}
}

// writeLog records every Write it is given.
type writeLog struct {
	writes [][]byte
	fail   error
}

func (w *writeLog) Write(p []byte) (int, error) {
	if w.fail != nil {
		return 0, w.fail
	}
	w.writes = append(w.writes, bytes.Clone(p))
	return len(p), nil
}

func TestEncoderWritesWholeLines(t *testing.T) {
	recs := fixtureRecords()
	w := &writeLog{}
	e := NewEncoder(w)
	const n = 5000
	for i := range n {
		r := recs[i%len(recs)]
		r.Seq = int64(i)
		if err := e.Encode(&r); err != nil {
			t.Fatal(err)
		}
	}
	if len(w.writes) == 0 {
		t.Fatal("nothing written before Flush; want writes every ~64 KiB")
	}
	for i, p := range w.writes {
		if len(p) < flushThreshold {
			t.Errorf("write %d is %d bytes; want at least %d before Flush", i, len(p), flushThreshold)
		}
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := 0
	for i, p := range w.writes {
		if p[len(p)-1] != '\n' {
			t.Errorf("write %d does not end a line", i)
		}
		lines += bytes.Count(p, []byte("\n"))
	}
	if lines != n {
		t.Errorf("wrote %d lines; want %d", lines, n)
	}

	// A write error sticks.
	w = &writeLog{fail: errors.New("disk full")}
	e = NewEncoder(w)
	if err := e.Encode(&recs[0]); err != nil {
		t.Fatal(err)
	}
	err := e.Flush()
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Flush = %v; want disk full", err)
	}
	if err2 := e.Encode(&recs[0]); err2 != err {
		t.Fatalf("Encode after a write error = %v; want %v", err2, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	ok := string(encodeAll(t, fixtureRecords()[:1]))
	okNoNL := strings.TrimSuffix(ok, "\n")
	long := `{"err":"` + strings.Repeat("x", MaxLineBytes) + `"}`
	for _, tc := range []struct {
		name    string
		in      string
		good    int    // records before the error
		wantErr string // "" for none
		partial bool   // wantErr wraps ErrPartialLine
		after   int    // records after the error
	}{
		{name: "bad json", in: ok + "{\"seq\":\n" + ok, good: 1, wantErr: "line 2: unexpected end of JSON input", after: 1},
		{name: "not an object", in: "\n[1,2]\n", wantErr: "line 2: json: cannot unmarshal array"},
		{name: "wrong type", in: `{"seq":"1","outcome":"ok"}` + "\n", wantErr: "line 1: json: cannot unmarshal string"},
		{name: "unknown outcome", in: ok + ok + `{"seq":1,"outcome":"bogus"}` + "\n", good: 2, wantErr: `line 3: unknown outcome "bogus"`},
		{name: "missing outcome", in: `{"seq":1}` + "\n", wantErr: `line 1: unknown outcome ""`},
		{name: "null line", in: "null\n", wantErr: `line 1: unknown outcome ""`},
		{name: "negative seq", in: `{"seq":-3,"outcome":"ok"}` + "\n" + ok, wantErr: "line 1: negative seq -3", after: 1},
		{name: "unknown phase", in: "\n\n" + `{"seq":1,"outcome":"ok","t":{"eof":1,"bogus":2}}` + "\n", wantErr: `line 3: unknown phase "bogus"`},
		{name: "negative phase", in: `{"seq":1,"outcome":"ok","t":{"eof":-1}}` + "\n", wantErr: `line 1: phase "eof": negative offset -1`},
		{name: "overlong line", in: ok + long + "\n" + ok, good: 1, wantErr: fmt.Sprintf("line 2: longer than %d bytes", MaxLineBytes), after: 1},
		{name: "overlong last line", in: ok + long, good: 1, wantErr: "line 2: longer than"},
		{name: "partial last line", in: ok + ok[:len(ok)/2], good: 1, wantErr: "line 2: partial final line", partial: true},
		{name: "partial after blanks", in: ok + "\n \n" + `{"seq":1,"out`, good: 1, wantErr: "line 4: partial final line", partial: true},
		{name: "unterminated but whole", in: ok + okNoNL, good: 2},
		{name: "unterminated bad outcome", in: `{"seq":1,"outcome":"bogus"}`, wantErr: `line 1: unknown outcome "bogus"`},
		{name: "terminated garbage is not partial", in: ok + "{\"seq\":1\n", good: 1, wantErr: "line 2: unexpected end of JSON input"},
		{name: "blank lines and CRLF", in: "\n\r\n   \n" + okNoNL + "\r\n\n", good: 1},
		{name: "empty", in: ""},
		{name: "exactly max length", in: `{"seq":1,"outcome":"ok","err":"` + strings.Repeat("y", MaxLineBytes-len(`{"seq":1,"outcome":"ok","err":""}`)) + `"}` + "\n", good: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(strings.NewReader(tc.in))
			var r Record
			for i := range tc.good {
				if err := d.Decode(&r); err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
			}
			if tc.wantErr != "" {
				err := d.Decode(&r)
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v; want one containing %q", err, tc.wantErr)
				}
				if got := errors.Is(err, ErrPartialLine); got != tc.partial {
					t.Fatalf("errors.Is(%v, ErrPartialLine) = %v; want %v", err, got, tc.partial)
				}
			}
			for i := range tc.after {
				if err := d.Decode(&r); err != nil {
					t.Fatalf("record %d after the error: %v", i, err)
				}
			}
			if err := d.Decode(&r); err != io.EOF {
				t.Fatalf("at the end: %v; want io.EOF", err)
			}
		})
	}
}

// errReader fails after its data.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		err = e.err
	}
	return n, err
}

func TestDecodeReadErrorSticks(t *testing.T) {
	ok := encodeAll(t, fixtureRecords()[:2])
	d := NewDecoder(&errReader{bytes.NewReader(ok), errors.New("boom")})
	var r Record
	for range 2 {
		if err := d.Decode(&r); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := d.Decode(&r); err == nil || !strings.Contains(err.Error(), "line 3: read: boom") {
			t.Fatalf("err = %v; want line 3: read: boom", err)
		}
	}
}

func TestReadFiles(t *testing.T) {
	dir := t.TempDir()
	recs := fixtureRecords()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.jsonl", encodeAll(t, recs[:3]))
	full := encodeAll(t, recs[3:6])
	b := write("b.jsonl", full[:len(full)-10]) // killed mid-write
	c := write("c.jsonl", encodeAll(t, recs[6:]))
	bad := write("bad.jsonl", append(encodeAll(t, recs[:1]), "{\"seq\":1,\"outcome\":\"nope\"}\n"...))

	var seqs []int64
	collect := func(r *Record) error { seqs = append(seqs, r.Seq); return nil }
	warnings, err := ReadFiles([]string{a, b, c}, collect)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(recs) - 1; len(seqs) != want {
		t.Errorf("read %d records (%v); want %d", len(seqs), seqs, want)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], b+": line 3: partial final line") {
		t.Errorf("warnings = %q; want one naming %s line 3", warnings, b)
	}

	_, err = ReadFiles([]string{a, bad, c}, func(*Record) error { return nil })
	if err == nil || !strings.Contains(err.Error(), bad+`: line 2: unknown outcome "nope"`) {
		t.Errorf("err = %v; want it to name %s line 2", err, bad)
	}
	_, err = ReadFiles([]string{filepath.Join(dir, "missing.jsonl")}, collect)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.jsonl") {
		t.Errorf("err = %v; want not-exist naming the file", err)
	}
	stop := errors.New("stop")
	_, err = ReadFiles([]string{a}, func(r *Record) error {
		if r.Seq == 1 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || !strings.Contains(err.Error(), a+": line 2:") {
		t.Errorf("err = %v; want stop wrapped with %s line 2", err, a)
	}
}

func BenchmarkEncode(b *testing.B) {
	recs := fixtureRecords()
	e := NewEncoder(io.Discard)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := e.Encode(&recs[i%len(recs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkEncodeEncodingJSON is the reflection-based baseline Encode avoids.
func BenchmarkEncodeEncodingJSON(b *testing.B) {
	recs := fixtureRecords()
	enc := json.NewEncoder(io.Discard)
	enc.SetEscapeHTML(false)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := enc.Encode(&recs[i%len(recs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkDecode(b *testing.B) {
	data := encodeAll(b, fixtureRecords())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var r Record
	for b.Loop() {
		d := NewDecoder(bytes.NewReader(data))
		for d.Decode(&r) == nil {
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, r := range append(fixtureRecords(), extraRecords()[:3]...) {
		line, err := appendRecord(nil, &r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append(line, '\n'))
		f.Add(line[:len(line)/2])
	}
	f.Add(encodeAll(f, fixtureRecords()))
	for _, s := range []string{
		"", "\n", "null\n", `{"seq":1,"outcome":"ok","t":{"eof":1,"eof":2}}`,
		`{"seq":1,"outcome":"ok","t":{"e\u006ff":1},"start":"2025-01-01T00:00:00+23:59"}`,
		`{"seq":1,"outcome":"ok","t":null,"intended":"0001-01-01T01:00:00+01:00","err":"\ud800"}`,
		`{"SEQ":1,"Outcome":"ok","T":{"done":5},"extra":[1,{"x":2}]}`,
		`{"seq":1,"outcome":"ok","t":{"eof":1e3}}`, "{\"seq\":1,\"outcome\":\"ok\"}\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(bytes.NewReader(data))
		var r Record
		for range len(data) + 2 {
			err := d.Decode(&r)
			if err == io.EOF {
				return
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "line ") {
					t.Fatalf("error does not name a line: %v", err)
				}
				continue
			}
			line, err := appendRecord(nil, &r)
			if err != nil {
				t.Fatalf("decoded %+v but cannot encode it: %v", r, err)
			}
			if std, err := stdEncode(&r); err != nil || !bytes.Equal(line, std) {
				t.Fatalf("encoding differs from encoding/json (%v):\n got %s\nwant %s", err, line, std)
			}
			var again Record
			if err := NewDecoder(bytes.NewReader(line)).Decode(&again); err != nil {
				t.Fatalf("re-decoding %s: %v", line, err)
			}
			if !sameRecord(&r, &again) {
				t.Fatalf("round trip changed the record:\n got %+v\nwant %+v", again, r)
			}
		}
		t.Fatal("decoder did not reach EOF")
	})
}
