package results

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestHTMLReport checks the page's content: every section, one inline
// SVG per chart, the run's options without the password, escaping of
// record-supplied text, and nothing loaded from elsewhere.
func TestHTMLReport(t *testing.T) {
	dir := t.TempDir()
	recs := fixtureRecords()
	recs[8].Mode = `<script>alert("x")</script>` // a hostile mode name
	path := writeRecords(t, dir, "r.jsonl", recs)
	err := WriteRunInfo(path, &RunInfo{Command: []string{"ftpbench", "run", "ftp://u:hunter2@h/f"},
		Target: "ftp://u@h/f", Start: base, End: base.Add(5 * time.Second), EndReason: "interrupted"})
	if err != nil {
		t.Fatal(err)
	}
	a, warnings, err := AnalyzeFiles(context.Background(), []string{path, writeRecords(t, dir, "bare.jsonl", recs[:2])})
	if err != nil || len(warnings) != 0 {
		t.Fatal(err, warnings)
	}
	th, _ := ParseThreshold("p99(setup)<1ms")
	res, _ := CheckThresholds([]Threshold{th}, a.Summary)
	var buf bytes.Buffer
	if err := WriteHTML(&buf, a, res); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		"<title>ftpbench report</title>", "14 records from 2 file(s)",
		"ftpbench run ftp://u:xxxxx@h/f", "interrupted", "2025-03-01 12:00:00.000 UTC", "(5.000s)",
		"no run metadata", "PASS", "p99(setup)&lt;1ms",
		`id="chart-throughput"`, `id="chart-setup"`, `id="chart-race-gap"`, `id="chart-cycle-time"`, `id="chart-failures"`,
		"&lt;script&gt;",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"hunter2", "<script>", "<?xml", "src=", "href=", "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	if n := strings.Count(page, "<svg"); n != 5 {
		t.Errorf("%d inline SVGs, want 5", n)
	}
	if !regexp.MustCompile(`(?s)^<!DOCTYPE html>.*</html>\s*$`).MatchString(page) {
		t.Error("not a whole HTML document")
	}
	out := filepath.Join(dir, "report.html")
	if err := SaveHTML(out, a, nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); !bytes.Contains(b, []byte("</html>")) || bytes.Contains(b, []byte("Thresholds")) {
		t.Error("SaveHTML wrote a different page (or thresholds without any)")
	}
}
