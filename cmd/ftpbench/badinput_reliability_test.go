package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInputIsOneLine: every malformed flag, argument and input file of
// every command exits 2 with exactly one line on stderr, which names what
// was wrong (the flag, the value or the file and line), and nothing on
// stdout. (TestUsageErrors checks more rows on the first line only.)
func TestBadInputIsOneLine(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := file("good.jsonl", `{"seq":0,"user":0,"mode":"pasv","op":"retr","start":"2026-01-01T00:00:00Z","t":{"done":5},"bytes":0,"want":0,"outcome":"ok"}`+"\n")
	garbage := file("garbage.jsonl", "not json\n")
	weird := file("weird.jsonl", strings.Replace(readFile(t, good), `"ok"`, `"weird"`, 1))
	negative := file("negative.jsonl", strings.Replace(readFile(t, good), `"seq":0`, `"seq":-3`, 1))
	long := file("long.jsonl", strings.Repeat("x", 2<<20)+"\n")
	missing := filepath.Join(dir, "missing.jsonl")
	out := filepath.Join(dir, "out.jsonl")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--rate", "-1"}, "--rate"},
		{[]string{"run", "--stages", "30s"}, `--stages: stage "30s"`},
		{[]string{"run", "--max-inflight", "3"}, "--max-inflight"},
		{[]string{"run", "--segment", "4/4"}, `--segment: segment "4/4"`},
		{[]string{"run", "--start-at", "tomorrow"}, `--start-at "tomorrow"`},
		{[]string{"run", "--sim-bandwidth", "lots"}, `--sim-bandwidth: size "lots"`},
		{[]string{"run", "--size", "1.5M"}, `--size: size "1.5M"`},
		{[]string{"run", "--format", "xml"}, `--format "xml"`},
		{[]string{"run", "-n", "-1"}, "--cycles"},
		{[]string{"run", "--think", "-1s"}, "--think"},
		{[]string{"run", "-d", "-1s"}, "--duration"},
		{[]string{"run", "--threshold", "p99(setup)<<5ms"}, `"--threshold" flag: threshold "p99(setup)<<5ms"`},
		{[]string{"run", "--users", "abc"}, `"abc" for "-c, --users"`},
		{[]string{"run", "--timeout", "abc"}, `"abc" for "--timeout"`},
		{[]string{"run", "--virtual=maybe"}, `"maybe" for "--virtual"`},
		{[]string{"run", "--seed", "x"}, `"x" for "--seed"`},
		{[]string{"run", "--cycles-per-login", "-1"}, "--cycles-per-login"},
		{[]string{"run", "--mode"}, "needs an argument: --mode"},
		{[]string{"run", "--op", "stor", "--size", "0"}, "--size 0"},
		{[]string{"run", "--policy", "lazy"}, `--policy: unknown policy "lazy"`},
		{[]string{"run", "ftp://h/a", "ftp://h/b"}, "at most one URL"},
		{[]string{"run", "ftp://u:pw@h/"}, "URL has no file path"},
		{[]string{"run", "ftp:///f"}, "URL has no host"},
		{[]string{"run", "ftp://h:0/f"}, `URL port "0"`},
		{[]string{"run", "-n", "1", "-o", filepath.Join(dir, "no", "such", "dir", "r.jsonl")}, "--out: open " + dir},
		{[]string{"serve", "--timeout", "0s"}, "--timeout"},
		{[]string{"serve", "--max-sessions", "0"}, "--max-sessions"},
		{[]string{"serve", "extra"}, `unexpected argument "extra"`},
		{[]string{"serve", "--anonymous=false"}, "give --user or keep --anonymous"},
		{[]string{"serve", "--seed", "x"}, `"x" for "--seed"`},
		{[]string{"serve", "--listen", "nocolon"}, `--listen "nocolon"`},
		{[]string{"serve", "--listen", "256.0.0.1:1"}, "--listen"},
		{[]string{"serve", "--user", "nopass"}, "--user"},
		{[]string{"serve", "--end", "bogus"}, `--end: end behaviour "bogus": unknown`},
		{[]string{"serve", "--faults", "trickle"}, "--faults: fault \"trickle\": trickle needs a duration"},
		{[]string{"serve", "--faults", "hang=2"}, `--faults: fault "hang=2": a probability is at most 1`},
		{[]string{"serve", "--passive-ports", "9-1"}, `--passive-ports: passive ports "9-1"`},
		{[]string{"report"}, "no results file"},
		{[]string{"report", missing}, missing},
		{[]string{"report", dir}, dir + ": line 1: read"},
		{[]string{"report", garbage}, garbage + ": line 1"},
		{[]string{"report", weird}, weird + `: line 1: unknown outcome "weird"`},
		{[]string{"report", negative}, negative + ": line 1: negative seq -3"},
		{[]string{"report", long}, long + ": line 1: longer than"},
		{[]string{"report", "--format", "xml", good}, `--format "xml"`},
		{[]string{"report", "--threshold", "nonsense", good}, `threshold "nonsense"`},
		{[]string{"merge", good}, "give -o FILE"},
		{[]string{"merge", "-o", out}, "no results file"},
		{[]string{"merge", "-o", out, "--format", "xml", good}, `--format "xml"`},
		{[]string{"merge", "-o", out, missing}, missing},
		{[]string{"merge", "-o", good, good}, "output " + good + " is also an input"},
		{[]string{"merge", "-o", out, garbage}, garbage + ": line 1"},
		{[]string{"compare", "--tolerance", "x", good, good}, `--tolerance: want a percentage such as 5%: "x"`},
		{[]string{"compare", "--tolerance", "-5%", good, good}, `--tolerance: "-5%"`},
		{[]string{"compare", good}, "want BASE and NEW results files, have 1"},
		{[]string{"compare", "--format", "xml", good, good}, `--format "xml"`},
		{[]string{"compare", good, missing}, missing},
		{[]string{"compare", good, garbage}, garbage + ": line 1"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := ftpbench(t, t.Context(), tc.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			prefix := "ftpbench " + tc.args[0] + ": "
			if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, prefix) || !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q: want one line starting %q and naming %q", stderr, prefix, tc.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a failed merge left %s behind", out)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
