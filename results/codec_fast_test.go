package results

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
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
