package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"ftpbench/results"
)

// buildFtpbench builds the command into a temporary directory, so that
// tests can signal a real process.
func buildFtpbench(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go tool to build the binary: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "ftpbench")
	out, err := exec.Command(gobin, "build", "-o", bin, "ftpbench/cmd/ftpbench").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startRun starts `ftpbench run args...` and returns once its results
// file holds at least minBytes.
func startRun(t *testing.T, bin, out string, minBytes int64, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"run", "-o", out}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if st, err := os.Stat(out); err == nil && st.Size() >= minBytes {
			return cmd, &stdout, &stderr
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not reach %d bytes in 30 s\n%s", out, minBytes, stderr.String())
		}
		time.Sleep(10 * time.Millisecond) // polling a file another process writes
	}
}

// waitExit waits (bounded) for cmd and returns its exit code.
func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &ee):
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				return 128 + int(ws.Signal())
			}
			return ee.ExitCode()
		}
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the process did not exit within 30 s of the signal")
	}
	return -1
}

// readLines returns the file's lines, and whether it ends with a newline.
func readLines(t *testing.T, path string) ([]string, bool) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	whole := len(data) == 0 || data[len(data)-1] == '\n'
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(data) == 0 {
		lines = nil
	}
	return lines, whole
}

// TestRunSignals builds the command and signals it mid-run.
func TestRunSignals(t *testing.T) {
	bin := buildFtpbench(t)
	t.Run("SIGINT", func(t *testing.T) { testRunSIGINT(t, bin) })
	t.Run("SIGKILL", func(t *testing.T) { testRunSIGKILL(t, bin) })
}

// testRunSIGINT: `ftpbench run` interrupted with SIGINT stops its cycles
// at once (in-flight ones are recorded as canceled), writes every record
// and the summary, notes "interrupted" in the sidecar and exits 130.
func testRunSIGINT(t *testing.T, bin string) {
	out := filepath.Join(t.TempDir(), "r.jsonl")
	cmd, stdout, stderr := startRun(t, bin, out, 128<<10, "-d", "1h", "-c", "8", "--format", "json")
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, cmd); code != exitInterrupted {
		t.Fatalf("exit %d, want %d\n%s", code, exitInterrupted, stderr)
	}
	var sum struct {
		All struct {
			Cycles   int64            `json:"cycles"`
			Outcomes map[string]int64 `json:"outcomes"`
		} `json:"all"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("summary: %v\n%s", err, stdout)
	}
	lines, whole := readLines(t, out)
	if !whole || int64(len(lines)) != sum.All.Cycles {
		t.Fatalf("%d lines (ends with newline: %v), summary counts %d cycles", len(lines), whole, sum.All.Cycles)
	}
	seqs := make(map[int64]bool)
	warnings, err := results.ReadFiles([]string{out}, func(r *results.Record) error {
		seqs[r.Seq] = true
		return nil
	})
	if err != nil || len(warnings) > 0 {
		t.Fatalf("reading the results: %v %v", err, warnings)
	}
	for i := range int64(len(lines)) {
		if !seqs[i] {
			t.Fatalf("seq %d missing from %d records", i, len(lines))
		}
	}
	if sum.All.Outcomes["canceled"] == 0 {
		t.Errorf("no cycle in flight was recorded as canceled: %v", sum.All.Outcomes)
	}
	info, err := results.ReadRunInfo(out)
	if err != nil || info == nil || info.EndReason != "interrupted" {
		t.Errorf("sidecar %+v, %v; want end reason interrupted", info, err)
	}
}

// testRunSIGKILL: `ftpbench run` killed with SIGKILL cannot flush, but the
// records it wrote are whole lines (at worst the last is torn), and
// `report` reads them, warning about and skipping a torn last line.
func testRunSIGKILL(t *testing.T, bin string) {
	dir := t.TempDir()
	out := filepath.Join(dir, "r.jsonl")
	cmd, _, _ := startRun(t, bin, out, 256<<10, "-d", "1h", "-c", "8")
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, cmd); code != 128+int(syscall.SIGKILL) {
		t.Fatalf("exit %d, want death by SIGKILL", code)
	}
	lines, whole := readLines(t, out)
	for i, l := range lines {
		var r results.Record
		if err := json.Unmarshal([]byte(l), &r); err != nil && (i < len(lines)-1 || whole) {
			t.Fatalf("line %d of %d is not a whole record: %v", i+1, len(lines), err)
		}
	}
	complete := len(lines)
	if !whole {
		complete--
	}
	checkReport(t, out, complete, !whole)

	// A torn last line, as a kill in the middle of a write leaves: the
	// whole records but the last, then the first 40 bytes of the last.
	torn := filepath.Join(dir, "torn.jsonl")
	data := strings.Join(lines[:complete-1], "\n") + "\n" + lines[complete-1][:40]
	if err := os.WriteFile(torn, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	checkReport(t, torn, complete-1, true)
}

// checkReport runs `report --format json` on path: it must exit 0 and
// count cycles records, warning once on stderr when warn.
func checkReport(t *testing.T, path string, cycles int, warn bool) {
	t.Helper()
	code, stdout, stderr := ftpbench(t, t.Context(), "report", "--format", "json", path)
	if code != exitOK {
		t.Fatalf("report %s: exit %d\n%s", path, code, stderr)
	}
	var sum struct {
		All struct {
			Cycles int `json:"cycles"`
		} `json:"all"`
	}
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.All.Cycles != cycles {
		t.Errorf("report %s counts %d cycles, want %d", path, sum.All.Cycles, cycles)
	}
	sc := bufio.NewScanner(strings.NewReader(stderr))
	warnings := 0
	for sc.Scan() {
		if strings.Contains(sc.Text(), "warning:") && strings.Contains(sc.Text(), "partial final line") && strings.Contains(sc.Text(), "skipped") {
			warnings++
		}
	}
	if want := map[bool]int{true: 1, false: 0}[warn]; warnings != want {
		t.Errorf("report %s: %d torn-line warnings, want %d:\n%s", path, warnings, want, stderr)
	}
}
