package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestRunCPUProfile: --cpuprofile leaves a pprof file (gzip-compressed
// protobuf) once the run has ended, and an unwritable path is a usage
// error before anything runs.
func TestRunCPUProfile(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "cpu.prof")
	code, _, stderr := ftpbench(t, t.Context(), "run", "--virtual", "-c", "2", "-n", "20", "--size", "1KiB",
		"-o", filepath.Join(dir, "r.jsonl"), "--cpuprofile", prof)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(prof)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		t.Errorf("profile is not gzip data: % x", b[:min(len(b), 8)])
	}
	code, _, stderr = ftpbench(t, t.Context(), "run", "--virtual", "-n", "1", "--cpuprofile", filepath.Join(dir, "no", "such", "dir", "p"))
	if code != 2 || !bytes.Contains([]byte(stderr), []byte("--cpuprofile")) {
		t.Errorf("unwritable profile path: exit %d, %q; want 2 naming --cpuprofile", code, stderr)
	}
}
