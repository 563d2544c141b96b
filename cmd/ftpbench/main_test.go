package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"ftpbench/internal/ftptest"
)

func ftpbench(t *testing.T, ctx context.Context, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runMain(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

type summaryJSON struct {
	Modes []struct {
		Mode     string           `json:"mode"`
		Cycles   int64            `json:"cycles"`
		OK       int64            `json:"ok"`
		Bytes    int64            `json:"bytes"`
		Outcomes map[string]int64 `json:"outcomes"`
	} `json:"modes"`
	All struct {
		Cycles int64 `json:"cycles"`
		OK     int64 `json:"ok"`
		Bytes  int64 `json:"bytes"`
	} `json:"all"`
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		n++
	}
	return n
}

// TestRunSimulationThenReport is the README's first command with a cycle
// bound: it must succeed against the embedded simulation, write one line
// per cycle, and `report` must agree with the run's own summary.
func TestRunSimulationThenReport(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, stdout, stderr := ftpbench(t, t.Context(), "run", "-n", "300", "-c", "6", "--size", "10k", "--format", "json", "-o", out)
	if code != exitOK {
		t.Fatalf("run exit %d\n%s\n%s", code, stdout, stderr)
	}
	var run summaryJSON
	if err := json.Unmarshal([]byte(stdout), &run); err != nil {
		t.Fatalf("run --format json: %v\n%s", err, stdout)
	}
	if run.All.Cycles != 300 || run.All.OK != 300 || run.All.Bytes != 300*10240 {
		t.Fatalf("run summary %+v, want 300 ok cycles of 10 KiB", run.All)
	}
	if len(run.Modes) != 2 || run.Modes[0].Mode != "pasv" || run.Modes[1].Mode != "port" || run.Modes[0].Cycles != 150 {
		t.Fatalf("modes %+v, want pasv and port alternating 150 each", run.Modes)
	}
	if n := countLines(t, out); n != 300 {
		t.Fatalf("%s has %d lines, want 300", out, n)
	}
	code, stdout, stderr = ftpbench(t, t.Context(), "report", "--format", "json", out)
	if code != exitOK {
		t.Fatalf("report exit %d: %s", code, stderr)
	}
	var rep summaryJSON
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.All != run.All || len(rep.Modes) != len(run.Modes) {
		t.Fatalf("report %+v disagrees with run %+v", rep.All, run.All)
	}
	code, stdout, _ = ftpbench(t, t.Context(), "report", out)
	if code != exitOK || !strings.Contains(stdout, "pasv") || !strings.Contains(stdout, "300") {
		t.Fatalf("text report exit %d:\n%s", code, stdout)
	}
}

// TestRunInterrupted cancels a long run: the exit code says so and the
// file holds every record, each a whole line.
func TestRunInterrupted(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.jsonl")
	ctx, cancel := context.WithCancel(t.Context())
	// Cancel once the run has produced records: watch the file grow.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer cancel()
		for range 2000 {
			if st, err := os.Stat(out); err == nil && st.Size() > 64<<10 {
				return
			}
			time.Sleep(5 * time.Millisecond) // polling a file, not synchronising the code under test
		}
	}()
	code, stdout, stderr := ftpbench(t, ctx, "run", "-d", "1h", "-c", "4", "--format", "json", "-o", out)
	wg.Wait()
	if code != exitInterrupted {
		t.Fatalf("exit %d, want %d\n%s", code, exitInterrupted, stderr)
	}
	var run summaryJSON
	if err := json.Unmarshal([]byte(stdout), &run); err != nil {
		t.Fatal(err)
	}
	if n := countLines(t, out); int64(n) != run.All.Cycles || n == 0 {
		t.Fatalf("file has %d lines, summary counts %d", n, run.All.Cycles)
	}
	code, _, stderr = ftpbench(t, t.Context(), "report", out)
	if code != exitOK {
		t.Fatalf("report of an interrupted run: exit %d: %s", code, stderr)
	}
}

// TestUsageErrors: every bad input gets exit 2 and one line naming it.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.jsonl")
	good := `{"seq":0,"user":0,"mode":"pasv","op":"retr","start":"2026-01-01T00:00:00Z","t":{"done":5},"bytes":0,"want":0,"outcome":"ok"}`
	if err := os.WriteFile(garbage, []byte(good+"\nnot json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"run", "--mode", "pasv,active"}, `"active"`},
		{[]string{"run", "--op", "list"}, `"list"`},
		{[]string{"run", "--size", "lots"}, `--size`},
		{[]string{"run", "-c", "0"}, `--users 0`},
		{[]string{"run", "--timeout", "0s"}, `--timeout`},
		{[]string{"run", "--no-such-flag"}, `no-such-flag`},
		{[]string{"run", "http://h/f"}, `scheme`},
		{[]string{"run", "ftp://u:pw@h:0/f"}, `port`},
		{[]string{"run", "ftp://h/f", "--sim-latency", "1ms"}, `simulation`},
		{[]string{"run", "-o", filepath.Join(dir, "no", "such", "dir.jsonl"), "-n", "1"}, `--out`},
		{[]string{"report"}, `no results file`},
		{[]string{"report", filepath.Join(dir, "missing.jsonl")}, `missing.jsonl`},
		{[]string{"report", garbage}, `line 2`},
		{[]string{"report", "--format", "xml", garbage}, `--format`},
		{[]string{"serve", "--listen", "256.0.0.1:1"}, `--listen`},
		{[]string{"serve", "--user", "nopass"}, `--user`},
		{[]string{"serve", "--end", "close-then-226,sometimes"}, `"sometimes"`},
		{[]string{"serve", "--faults", "refuse-data=2"}, `--faults`},
		{[]string{"serve", "--passive-ports", "9-1"}, `--passive-ports`},
		{[]string{"run", "--policy", "lazy"}, `"lazy"`},
		{[]string{"run", "--stages", "30s"}, `--stages`},
		{[]string{"run", "--segment", "3/3"}, `--segment`},
		{[]string{"run", "--max-inflight", "5"}, `--rate`},
		{[]string{"run", "--rate", "-5"}, `--rate`},
		{[]string{"run", "--start-at", "tomorrow"}, `--start-at`},
		{[]string{"run", "--source-addrs", "::1"}, `--source-addrs`},
		{[]string{"run", "--source-addrs", "127.0.0.9-127.0.0.1", "ftp://h/f"}, `--source-addrs`},
		{[]string{"run", "--virtual", "ftp://h/f"}, `--virtual`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := ftpbench(t, t.Context(), tc.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr %q", code, exitUsage, stderr)
			}
			first, _, _ := strings.Cut(stderr, "\n")
			if !strings.Contains(first, tc.want) {
				t.Errorf("first stderr line %q does not name %q", first, tc.want)
			}
		})
	}
}

// TestServeThenRunOverTCP runs `ftpbench serve` on loopback and drives it
// with `ftpbench run` over real TCP: the simulated server through real
// sockets, and a password that must appear in no output.
func TestServeThenRunOverTCP(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		var out bytes.Buffer
		done <- runMain(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--user", "bench:s3cr3t-pw"}, &out, pw)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("serve printed nothing: %v", err)
	}
	go io.Copy(io.Discard, pr)
	addr := regexp.MustCompile(`127\.0\.0\.1:\d+`).FindString(line)
	if _, _, err := net.SplitHostPort(addr); err != nil {
		t.Fatalf("no address in %q", line)
	}
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, stdout, stderr := ftpbench(t, t.Context(), "run", "-m", "pasv,port,epsv,eprt", "-n", "200", "-c", "10", "-o", out,
		"ftp://bench:s3cr3t-pw@"+addr+"/size/20000")
	if code != exitOK {
		t.Fatalf("run exit %d\n%s\n%s", code, stdout, stderr)
	}
	data, _ := os.ReadFile(out)
	for what, s := range map[string]string{"stdout": stdout, "stderr": stderr, "results": string(data)} {
		if strings.Contains(s, "s3cr3t") {
			t.Errorf("password appears in %s", what)
		}
	}
	if n := countLines(t, out); n != 200 {
		t.Fatalf("%d records, want 200", n)
	}
	// A wrong password fails every cycle, exits 1, and still leaks nothing.
	code, stdout, stderr = ftpbench(t, t.Context(), "run", "-n", "3", "-c", "1", "-o", out, "ftp://bench:wrong-pw@"+addr+"/size/1")
	if code != exitFailed || strings.Contains(stdout+stderr, "wrong-pw") {
		t.Errorf("wrong password: exit %d, output:\n%s%s", code, stdout, stderr)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("serve exit %d after cancel", code)
	}
}

// TestRunAgainstVsftpd is the Core issue's acceptance run: 2000 cycles
// alternating PASV and PORT with 20 users against a local vsftpd, every one
// ok, one line each, and `report` agreeing with `run`.
func TestRunAgainstVsftpd(t *testing.T) {
	if testing.Short() {
		t.Skip("real servers: skipped in -short mode")
	}
	srv := ftptest.StartVsftpd(t, ftptest.Options{Files: map[string]int64{"file.bin": 30000}})
	out := filepath.Join(t.TempDir(), "out.jsonl")
	url := "ftp://" + srv.User + ":" + srv.Password + "@" + srv.Addr + "/file.bin"
	code, stdout, stderr := ftpbench(t, t.Context(), "run", "-m", "pasv,port", "-c", "20", "-n", "2000", "--format", "json", "-o", out, url)
	if code != exitOK {
		t.Fatalf("run exit %d\n%s\n%s", code, stdout, stderr)
	}
	var run, rep summaryJSON
	if err := json.Unmarshal([]byte(stdout), &run); err != nil {
		t.Fatal(err)
	}
	if run.All.Cycles != 2000 || run.All.OK != 2000 || run.All.Bytes != 2000*30000 {
		t.Fatalf("summary %+v: want 2000 ok cycles of 30000 bytes", run.All)
	}
	if n := countLines(t, out); n != 2000 {
		t.Fatalf("%d lines, want 2000", n)
	}
	code, stdout, stderr = ftpbench(t, t.Context(), "report", "--format", "json", out)
	if code != exitOK {
		t.Fatalf("report exit %d: %s", code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.All != run.All {
		t.Fatalf("report %+v != run %+v", rep.All, run.All)
	}
}

// TestEagerClientTruncatedByEarly226: `serve --end 226-before-flush` sends
// 226 while the tail of the file is unwritten; over real TCP, `run
// --policy eager` reports the truncations and `--policy strict` none.
func TestEagerClientTruncatedByEarly226(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--end", "226-before-flush"}, io.Discard, pw)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	url := "ftp://" + regexp.MustCompile(`127\.0\.0\.1:\d+`).FindString(line) + "/1M.bin"
	for _, tc := range []struct {
		policy        string
		wantTruncated bool
	}{{"strict", false}, {"eager", true}} {
		out := filepath.Join(t.TempDir(), "r.jsonl")
		_, stdout, stderr := ftpbench(t, t.Context(), "run", "--policy", tc.policy, "-m", "pasv", "-n", "200", "-c", "4", "--format", "json", "-o", out, url)
		var s summaryJSON
		if err := json.Unmarshal([]byte(stdout), &s); err != nil {
			t.Fatalf("%s: %v\n%s", tc.policy, err, stderr)
		}
		truncated := s.Modes[0].Outcomes["truncated"]
		if (truncated > 0) != tc.wantTruncated || s.All.Cycles != 200 || s.All.OK+truncated != 200 {
			t.Errorf("%s: %+v, outcomes %v", tc.policy, s.All, s.Modes[0].Outcomes)
		}
	}
	cancel()
	<-done
}

// TestProgressOnStderrOnly: progress lines go to stderr, and stdout stays
// one JSON document.
func TestProgressOnStderrOnly(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.jsonl")
	code, stdout, stderr := ftpbench(t, t.Context(), "run", "-d", "400ms", "--progress-interval", "100ms", "--format", "json", "-o", out)
	var s summaryJSON
	if code != exitOK || json.Unmarshal([]byte(stdout), &s) != nil || s.All.Cycles == 0 {
		t.Fatalf("exit %d, stdout not one JSON summary:\n%s", code, stdout)
	}
	if !strings.Contains(stderr, "\nprogress ") {
		t.Errorf("no progress line on stderr:\n%s", stderr)
	}
}
