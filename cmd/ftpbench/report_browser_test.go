package main

import (
	"bytes"
	"context"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ftpbench/internal/ftptest"
)

// chromium runs headless Debian chromium with args, isolated from any
// profile, network service or update check, and returns its stdout.
func chromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// TestHTMLReportInChromium opens the report.html of a real run in a real
// browser: the DOM must hold the five charts as SVG, and a screenshot must
// show them — pixels in the colours of the two modes' lines, which only
// the charts draw.
func TestHTMLReportInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser: skipped in -short mode")
	}
	bin, err := exec.LookPath("chromium")
	if err != nil {
		ftptest.Unavailable(t, "chromium (apt-get install chromium)", err)
	}
	dir := t.TempDir()
	plots := filepath.Join(dir, "plots")
	_, code, _, stderr := simRun(t, dir, "--plots", plots)
	if code != exitOK {
		t.Fatalf("run exit %d: %s", code, stderr)
	}
	page := "file://" + filepath.Join(plots, "report.html")

	dom := string(chromium(t, bin, "--dump-dom", page))
	if n := strings.Count(dom, "<svg"); n != 5 {
		t.Errorf("the rendered DOM has %d <svg> elements, want 5", n)
	}
	for _, id := range []string{"chart-throughput", "chart-setup", "chart-race-gap", "chart-cycle-time", "chart-failures"} {
		if !strings.Contains(dom, `id="`+id+`"`) {
			t.Errorf("the rendered DOM lacks #%s", id)
		}
	}

	shot := filepath.Join(dir, "shot.png")
	chromium(t, bin, "--screenshot="+shot, "--window-size=1200,3000", "--hide-scrollbars", page)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 3000 {
		t.Errorf("screenshot is %v, want 1200x3000", b)
	}
	pasv, port := color.RGBA{0x00, 0x72, 0xB2, 0xFF}, color.RGBA{0xE6, 0x9F, 0x00, 0xFF}
	near := func(c, w color.RGBA) bool {
		d := func(a, b uint8) int { return max(int(a)-int(b), int(b)-int(a)) }
		return d(c.R, w.R)+d(c.G, w.G)+d(c.B, w.B) < 40
	}
	var nPasv, nPort int
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			if near(c, pasv) {
				nPasv++
			} else if near(c, port) {
				nPort++
			}
		}
	}
	t.Logf("screenshot: %d pasv-blue, %d port-orange pixels", nPasv, nPort)
	if nPasv < 300 || nPort < 300 {
		t.Errorf("screenshot has %d pasv-blue and %d port-orange pixels, want charts drawn (300+ each)", nPasv, nPort)
	}
}
