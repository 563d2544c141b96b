package results

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRedactCommand(t *testing.T) {
	in := []string{"ftpbench", "run", "-c", "10", "ftp://bench:s3cr3t@127.0.0.1:2121/f.bin",
		"--url=ftp://u:p%40ss@h/x", "ftp://anon@h/x", "ftp://u:bad%zz@h/x", "not a url", "p99(setup)<5ms"}
	want := []string{"ftpbench", "run", "-c", "10", "ftp://bench:xxxxx@127.0.0.1:2121/f.bin",
		"--url=ftp://u:xxxxx@h/x", "ftp://anon@h/x", "ftp://u:xxxxx@h/x", "not a url", "p99(setup)<5ms"}
	got := RedactCommand(in)
	if !slices.Equal(got, want) {
		t.Errorf("RedactCommand\n got %q\nwant %q", got, want)
	}
	if in[4] != "ftp://bench:s3cr3t@127.0.0.1:2121/f.bin" {
		t.Error("RedactCommand changed its input")
	}
}

func TestRunInfoSidecar(t *testing.T) {
	dir := t.TempDir()
	results := filepath.Join(dir, "r.jsonl")
	if info, err := ReadRunInfo(results); info != nil || err != nil {
		t.Fatalf("no sidecar: %v, %v; want nil, nil", info, err)
	}
	want := &RunInfo{Command: []string{"ftpbench", "run", "-n", "5"}, Target: "simulated server",
		Start: base, End: base.Add(5 * time.Second), EndReason: "completed"}
	for range 2 { // the second write replaces the first
		if err := WriteRunInfo(results, want); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadRunInfo(results)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("read back %+v, %v; want %+v", got, err, want)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "r.jsonl.meta.json" {
		t.Errorf("directory holds %v, want only the sidecar", entries)
	}
	if err := os.WriteFile(MetaPath(results), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRunInfo(results); err == nil || !strings.Contains(err.Error(), "meta.json") {
		t.Errorf("corrupt sidecar: err %v", err)
	}
	if err := WriteRunInfo(filepath.Join(dir, "missing", "r.jsonl"), want); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}
