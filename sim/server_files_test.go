package sim

import (
	"path"
	"testing"
)

// FuzzSrvCleanPath: the no-allocation shortcut for paths that are already
// clean never changes what path.Clean would make of a path.
func FuzzSrvCleanPath(f *testing.F) {
	for _, p := range []string{"/", "", "/size/1024", "a/b", "/a/", "//a", "/a/./b", "/a/../b", "/..", "/.", "/a/b.bin", "/...", "/a//b"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if got, want := srvCleanPath(p), path.Clean("/"+p); got != want {
			t.Fatalf("srvCleanPath(%q) = %q, path.Clean gives %q", p, got, want)
		}
	})
}
