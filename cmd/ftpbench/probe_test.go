package main

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"ftpbench/sim"
)

// startSimTCP serves the simulated server on a loopback TCP port until
// the test ends and returns its address.
func startSimTCP(t *testing.T, cfg sim.ServerConfig) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		sim.NewServer(cfg).Serve(ctx, ln)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// TestProbeCommand runs `ftpbench probe` against the simulated server on
// real TCP in each format: exit 0 and a complete report, findings
// included (over TCP the simulated server's default data port connection
// comes from an ephemeral port, not L-1).
func TestProbeCommand(t *testing.T) {
	addr := startSimTCP(t, sim.ServerConfig{Anonymous: true, DefaultDataPort: true, AllowFXP: true})
	url := "ftp://" + addr + "/size/4096"
	for _, format := range []string{"text", "markdown", "json"} {
		t.Run(format, func(t *testing.T) {
			code, stdout, stderr := ftpbench(t, t.Context(), "probe", "--format", format, "--transfers", "10", url, "ftp://"+addr+"/copy")
			if code != exitOK {
				t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
			}
			switch format {
			case "json":
				var rep struct {
					Target  string `json:"target"`
					Results []struct {
						ID, Verdict, Evidence string
					} `json:"results"`
				}
				if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
					t.Fatalf("%v\n%s", err, stdout)
				}
				got := map[string]string{}
				for _, r := range rep.Results {
					got[r.ID] = r.Verdict
				}
				for id, want := range map[string]string{"pasv": "PASS", "default-port": "PASS", "default-from": "FAIL", "bounce": "FAIL", "fxp": "PASS"} {
					if got[id] != want {
						t.Errorf("%s: %s, want %s (%+v)", id, got[id], want, rep.Results)
					}
				}
				if len(rep.Results) != 13 || rep.Target != "ftp://anonymous@"+addr+"/size/4096" {
					t.Errorf("target %q, %d results", rep.Target, len(rep.Results))
				}
			case "markdown":
				if !strings.Contains(stdout, "| result | check | note | evidence |\n|---|---|---|---|\n| PASS | PASV transfer |") {
					t.Errorf("not a markdown table:\n%s", stdout)
				}
			default:
				for _, want := range []string{"server: ftpbench simulated server ready", "RESULT  CHECK", "PASS    PASV transfer", "FAIL    PORT to a third party refused", " PASS, "} {
					if !strings.Contains(stdout, want) {
						t.Errorf("text report lacks %q:\n%s", want, stdout)
					}
				}
			}
		})
	}
}

// TestProbeCommandErrors: usage errors exit 2 with one line; a server
// that cannot be logged in to exits 1; a silent one is given up on within
// the timeout.
func TestProbeCommandErrors(t *testing.T) {
	silent, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	addr := startSimTCP(t, sim.ServerConfig{Users: map[string]string{"u": "p"}})
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"probe"}, exitUsage, "ftpbench probe: want a URL"},
		{[]string{"probe", "ftp://h/f", "ftp://h/g", "ftp://h/i"}, exitUsage, "ftpbench probe: want a URL"},
		{[]string{"probe", "http://h/f"}, exitUsage, "ftpbench probe: URL scheme"},
		{[]string{"probe", "ftp://h/f", "ftp://h/"}, exitUsage, "ftpbench probe: second URL: URL has no file path"},
		{[]string{"probe", "--format", "xml", "ftp://h/f"}, exitUsage, `ftpbench probe: --format "xml"`},
		{[]string{"probe", "--transfers", "0", "ftp://h/f"}, exitUsage, "must be positive"},
		{[]string{"probe", "ftp://u:wrong@" + addr + "/f"}, exitFailed, "530"},
		{[]string{"probe", "--timeout", "300ms", "ftp://" + silent.Addr().String() + "/f"}, exitFailed, "greeting reply"},
	} {
		start := time.Now()
		code, stdout, stderr := ftpbench(t, t.Context(), tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want %d and one line with %q (stdout %q)", tc.args, code, stderr, tc.code, tc.msg, stdout)
		}
		if strings.Contains(stderr, "wrong") {
			t.Errorf("%v: stderr shows the password: %q", tc.args, stderr)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%v took %v", tc.args, d)
		}
	}
}

// TestRunDefaultAndFXPModes covers run's part of the same work: --mode
// default and fxp against the simulation, fxp between two servers on TCP
// (source URL, then destination URL), and the usage errors of fxp.
func TestRunDefaultAndFXPModes(t *testing.T) {
	dir := t.TempDir()
	src := startSimTCP(t, sim.ServerConfig{Anonymous: true, AllowFXP: true})
	dst := startSimTCP(t, sim.ServerConfig{Anonymous: true, AllowFXP: true})
	for _, tc := range []struct {
		name  string
		args  []string
		modes []string
	}{
		{"simulation", []string{"-m", "default,fxp", "-n", "40", "-c", "2", "--size", "10k"}, []string{"default", "fxp"}},
		{"tcp", []string{"-m", "fxp", "-n", "10", "-c", "2", "ftp://" + src + "/size/10240", "ftp://" + dst + "/copy-{user}-{seq}"}, []string{"fxp"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run", "--format", "json", "-o", dir + "/" + tc.name + ".jsonl"}, tc.args...)
			code, stdout, stderr := ftpbench(t, t.Context(), args...)
			if code != exitOK {
				t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
			}
			var sum summaryJSON
			if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
				t.Fatalf("%v\n%s", err, stdout)
			}
			if sum.All.OK != sum.All.Cycles || sum.All.Bytes != sum.All.Cycles*10240 || len(sum.Modes) != len(tc.modes) {
				t.Fatalf("summary %+v, want every cycle ok with 10 KiB in modes %v", sum, tc.modes)
			}
			for i, m := range tc.modes {
				if sum.Modes[i].Mode != m {
					t.Errorf("mode %d is %s, want %s", i, sum.Modes[i].Mode, m)
				}
			}
		})
	}
	for _, args := range [][]string{
		{"run", "-m", "fxp", "ftp://" + src + "/f"},
		{"run", "-m", "fxp", "--op", "stor", "ftp://" + src + "/f", "ftp://" + dst + "/g"},
		{"run", "-m", "pasv", "ftp://" + src + "/f", "ftp://" + dst + "/g"},
	} {
		code, _, stderr := ftpbench(t, t.Context(), args...)
		if code != exitUsage || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "ftpbench run: ") {
			t.Errorf("%v: exit %d, stderr %q; want a one-line usage error", args, code, stderr)
		}
	}
}
