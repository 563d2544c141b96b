package results

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// TestDecodeFastTakesEncoderOutput: every fixture record, as the Encoder
// writes it, takes the fast path and decodes to the same record.
func TestDecodeFastTakesEncoderOutput(t *testing.T) {
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	recs := fixtureRecords()
	for i := range recs {
		if err := enc.Encode(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	enc.Flush()
	for i, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		r := Record{T: NoPhases}
		fast := decodeFast(line, &r)
		want := Record{T: NoPhases}
		if err := json.Unmarshal(line, &want); err != nil {
			t.Fatal(err)
		}
		// Records with escapes in their strings go the slow way; all others
		// must take the fast one.
		if !fast && !bytes.Contains(line, []byte(`\`)) {
			t.Errorf("record %d (%s) missed the fast path", i, line)
		}
		if fast && !reflect.DeepEqual(r, want) {
			t.Errorf("record %d: fast %+v, encoding/json %+v", i, r, want)
		}
	}
}

// FuzzDecodeFastAgrees: whatever the fast path accepts, encoding/json
// accepts and decodes to the same record.
func FuzzDecodeFastAgrees(f *testing.F) {
	f.Add([]byte(`{"seq":8,"user":9,"mode":"pasv","op":"retr","start":"2026-11-30T07:33:28.139708033Z","t":{"setup_sent":732,"done":140023},"bytes":65536,"want":65536,"code":226,"outcome":"ok"}`))
	f.Add([]byte(`{"seq":1,"user":-1,"segment":"1/3","mode":"port","op":"stor","start":"2026-01-01T00:00:00+02:00","intended":"2026-01-01T00:00:00Z","t":{},"bytes":0,"want":-1,"outcome":"dropped","err":"x"}`))
	f.Add([]byte(`{"seq":01}`))
	f.Add([]byte(`{"start":"2024-02-29T23:59:59.5Z","intended":"2023-02-29T00:00:00Z","t":{"login":0,"done":999999999999999999}}`))
	f.Add([]byte(`{"start":"0000-01-01T00:00:00.123456789Z","t":{"eof":1,"final":-1},"mode":"fxp","op":"login","outcome":"dropped"}`))
	f.Add([]byte(`{"t":{"done":1,"eof":2},"seq":-9223372036854775808,"user":9223372036854775807}`))
	f.Add([]byte(`{"SEQ":1,"t":null}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		r := Record{T: NoPhases}
		if !decodeFast(line, &r) {
			return
		}
		want := Record{T: NoPhases}
		if err := json.Unmarshal(line, &want); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json: %v", line, err)
		}
		if !reflect.DeepEqual(r, want) {
			t.Fatalf("%q: fast %+v, encoding/json %+v", line, r, want)
		}
	})
}

// TestFastTime: the shapes the Encoder writes parse without
// time.Time.UnmarshalText and to the same instant; other shapes are left
// to it.
func TestFastTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		fast bool
	}{
		{"2026-11-30T07:33:28.139708033Z", true},
		{"2026-11-30T07:33:28Z", true},
		{"2026-11-30T07:33:28.1Z", true},
		{"2024-02-29T23:59:59.000000001Z", true},
		{"2023-02-29T00:00:00Z", false},      // no such day
		{"2026-11-30T24:00:00Z", false},      // no such hour
		{"2026-11-30T07:33:60Z", false},      // leap seconds are not RFC 3339 in Go
		{"2026-11-30T07:33:28.Z", false},     // empty fraction
		{"2026-11-30T07:33:28,5Z", false},    // comma fraction
		{"2026-11-30T07:33:28+02:00", false}, // an offset
		{"2026-11-30T07:33:28.1234567890Z", false},
		{"2026-11-30t07:33:28Z", false},
	} {
		var got time.Time
		fast := fastTime([]byte(tc.in), &got)
		if fast != tc.fast {
			t.Errorf("fastTime(%q) = %v, want %v", tc.in, fast, tc.fast)
			continue
		}
		if !fast {
			continue
		}
		var want time.Time
		if err := want.UnmarshalText([]byte(tc.in)); err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("fastTime(%q) = %v, UnmarshalText %v", tc.in, got, want)
		}
	}
}

// TestFastPhases: the Encoder's phases objects take the fast path; other
// spellings are left to Phases.UnmarshalJSON.
func TestFastPhases(t *testing.T) {
	for _, tc := range []struct {
		in   string
		fast bool
	}{
		{`{}`, true},
		{`{"login":0,"setup_sent":5,"done":123456789}`, true},
		{`{"setup_sent":732,"data_open":1000,"cmd_sent":1001,"prelim":2000,"first_byte":2500,"eof":3000,"final":2900,"done":3000}`, true},
		{`{"done":1,"eof":2}`, false},          // out of phase order
		{`{"eof":1,"eof":2}`, false},           // twice
		{`{"eof": 1}`, false},                  // a space
		{`{"eof":01}`, false},                  // leading zero
		{`{"eof":-1}`, false},                  // negative
		{`{"eof":1234567890123456789}`, false}, // 19 digits: may overflow
		{`{"nope":1}`, false},
		{`null`, false},
	} {
		got, next, fast := fastPhases([]byte(tc.in), 0)
		if fast != tc.fast {
			t.Errorf("fastPhases(%s) = %v, want %v", tc.in, fast, tc.fast)
			continue
		}
		if !fast {
			continue
		}
		if next != len(tc.in) {
			t.Errorf("fastPhases(%s) ended at %d of %d", tc.in, next, len(tc.in))
		}
		var want Phases
		if err := want.UnmarshalJSON([]byte(tc.in)); err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if got != want {
			t.Errorf("fastPhases(%s) = %v, UnmarshalJSON %v", tc.in, got, want)
		}
	}
}
