package results

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteFileAtomic: while a report, chart, sidecar or merged file is
// being written, and after a write that fails half-way, the path holds the
// previous file whole; a successful write replaces it at once; no
// temporary file is left behind either way.
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, []byte("old report"), 0o644); err != nil {
		t.Fatal(err)
	}
	errDisk := errors.New("disk full")
	err := writeFileAtomic(path, func(f *os.File) error {
		if _, err := f.WriteString("half of the new"); err != nil {
			return err
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != "old report" {
			t.Errorf("during the write the path holds %q, %v; want the old file", b, err)
		}
		return errDisk
	})
	if !errors.Is(err, errDisk) {
		t.Fatalf("failed write: %v, want %v", err, errDisk)
	}
	if b, _ := os.ReadFile(path); string(b) != "old report" {
		t.Errorf("after a failed write the path holds %q, want the old file", b)
	}
	if err := writeFileAtomic(path, func(f *os.File) error { _, err := f.WriteString("new report"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new report" {
		t.Errorf("after the write the path holds %q", b)
	}
	if st, err := os.Stat(path); err != nil {
		t.Error(err)
	} else if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %v, want only the report", entries)
	}
}
