// Package synth is the content of synthetic files: what the simulated
// server sends for RETR and what the user-PI sends for STOR, so either side
// can check what it received without storage.
//
// The byte at offset i (i >= 0) is byte(i*7 + i>>8). i*7 mod 256 repeats
// every 256 bytes and i>>8 mod 256 every 65536, so the pattern repeats every
// 64 KiB, and a misplaced, repeated or dropped block shows up as a mismatch
// unless it is a multiple of 64 KiB long.
package synth

// Period is the length after which the content repeats.
const Period = 1 << 16

// Chunk is the largest slice At returns: the size of one data write.
const Chunk = 32 << 10

// pattern holds a period plus one chunk, so every chunk at any offset is a
// single subslice.
var pattern = func() []byte {
	b := make([]byte, Period+Chunk)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}()

// Content fills p with the content from offset off.
func Content(off int64, p []byte) {
	o := off % Period
	if o < 0 {
		o += Period
	}
	for len(p) > 0 {
		n := copy(p, pattern[o:Period])
		p = p[n:]
		o = 0
	}
}

// At returns the content from offset off, min(n, Chunk) bytes of it, as a
// read-only subslice of a shared buffer: no copy, no allocation.
func At(off int64, n int) []byte {
	o := int(off % Period)
	return pattern[o : o+min(n, Chunk)]
}
