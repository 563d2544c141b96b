package sim

import (
	"io"
	"runtime"
	"strings"
	"testing"
)

// allocatedDuring returns how many bytes the process allocated while f ran.
func allocatedDuring(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestServerLongLineMemoryIsBounded: a 64 MiB command line is read to its
// end and answered 500 while the server keeps at most MaxLine+2 bytes of
// it: what the process allocates meanwhile is a small fraction of the
// line. The session then goes on.
func TestServerLongLineMemoryIsBounded(t *testing.T) {
	const lineSize = 64 << 20
	_, addr := srvStart(t, ServerConfig{})
	c := srvDial(t, addr)
	c.login()
	chunk := []byte(strings.Repeat("x", 1<<20))
	alloc := allocatedDuring(func() {
		io.WriteString(c.conn, "NOOP ")
		for range lineSize / len(chunk) {
			if _, err := c.conn.Write(chunk); err != nil {
				t.Fatal(err)
			}
		}
		io.WriteString(c.conn, "\r\n")
		c.expect(500)
	})
	if alloc > lineSize/16 {
		t.Errorf("the process allocated %d bytes while the server read a %d-byte line", alloc, lineSize)
	}
	c.must("NOOP", 200)
}
