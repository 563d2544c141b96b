package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunTakesTheLoginFromNetrcOrEnvironment: `ftpbench run` logs in with
// the password from --netrc or from FTPBENCH_USER/FTPBENCH_PASSWORD, with
// none in the URL, and shows it nowhere.
func TestRunTakesTheLoginFromNetrcOrEnvironment(t *testing.T) {
	const secret = "Wq3-n3trc-Pw"
	s := startServe(t, "--listen", "127.0.0.1:0", "--anonymous=false", "--user", "bench:"+secret)
	dir := t.TempDir()
	netrc := filepath.Join(dir, "netrc")
	if err := os.WriteFile(netrc, []byte("machine 127.0.0.1 login bench password "+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	url := "ftp://" + s.addr + "/size/1000"
	out := filepath.Join(dir, "r.jsonl")
	var outputs []string
	run := func(args ...string) int {
		t.Helper()
		code, stdout, stderr := ftpbench(t, t.Context(), args...)
		outputs = append(outputs, stdout, stderr)
		return code
	}
	if code := run("run", "-n", "4", "-c", "2", "-o", out, "--netrc", netrc, url); code != exitOK {
		t.Errorf("--netrc: exit %d, want 0 (is the credentials hook in run.go?)\n%s", code, outputs[len(outputs)-1])
	}
	t.Setenv(envUser, "bench")
	t.Setenv(envPassword, secret)
	if code := run("run", "-n", "4", "-c", "2", "-o", out, url); code != exitOK {
		t.Errorf("%s and %s: exit %d, want 0\n%s", envUser, envPassword, code, outputs[len(outputs)-1])
	}
	if code := run("run", "-n", "1", "-o", out, "--netrc", netrc); code != exitUsage || !strings.Contains(outputs[len(outputs)-1], "--netrc applies only with a URL") {
		t.Errorf("--netrc without a URL: exit %d, %q", code, outputs[len(outputs)-1])
	}
	meta, _ := os.ReadFile(out + ".meta.json")
	data, _ := os.ReadFile(out)
	for _, o := range append(outputs, string(meta), string(data), s.stop()) {
		if strings.Contains(o, secret) {
			t.Errorf("the password shows in %q", o)
		}
	}
}
