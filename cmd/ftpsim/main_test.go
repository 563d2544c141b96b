package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func ftpsim(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runMain(t.Context(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestRaceTwiceIdentical is the race command's promise: the same seed
// prints the same table, byte for byte.
func TestRaceTwiceIdentical(t *testing.T) {
	args := []string{"race", "--seed", "3", "-n", "20", "--ends", "close-then-226,226-before-flush,delayed-close:20ms", "--jitter", "1ms"}
	code, a, stderr := ftpsim(t, args...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	_, b, _ := ftpsim(t, args...)
	if a != b {
		t.Fatalf("two runs with one seed differ:\n%s\n%s", a, b)
	}
	if lines := strings.Count(a, "\n"); lines != 1+3*5 {
		t.Fatalf("%d lines, want a header and 15 cells:\n%s", lines, a)
	}
	code, js, _ := ftpsim(t, append(args, "--format", "json")...)
	var rows []struct {
		End, Policy string
		Cycles      int64
	}
	if code != exitOK || json.Unmarshal([]byte(js), &rows) != nil || len(rows) != 15 || rows[0].Cycles != 20 {
		t.Fatalf("json: exit %d, %d rows:\n%s", code, len(rows), js)
	}
}

func TestSweepCSV(t *testing.T) {
	code, out, stderr := ftpsim(t, "sweep", "--users", "1,5", "--latencies", "2ms", "-d", "1s", "--format", "csv")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "users,latency,cycles") || !strings.HasPrefix(lines[2], "5,2ms,") {
		t.Fatalf("csv:\n%s", out)
	}
}

func TestFtpsimUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"dance"}, `unknown command "dance"`},
		{[]string{"race", "--ends", "close-then-226,eventually"}, `"eventually"`},
		{[]string{"race", "--policies", "lazy"}, `"lazy"`},
		{[]string{"race", "--bandwidth", "fast"}, `--bandwidth`},
		{[]string{"race", "-n", "0"}, `--cycles`},
		{[]string{"race", "--format", "xml"}, `--format`},
		{[]string{"race", "extra"}, `"extra"`},
		{[]string{"sweep", "--users", "0"}, `--users 0`},
		{[]string{"sweep", "--latencies", "-1ms"}, `--latencies`},
		{[]string{"sweep", "--size", "0"}, `--size`},
	} {
		code, _, stderr := ftpsim(t, tc.args...)
		first, _, _ := strings.Cut(stderr, "\n")
		if code != exitUsage || !strings.Contains(first, tc.want) {
			t.Errorf("%v: exit %d, first line %q; want 2 and %q", tc.args, code, first, tc.want)
		}
	}
}
