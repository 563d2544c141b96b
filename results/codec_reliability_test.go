package results

import (
	"io"
	"runtime"
	"strings"
	"testing"
)

// repeatReader yields n copies of b, then rest: a long input made on the
// fly, never held in memory.
type repeatReader struct {
	b    byte
	n    int64
	rest io.Reader
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return r.rest.Read(p)
	}
	k := min(int64(len(p)), r.n)
	for i := range k {
		p[i] = r.b
	}
	r.n -= k
	return int(k), nil
}

// TestDecoderMemoryIsBoundedByTheLineCap: a 256 MiB line — a corrupt or
// foreign file — is an error naming its line, read without holding more
// than MaxLineBytes of it, and the record after it still decodes.
func TestDecoderMemoryIsBoundedByTheLineCap(t *testing.T) {
	const lineSize = 256 << 20
	good := `{"seq":7,"user":0,"mode":"pasv","op":"retr","start":"2026-01-01T00:00:00Z","t":{"done":5},"bytes":0,"want":0,"outcome":"ok"}` + "\n"
	d := NewDecoder(&repeatReader{b: 'x', n: lineSize, rest: strings.NewReader("\n" + good)})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var r Record
	err := d.Decode(&r)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "line 1: longer than") {
		t.Fatalf("Decode of a %d-byte line: %v, want an error naming line 1", lineSize, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8*MaxLineBytes {
		t.Errorf("allocated %d bytes reading a %d-byte line; the cap is %d", alloc, lineSize, MaxLineBytes)
	}
	if err := d.Decode(&r); err != nil || r.Seq != 7 {
		t.Errorf("the record after the long line: seq %d, %v", r.Seq, err)
	}
}
