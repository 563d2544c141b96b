package results

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeRecords writes recs to a new file in dir.
func writeRecords(t *testing.T, dir, name string, recs []Record) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	enc := NewEncoder(f)
	for i := range recs {
		if err := enc.Encode(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func readRecords(t *testing.T, path string) []Record {
	t.Helper()
	var recs []Record
	if _, err := ReadFiles([]string{path}, func(r *Record) error {
		recs = append(recs, *r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestMergeFilesEqualsWhole is the property merge exists for: split a set
// of records at random into k shard files, each in end order as `run`
// writes them, merge them, and the merged file must hold every record
// once, in end order, with seq 0..n−1, segments kept — and its summary,
// as well as the one Merge returns from the shards' merged histograms,
// must equal the summary of the whole set.
func TestMergeFilesEqualsWhole(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 8 {
		n := rng.IntN(1500)
		if trial == 0 {
			n = 0
		}
		k := 1 + rng.IntN(5)
		shards := make([][]Record, k)
		var all []Record
		for i := range n {
			r := randomRecord(rng, int64(i))
			if !r.Outcome.Known() {
				r.Outcome = OK // files hold known outcomes only
			}
			s := rng.IntN(k)
			r.Segment = fmt.Sprintf("%d/%d", s, k)
			r.Seq = int64(len(shards[s])) // each shard numbers its own
			shards[s] = append(shards[s], r)
			all = append(all, r)
		}
		dir := t.TempDir()
		var paths []string
		for s := range shards {
			slices.SortStableFunc(shards[s], func(a, b Record) int { return a.End().Compare(b.End()) })
			paths = append(paths, writeRecords(t, dir, fmt.Sprintf("shard%d.jsonl", s), shards[s]))
		}
		out := filepath.Join(dir, "all.jsonl")
		sum, warnings, err := Merge(t.Context(), paths, out)
		if err != nil || len(warnings) > 0 {
			t.Fatalf("trial %d: %v %v", trial, err, warnings)
		}
		merged := readRecords(t, out)
		if len(merged) != n {
			t.Fatalf("trial %d: %d records merged, want %d", trial, len(merged), n)
		}
		perSegment := map[string]int{}
		for i, r := range merged {
			if r.Seq != int64(i) {
				t.Fatalf("trial %d: record %d has seq %d", trial, i, r.Seq)
			}
			if i > 0 && r.End().Before(merged[i-1].End()) {
				t.Fatalf("trial %d: record %d ends before the one before it", trial, i)
			}
			perSegment[r.Segment]++
		}
		for s := range shards {
			if got := perSegment[fmt.Sprintf("%d/%d", s, k)]; got != len(shards[s]) {
				t.Fatalf("trial %d: segment %d has %d records, want %d", trial, s, got, len(shards[s]))
			}
		}
		want, _ := json.Marshal(summarize(all))
		got, _ := json.Marshal(summarize(merged))
		fromShards, _ := json.Marshal(sum)
		if !bytes.Equal(got, want) || !bytes.Equal(fromShards, want) {
			t.Fatalf("trial %d (n=%d, k=%d): summaries differ:\nwhole  %s\nfile   %s\nshards %s", trial, n, k, want, got, fromShards)
		}
	}
}

func TestMergeErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeRecords(t, dir, "good.jsonl", fixtureRecords())
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte("{\"seq\":0,\"mode\":\"pasv\",\"outcome\":\"ok\",\"start\":\"2025-03-01T12:00:00Z\",\"t\":{}}\nnot json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	torn := filepath.Join(dir, "torn.jsonl")
	data, _ := os.ReadFile(good)
	if err := os.WriteFile(torn, append(data, `{"seq":12,"mo`...), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.jsonl")
	for _, tc := range []struct {
		name   string
		inputs []string
		out    string
		input  bool   // the error wraps ErrInput
		says   string // "" means no error
	}{
		{"output is an input", []string{good}, good, true, "also an input"},
		{"missing input", []string{good, filepath.Join(dir, "nope.jsonl")}, out, true, "nope.jsonl"},
		{"bad line", []string{good, bad}, out, true, "bad.jsonl: line 2"},
		{"torn last line", []string{torn, good}, out, false, ""},
		{"no directory for the output", []string{good}, filepath.Join(dir, "no", "out.jsonl"), false, "out.jsonl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(out)
			sum, warnings, err := Merge(t.Context(), tc.inputs, tc.out)
			if tc.says == "" {
				if err != nil || len(warnings) != 1 || sum.All().Cycles != 24 {
					t.Fatalf("err %v, warnings %q, want the torn line skipped with a warning", err, warnings)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.says) || errors.Is(err, ErrInput) != tc.input {
				t.Fatalf("err %v; want one saying %q, input error %v", err, tc.says, tc.input)
			}
			if _, err := os.Stat(out); err == nil && tc.out == out {
				t.Error("a failed merge left its output behind")
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.HasSuffix(e.Name(), ".tmp") {
					t.Errorf("temporary file %s left behind", e.Name())
				}
			}
		})
	}
}

// TestMergeCanceled: a canceled merge stops, writes nothing and leaves no
// reader running (the race detector and the test's end would show one).
func TestMergeCanceled(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 8))
	var recs []Record
	for i := range 5000 {
		r := randomRecord(rng, int64(i))
		r.Outcome = OK
		recs = append(recs, r)
	}
	a := writeRecords(t, dir, "a.jsonl", recs)
	b := writeRecords(t, dir, "b.jsonl", recs)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	out := filepath.Join(dir, "out.jsonl")
	if _, _, err := Merge(ctx, []string{a, b}, out); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a canceled merge wrote its output")
	}
}
