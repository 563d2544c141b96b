package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ftpbench/results"
)

// simRun runs `ftpbench run` on the simulation with extra flags and
// returns the results file.
func simRun(t *testing.T, dir string, extra ...string) (out string, code int, stdout, stderr string) {
	t.Helper()
	out = filepath.Join(dir, "r.jsonl")
	args := append([]string{"run", "-n", "300", "-c", "4", "--size", "10k", "-o", out}, extra...)
	code, stdout, stderr = ftpbench(t, t.Context(), args...)
	return out, code, stdout, stderr
}

// TestRunPlotsAndThresholds: `run --plots` writes every chart in both
// formats, report.html and the sidecar; thresholds print and pass.
func TestRunPlotsAndThresholds(t *testing.T) {
	dir := t.TempDir()
	plots := filepath.Join(dir, "plots")
	out, code, stdout, stderr := simRun(t, dir, "--plots", plots, "--threshold", "errors<1%", "--threshold", "pasv:p99(setup)<1h")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"PASS errors<1%: 0.00%", "PASS pasv:p99(setup)<1h0m0s: "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	var files []string
	entries, _ := os.ReadDir(plots)
	for _, e := range entries {
		files = append(files, e.Name())
	}
	want := []string{"cycle-time.png", "cycle-time.svg", "failures.png", "failures.svg", "race-gap.png", "race-gap.svg",
		"report.html", "setup.png", "setup.svg", "throughput.png", "throughput.svg"}
	if !slices.Equal(files, want) {
		t.Errorf("plots dir holds %q, want %q", files, want)
	}
	info, err := results.ReadRunInfo(out)
	if err != nil || info == nil {
		t.Fatalf("sidecar: %v %v", info, err)
	}
	if info.EndReason != "completed" || info.Target != "simulated server" || !slices.Contains(info.Command, "--plots") ||
		info.Start.IsZero() || !info.End.After(info.Start) {
		t.Errorf("sidecar %+v", info)
	}
	html, _ := os.ReadFile(filepath.Join(plots, "report.html"))
	if !strings.Contains(string(html), "completed") || strings.Count(string(html), "<svg") != 5 {
		t.Error("report.html lacks the end reason or a chart")
	}
}

// TestThresholdExitCodes: pass → 0, fail → 1, bad expression → 2, on run
// and report alike; with --format json the verdicts go to stderr.
func TestThresholdExitCodes(t *testing.T) {
	dir := t.TempDir()
	out, code, _, stderr := simRun(t, dir)
	if code != exitOK {
		t.Fatalf("run exit %d: %s", code, stderr)
	}
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"report", "--threshold", "errors<=0", out}, exitOK, "PASS errors<=0: 0", ""},
		{[]string{"report", "--threshold", "errors<=0", "--threshold", "rate(cycles)>1e12", out}, exitFailed, "FAIL rate(cycles)>1e+12", ""},
		{[]string{"report", "--threshold", "port:p50(cycle)<1ns", out}, exitFailed, "FAIL port:p50(cycle)<1ns", ""},
		{[]string{"report", "--threshold", "eprt:errors<1", out}, exitFailed, "not measured: no cycles of mode eprt", ""},
		{[]string{"report", "--format", "json", "--threshold", "errors<1%", out}, exitOK, `"modes"`, "PASS errors<1%"},
		{[]string{"report", "--threshold", "p99(setup)<5", out}, exitUsage, "", `needs a duration such as 5ms`},
		{[]string{"run", "--threshold", "speed>1", "-n", "1"}, exitUsage, "", `unknown metric "speed"`},
		{[]string{"run", "-n", "20", "-c", "2", "-o", filepath.Join(dir, "t.jsonl"), "--threshold", "rate(bytes)>1GB/s"}, exitFailed, "FAIL rate(bytes)>1GB/s", ""},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := ftpbench(t, t.Context(), tc.args...)
			if code != tc.code || !strings.Contains(stdout, tc.stdout) || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, want %d\nstdout (want %q):\n%s\nstderr (want %q):\n%s", code, tc.code, tc.stdout, stdout, tc.stderr, stderr)
			}
			if tc.code == exitUsage && strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("usage error is not one line: %q", stderr)
			}
		})
	}
	code, stdout, _ := ftpbench(t, t.Context(), "report", "--format", "json", "--threshold", "errors<1%", out)
	var v any
	if code != exitOK || json.Unmarshal([]byte(stdout), &v) != nil {
		t.Errorf("report --format json with thresholds: stdout is not one JSON document:\n%s", stdout)
	}
}

func TestReportPlotsAndHTML(t *testing.T) {
	dir := t.TempDir()
	out, code, _, stderr := simRun(t, dir)
	if code != exitOK {
		t.Fatalf("run exit %d: %s", code, stderr)
	}
	html := filepath.Join(dir, "r.html")
	plots := filepath.Join(dir, "charts")
	code, _, stderr = ftpbench(t, t.Context(), "report", "--html", html, "--plots", plots, out)
	if code != exitOK {
		t.Fatalf("report exit %d: %s", code, stderr)
	}
	page, err := os.ReadFile(html)
	if err != nil || !strings.Contains(string(page), "ftpbench run") {
		t.Errorf("report.html lacks the run's command (sidecar not read?): %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(plots, "*.png")); len(m) != 5 {
		t.Errorf("%d PNGs in %s, want 5", len(m), plots)
	}
	code, _, stderr = ftpbench(t, t.Context(), "report", "--html", filepath.Join(dir, "no", "such", "x.html"), out)
	if code != exitFailed || !strings.Contains(stderr, "x.html") {
		t.Errorf("unwritable --html: exit %d, %q", code, stderr)
	}
}

// TestMergeCommand splits a run's file into two shards by line and merges
// them back: the merged report equals the original's, seq is 0..n−1.
func TestMergeCommand(t *testing.T) {
	dir := t.TempDir()
	out, code, _, stderr := simRun(t, dir)
	if code != exitOK {
		t.Fatalf("run exit %d: %s", code, stderr)
	}
	data, _ := os.ReadFile(out)
	var shards [2]strings.Builder
	for i, line := range strings.SplitAfter(strings.TrimSpace(string(data)), "\n") {
		shards[i%3/2].WriteString(strings.TrimSpace(line) + "\n")
	}
	a, b := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	for i, p := range []string{a, b} {
		if err := os.WriteFile(p, []byte(shards[i].String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	merged := filepath.Join(dir, "all.jsonl")
	code, mergeOut, stderr := ftpbench(t, t.Context(), "merge", "--format", "json", "-o", merged, a, b)
	if code != exitOK || !strings.Contains(stderr, "300 records from 2 files") {
		t.Fatalf("merge exit %d: %s", code, stderr)
	}
	_, want, _ := ftpbench(t, t.Context(), "report", "--format", "json", out)
	_, got, _ := ftpbench(t, t.Context(), "report", "--format", "json", merged)
	if got != want || mergeOut != want {
		t.Errorf("merged report differs from the original's:\n%s\nmerge printed:\n%s\nwant:\n%s", got, mergeOut, want)
	}
	f, _ := os.Open(merged)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for i := 0; sc.Scan(); i++ {
		var r struct{ Seq int }
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Seq != i {
			t.Fatalf("line %d has seq %d (%v)", i+1, r.Seq, err)
		}
	}
}

// writeRun writes n ok pasv cycles with the given set-up latency.
func writeRun(t *testing.T, path string, n int, setup time.Duration) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	enc := results.NewEncoder(f)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		r := results.Record{Seq: int64(i), Mode: "pasv", Op: "retr", Start: start.Add(time.Duration(i) * time.Millisecond),
			T: results.NoPhases, Bytes: 1000, Want: 1000, Code: 226, Outcome: results.OK}
		r.T[results.SetupSent], r.T[results.DataOpen], r.T[results.Done] = 0, int64(setup), int64(setup+time.Millisecond)
		if err := enc.Encode(&r); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestCompareCommand(t *testing.T) {
	dir := t.TempDir()
	base, same, slow := filepath.Join(dir, "base.jsonl"), filepath.Join(dir, "same.jsonl"), filepath.Join(dir, "slow.jsonl")
	writeRun(t, base, 100, time.Millisecond)
	writeRun(t, same, 100, time.Millisecond)
	writeRun(t, slow, 100, 2*time.Millisecond)
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"compare", base, same}, exitOK, "regressions: 0"},
		{[]string{"compare", base, slow}, exitFailed, "REGRESSION"},
		{[]string{"compare", "--tolerance", "150%", base, slow}, exitOK, "+100.0%"},
		{[]string{"compare", "--format", "markdown", base, slow}, exitFailed, "| pasv | setup p50 | 1.000ms | 2.000ms | +100.0% | **REGRESSION** |"},
		{[]string{"compare", "--format", "json", base, slow}, exitFailed, `"regressions": 4`},
		{[]string{"compare", base}, exitUsage, "want BASE and NEW"},
		{[]string{"compare", "--tolerance", "lots", base, slow}, exitUsage, "--tolerance"},
		{[]string{"compare", "--format", "html", base, slow}, exitUsage, "--format"},
		{[]string{"compare", base, filepath.Join(dir, "nope.jsonl")}, exitUsage, "nope.jsonl"},
	} {
		t.Run(strings.Join(tc.args[1:], " "), func(t *testing.T) {
			code, stdout, stderr := ftpbench(t, t.Context(), tc.args...)
			if code != tc.code || !strings.Contains(stdout+stderr, tc.says) {
				t.Errorf("exit %d, want %d; output lacks %q:\n%s%s", code, tc.code, tc.says, stdout, stderr)
			}
		})
	}
}

// TestResultsUsageErrors: the new commands' bad inputs get exit 2 and one
// line naming the problem.
func TestResultsUsageErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.jsonl")
	writeRun(t, good, 3, time.Millisecond)
	garbage := filepath.Join(dir, "garbage.jsonl")
	if err := os.WriteFile(garbage, []byte("not json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"merge", good}, "no output file"},
		{[]string{"merge", "-o", filepath.Join(dir, "o.jsonl")}, "no results file"},
		{[]string{"merge", "-o", good, good}, "also an input"},
		{[]string{"merge", "-o", filepath.Join(dir, "o.jsonl"), garbage}, "garbage.jsonl: line 1"},
		{[]string{"merge", "--format", "csv", "-o", filepath.Join(dir, "o.jsonl"), good}, "--format"},
		{[]string{"report", "--threshold", "p99(setup)", good}, "no comparison"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := ftpbench(t, t.Context(), tc.args...)
			first, _, _ := strings.Cut(stderr, "\n")
			if code != exitUsage || !strings.Contains(first, tc.want) {
				t.Errorf("exit %d, first stderr line %q; want %d naming %q", code, first, exitUsage, tc.want)
			}
		})
	}
}
