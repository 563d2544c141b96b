package probe

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ftpbench/internal/ftpaddr"
	"ftpbench/internal/ftptest"
	"ftpbench/loadgen"
)

var update = flag.Bool("update", false, "rewrite testdata/servers.md")

// goldenFile is the "how servers differ" table: what the probe finds on
// each of the five real servers.
const goldenFile = "testdata/servers.md"

// statistical are the checks left out of the golden table: whether a 226
// is read before the data EOF is a matter of microseconds between two
// connections, so a server that closes first (vsftpd) shows it in a few
// transfers of a hundred and in none of the next hundred.
var statistical = map[string]bool{"close-then-226": true}

// probeFile is large enough (16 MiB, beyond the loopback socket buffers)
// that the server is still sending when the second RETR arrives, so the
// second-command check sees each server's behaviour during a transfer.
const probeFile, probeSize = "16m.bin", 16 << 20

// TestProbeRealServers probes each of the five real servers, checks the
// report against what the test finds with its own raw commands, and
// compares the deterministic lines with the golden table (-update
// rewrites it).
func TestProbeRealServers(t *testing.T) {
	if testing.Short() {
		t.Skip("real servers: skipped in -short mode")
	}
	var reports []*Report
	var names []string
	for _, name := range ftptest.Names() {
		srv := ftptest.Start(t, name, ftptest.Options{Files: map[string]int64{probeFile: probeSize}})
		rep, err := Run(t.Context(), Config{
			Target:  loadgen.Target{Addr: srv.Addr, User: srv.User, Password: srv.Password, Path: "/" + probeFile},
			Timeout: 2 * time.Second,
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rep.Elapsed > 30*time.Second {
			t.Errorf("%s: probe took %v; it must end within 30s", name, rep.Elapsed)
		}
		independent(t, srv, rep)
		reports = append(reports, rep)
		names = append(names, fmt.Sprintf("%s %s", name, srv.Version))
	}
	got := goldenTable(names, reports)
	if *update {
		if err := os.WriteFile(goldenFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		var full strings.Builder
		for _, rep := range reports {
			rep.WriteText(&full)
		}
		t.Errorf("the probe's findings differ from %s (run with -update if the change is right):\n%s\n%s", goldenFile, got, full.String())
	}
}

// goldenTable renders the deterministic checks of the reports, one column
// per server: verdict and note.
func goldenTable(names []string, reports []*Report) []byte {
	var b bytes.Buffer
	b.WriteString("| check | " + strings.Join(names, " | ") + " |\n|---|" + strings.Repeat("---|", len(names)) + "\n")
	for i, c := range checks {
		if statistical[c.id] || c.id == "fxp" {
			continue
		}
		cells := make([]string, len(reports))
		for j, rep := range reports {
			r := rep.Results[i]
			cells[j] = string(r.Verdict)
			if r.Verdict != Pass || r.Note != "transfer complete" {
				cells[j] += ": " + mdCell(r.Note)
			}
		}
		fmt.Fprintf(&b, "| %s | %s |\n", c.title, strings.Join(cells, " | "))
	}
	return b.Bytes()
}

// independent checks the report against the test's own raw commands on
// srv, written without the probe's or loadgen's code: the reply to RETR
// with no PORT or PASV, to PORT to a third party, and to a transfer to a
// port nobody listens on; and, structurally, that a server holding its
// 226 until the client's close can never have it read before the EOF.
func independent(t *testing.T, srv *ftptest.Server, rep *Report) {
	t.Helper()
	get := func(id string) Result { return result(t, rep, id) }

	c := rawLogin(t, srv)
	code, msg := c.cmd("RETR /" + probeFile) // no PORT or PASV: the default data port
	switch dp := get("default-port"); {
	case code == 425 && srv.Name != ftptest.ProFTPd:
		if want := fmt.Sprintf("%d %s", code, msg); dp.Verdict != Fail || dp.Note != want {
			t.Errorf("%s: default-port %s %q; RETR alone got %q", srv.Name, dp.Verdict, dp.Note, want)
		}
	case code == 425: // proftpd tried U-1, where the probe listened
		if dp.Note != "connected to U-1 instead of U" || get("default-from").Verdict != Fail {
			t.Errorf("%s: default-port %q; RETR alone got %d %s", srv.Name, dp.Note, code, msg)
		}
	case code/100 == 1:
		if dp.Note != "1xx, then no connection" {
			t.Errorf("%s: default-port %q; RETR alone got %d %s and no connection", srv.Name, dp.Note, code, msg)
		}
	default:
		t.Errorf("%s: RETR alone got %d %s: unexpected", srv.Name, code, msg)
	}
	c.close()

	c = rawLogin(t, srv)
	code, msg = c.cmd("PORT 127,0,0,2,4,1")
	if b := get("bounce"); (code/100 == 5) != (b.Verdict == Pass) {
		t.Errorf("%s: bounce %s, but PORT to 127.0.0.2 got %d %s", srv.Name, b.Verdict, code, msg)
	}
	c.close()

	c = rawLogin(t, srv)
	dead, release, err := closedPort(t.Context(), loadgen.TCP{}, netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	arg, _ := ftpaddr.FormatHostPort(dead)
	codes := []int{}
	code, _ = c.cmd("PORT " + arg)
	codes = append(codes, code)
	if code == 200 {
		for code, _ = c.cmd("RETR /" + probeFile); code/100 == 1; code, _ = c.read() {
			codes = append(codes, code)
		}
		codes = append(codes, code)
	}
	last := codes[len(codes)-1]
	if nd := get("no-data-425"); (last == 425 || last == 426) != (nd.Verdict == Pass) {
		t.Errorf("%s: no-data-425 %s, but PORT to a dead port, RETR got %v", srv.Name, nd.Verdict, codes)
	}
	c.close()

	if get("226-while-open").Verdict == Fail && get("close-then-226").Verdict != Pass {
		t.Errorf("%s: the 226 waits for the client's close, yet close-then-226 is %s", srv.Name, get("close-then-226").Verdict)
	}
}

// rawConn is the test's own control connection.
type rawConn struct {
	t    *testing.T
	name string // the server's
	last string // the last command sent
	c    net.Conn
	tp   *textproto.Conn
}

func rawLogin(t *testing.T, srv *ftptest.Server) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", srv.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := &rawConn{t: t, name: srv.Name, last: "(greeting)", c: nc, tp: textproto.NewConn(nc)}
	if code, msg := c.read(); code != 220 {
		t.Fatalf("%s greeting %d %s", srv.Name, code, msg)
	}
	if code, _ := c.cmd("USER " + srv.User); code == 331 {
		c.cmd("PASS " + srv.Password)
	}
	return c
}

func (c *rawConn) read() (int, string) {
	// Generous: the servers run beside other test packages on 2 cores.
	c.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	code, msg, err := c.tp.ReadResponse(0)
	if err != nil {
		c.t.Fatalf("%s: reply to %s: %v", c.name, c.last, err)
	}
	return code, msg
}

func (c *rawConn) cmd(line string) (int, string) {
	c.last = line
	if err := c.tp.PrintfLine("%s", line); err != nil {
		c.t.Fatal(err)
	}
	return c.read()
}

func (c *rawConn) close() { c.c.Close() }

// TestGoldenTableIsDocumented keeps docs/probe.md's copy of the golden
// table in step with the file.
func TestGoldenTableIsDocumented(t *testing.T) {
	golden, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Skip(err)
	}
	doc, err := os.ReadFile(filepath.Join("..", "docs", "probe.md"))
	if err != nil {
		t.Skipf("docs/probe.md: %v", err)
	}
	if !bytes.Contains(doc, golden) {
		t.Errorf("docs/probe.md does not contain %s verbatim; copy it there", goldenFile)
	}
}
