package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPasswordsAppearNowhere runs every command with a password-bearing
// URL — the one a user would put on a command line — and greps everything
// they print and every file they write for it: records, sidecar, summary,
// charts, HTML report, merged file, comparison, usage errors and --help.
func TestPasswordsAppearNowhere(t *testing.T) {
	const secret = "Zq7-p4ss-Xv" // distinctive: found only if leaked
	s := startServe(t, "--listen", "127.0.0.1:0", "--anonymous=false", "--user", "bench:"+secret)
	url := "ftp://bench:" + secret + "@" + s.addr + "/size/2000"
	dir := t.TempDir()
	out := filepath.Join(dir, "r.jsonl")
	var outputs []string // every stdout and stderr
	runCmd := func(wantCode int, args ...string) {
		t.Helper()
		code, stdout, stderr := ftpbench(t, t.Context(), args...)
		if code != wantCode {
			t.Errorf("%s: exit %d, want %d\n%s", strings.Join(args, " "), code, wantCode, stderr)
		}
		outputs = append(outputs, stdout, stderr)
	}
	runCmd(exitOK, "run", "-n", "40", "-c", "2", "-m", "pasv,port", "-o", out, "--plots", filepath.Join(dir, "plots"),
		"--threshold", "errors<1%", url)
	runCmd(exitOK, "run", "-n", "5", "-c", "1", "--format", "json", "-o", filepath.Join(dir, "r2.jsonl"), url)
	// A wrong password, and URLs that are bad in other ways, still with a
	// password in them.
	runCmd(exitFailed, "run", "-n", "2", "-c", "1", "-o", filepath.Join(dir, "wrong.jsonl"), "ftp://bench:"+secret+"-wrong@"+s.addr+"/size/1")
	for _, bad := range []string{
		"ftp://bench:" + secret + "@" + s.addr + ":99999/f",
		"ftp://bench:" + secret + "@" + s.addr + "/f?x=1",
		"ftp://bench:" + secret + "%zz@" + s.addr + "/f",
		"ftp://bench:" + secret + " x@" + s.addr + "/f",
		"http://bench:" + secret + "@" + s.addr + "/f",
		"ftp://bench:" + secret + "@" + s.addr + "/",
	} {
		runCmd(exitUsage, "run", "-n", "1", "-o", filepath.Join(dir, "bad.jsonl"), bad)
		runCmd(exitUsage, "run", "--no-such-flag", bad)
	}
	runCmd(exitOK, "report", "--html", filepath.Join(dir, "report.html"), "--plots", filepath.Join(dir, "rplots"), out)
	runCmd(exitOK, "report", "--format", "json", out)
	runCmd(exitOK, "merge", "-o", filepath.Join(dir, "merged.jsonl"), out, filepath.Join(dir, "r2.jsonl"))
	runCmd(exitOK, "compare", "--format", "markdown", out, out)
	for _, cmd := range []string{"run", "report", "merge", "compare", "serve"} {
		runCmd(exitOK, cmd, "--help", url)
	}
	runCmd(exitOK, "--help")

	for i, o := range outputs {
		if strings.Contains(o, secret) {
			t.Errorf("output %d shows the password:\n%s", i, o)
		}
	}
	if strings.Contains(s.banner+s.stop(), secret) {
		t.Errorf("serve's output shows the password")
	}
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if strings.Contains(string(data), secret) {
			t.Errorf("%s holds the password", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Records, sidecars, 5 charts × 2 formats × 2, reports, merged file.
	if files < 20 {
		t.Errorf("only %d files written: the commands did not run as meant", files)
	}
	info, err := os.ReadFile(out + ".meta.json")
	if err != nil || !strings.Contains(string(info), "bench:xxxxx@") {
		t.Errorf("sidecar %s, %v: want the command line with the password replaced by xxxxx", info, err)
	}
}
