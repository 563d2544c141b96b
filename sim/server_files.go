package sim

import (
	"path"
	"strings"
	"sync"

	"ftpbench/internal/synth"
	"ftpbench/loadgen"
)

// serverBufPool holds STOR's discard buffers: the data read is thrown away,
// so a buffer is needed only while a STOR runs.
var serverBufPool = sync.Pool{New: func() any {
	b := make([]byte, synth.Chunk)
	return &b
}}

// The simulated server's files are synthetic: a name says how large the
// file is, and the content is internal/synth's pattern, so any size can be
// served without storage and any client can check what it received.

// FileSize reports the size of a synthetic file by its path, with or
// without a leading "/" (the path is cleaned, so "a/../1k.bin" is
// "/1k.bin"):
//
//   - /size/N: N bytes, N a byte count as below, with or without ".bin";
//   - any directory, base name N.bin: N bytes, e.g. 512.bin, 1k.bin,
//     64KiB.bin, 1M.bin, 10MB.bin.
//
// N is decimal digits and an optional unit, case-insensitive: b (1), k, kb,
// kib (1024), m, mb, mib (1<<20), g, gb, gib (1<<30). Units are binary, as
// in loadgen's sizes. Sizes above 1<<62 are not files.
func FileSize(p string) (int64, bool) {
	dir, base := path.Split(srvCleanPath(p))
	name, isBin := strings.CutSuffix(base, ".bin")
	if dir == "/size/" || isBin {
		return srvParseSize(name)
	}
	return 0, false
}

// srvCleanPath makes p absolute and clean.
func srvCleanPath(p string) string {
	if srvIsCleanAbs(p) {
		return p // what a load run sends every cycle: no allocation
	}
	return path.Clean("/" + p)
}

// srvIsCleanAbs reports whether path.Clean would return p unchanged: p is
// absolute, without empty, "." or ".." elements, and without a trailing
// slash unless it is "/".
func srvIsCleanAbs(p string) bool {
	if p == "/" {
		return true
	}
	if p == "" || p[0] != '/' || p[len(p)-1] == '/' {
		return false
	}
	for rest := p[1:]; ; {
		elem, after, more := strings.Cut(rest, "/")
		if elem == "" || elem == "." || elem == ".." {
			return false
		}
		if !more {
			return true
		}
		rest = after
	}
}

// srvParseSize parses a size in a file name: digits and an optional unit,
// nothing else (no spaces or signs).
func srvParseSize(s string) (int64, bool) {
	if s == "" || s[0] < '0' || s[0] > '9' || strings.TrimSpace(s) != s {
		return 0, false
	}
	n, err := loadgen.ParseSize(s)
	return n, err == nil
}
