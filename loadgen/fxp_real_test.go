package loadgen_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ftpbench/internal/ftptest"
	"ftpbench/loadgen"
	"ftpbench/results"
)

// fxpReal is what an fxp cycle from one real server to another ends as.
type fxpReal struct {
	outcome results.Outcome
	code    int
	err     string
}

// match reports whether r ended as f says.
func (f fxpReal) match(r results.Record) bool {
	return r.Outcome == f.outcome && (f.outcome == results.OK || r.Code == f.code) && strings.Contains(r.Err, f.err)
}

// TestFXPBetweenRealServers copies a file from each real server to each
// (RFC 959 Figure 3) and checks what happens, server by server.
//
// All five listen on 127.0.0.1, and so does the user-PI: each server sees
// the other as its client's address, so bounce protection (RFC 2577),
// which compares addresses, lets every pair through. Only proftpd to
// goftp fails: goftp leaves the data connection open after STOR (it
// replies 226 but never closes), and proftpd withholds the RETR's 226
// until its peer has closed.
//
// With the user-PI on 127.0.0.3, the servers see a third party, as they
// would across hosts: vsftpd, pure-ftpd, proftpd and pyftpdlib refuse
// PORT to an address that is not their client's, and as the passive side
// refuse (or, pure-ftpd, ignore) a data connection from one; only goftp,
// with no bounce protection at all, copies to goftp.
func TestFXPBetweenRealServers(t *testing.T) {
	if testing.Short() {
		t.Skip("real servers: skipped in -short mode")
	}
	const size = 100_000
	srvs := map[string]*ftptest.Server{}
	for _, name := range ftptest.Names() {
		srvs[name] = ftptest.Start(t, name, ftptest.Options{Files: map[string]int64{"100k.bin": size}})
	}
	ok := []fxpReal{{outcome: results.OK}}
	refusePORT := map[string][]fxpReal{
		ftptest.Vsftpd:    {{results.ReplyError, 500, "500 Illegal PORT command."}},
		ftptest.PureFTPd:  {{results.ReplyError, 500, "500 I won't open a connection to 127.0.0.1 (only to 127.0.0.3)"}},
		ftptest.ProFTPd:   {{results.ReplyError, 500, "500 Illegal PORT command"}},
		ftptest.Pyftpdlib: {{results.ReplyError, 501, "501 Rejected data connection to foreign address 127.0.0.1:"}},
	}
	// goftp connects at PORT; the destination turns the foreign connection
	// away when STOR accepts it, and then either its refusal or goftp's
	// failed write (551) reaches the user-PI first.
	goftpWriteFailed := fxpReal{results.ReplyError, 551, "fxp source"}
	fromGoftp := map[string][]fxpReal{
		ftptest.Goftp:     ok,
		ftptest.Vsftpd:    {{results.Refused, 425, ": 425 Security: Bad IP connecting."}, goftpWriteFailed},
		ftptest.ProFTPd:   {{results.Refused, 425, ": 425 Unable to build data connection: Permission denied"}, goftpWriteFailed},
		ftptest.Pyftpdlib: {{results.Refused, 425, ": 425 Rejected data connection from foreign address 127.0.0.1:"}, goftpWriteFailed},
		// pure-ftpd closes the foreign connection and says nothing.
		ftptest.PureFTPd: {{results.Timeout, 0, "fxp destination"}, goftpWriteFailed},
	}
	for _, tc := range []struct {
		name  string
		local string
		want  func(src, dst string) []fxpReal
	}{
		{"same address", "127.0.0.1", func(src, dst string) []fxpReal {
			if src == ftptest.ProFTPd && dst == ftptest.Goftp {
				return []fxpReal{{results.Timeout, 0, "fxp source " + srvs[src].Addr + ": RETR /100k.bin reply: "}}
			}
			return ok
		}},
		{"third party", "127.0.0.3", func(src, dst string) []fxpReal {
			if src == ftptest.Goftp {
				return fromGoftp[dst]
			}
			return refusePORT[src]
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			local := &net.TCPAddr{IP: net.ParseIP(tc.local)}
			if ln, err := net.ListenTCP("tcp", local); err != nil {
				t.Skipf("cannot use %s here: %v", tc.local, err)
			} else {
				ln.Close()
			}
			for _, src := range ftptest.Names() {
				for _, dst := range ftptest.Names() {
					s, d := srvs[src], srvs[dst]
					name := fmt.Sprintf("fxp-%s-{seq}.bin", src)
					recs := collect(t, mustRun(t, loadgen.Config{
						Network:   loadgen.TCP{LocalAddr: local},
						Target:    loadgen.Target{Addr: s.Addr, User: s.User, Password: s.Password, Path: "/100k.bin"},
						FXPTarget: loadgen.Target{Addr: d.Addr, User: d.User, Password: d.Password, Path: d.UploadPath(name)},
						Modes:     []loadgen.Mode{loadgen.ModeFXP}, Cycles: 2, Timeout: 2 * time.Second,
					}))
					want := tc.want(src, dst)
					for _, r := range recs {
						if !slices.ContainsFunc(want, func(f fxpReal) bool { return f.match(r) }) {
							t.Errorf("%s -> %s seq %d: %s %d %q; want one of %+v", src, dst, r.Seq, r.Outcome, r.Code, r.Err, want)
						}
						if r.Outcome != results.OK {
							continue
						}
						if r.Bytes != size || r.Code/100 != 2 {
							t.Errorf("%s -> %s seq %d: %d bytes, code %d", src, dst, r.Seq, r.Bytes, r.Code)
						}
						stored := filepath.Join(d.Root, d.UploadDir, strings.ReplaceAll(name, "{seq}", fmt.Sprint(r.Seq)))
						if fi, err := os.Stat(stored); err != nil || fi.Size() != size {
							t.Errorf("%s -> %s seq %d: stored file %s: %v", src, dst, r.Seq, stored, err)
						}
					}
				}
			}
		})
	}
}

// TestDefaultDataPortAgainstRealServers records what each real server does
// with a default data port transfer (RFC 959 §3.2: no PORT or PASV, the
// server connects to the client's control port U from L-1). None of the
// five implements it: three refuse with 425, proftpd connects to U-1
// instead of U (nobody listens there: "Connection refused", then 425),
// and goftp and pyftpdlib reply 150 and never connect, which the cycle
// ends as a timeout that names the address nobody connected to.
func TestDefaultDataPortAgainstRealServers(t *testing.T) {
	if testing.Short() {
		t.Skip("real servers: skipped in -short mode")
	}
	const timeout = 2 * time.Second
	for _, tc := range []struct {
		server  string
		outcome results.Outcome
		code    int
		err     string
	}{
		{ftptest.Goftp, results.Timeout, 0, "reply: read tcp "},
		{ftptest.Vsftpd, results.Refused, 425, "425 Use PORT or PASV first."},
		{ftptest.PureFTPd, results.Refused, 425, "425 No data connection"},
		{ftptest.ProFTPd, results.Refused, 425, "425 Unable to build data connection: Connection refused"},
		{ftptest.Pyftpdlib, results.Timeout, 0, "reply: read tcp "},
	} {
		t.Run(tc.server, func(t *testing.T) {
			srv := ftptest.Start(t, tc.server, ftptest.Options{Files: map[string]int64{"1k.bin": 1024}})
			for _, op := range []loadgen.Op{loadgen.OpRETR, loadgen.OpSTOR} {
				path := "/1k.bin"
				if op == loadgen.OpSTOR {
					path = srv.UploadPath("default.bin")
				}
				start := time.Now()
				recs := collect(t, mustRun(t, loadgen.Config{
					Network: loadgen.TCP{ReuseAddr: true},
					Target:  loadgen.Target{Addr: srv.Addr, User: srv.User, Password: srv.Password, Path: path},
					Modes:   []loadgen.Mode{loadgen.ModeDefault}, Op: op, Size: 1024, Cycles: 1, Timeout: timeout,
				}))
				r := recs[0]
				if r.Outcome != tc.outcome || r.Code != tc.code || !strings.Contains(r.Err, tc.err) {
					t.Errorf("%s: %s %d %q; want %s %d with %q", op, r.Outcome, r.Code, r.Err, tc.outcome, tc.code, tc.err)
				}
				if tc.outcome == results.Timeout {
					// The server said 1xx and never connected: the evidence
					// names where nobody connected.
					if !r.T.Has(results.Prelim) || !strings.Contains(r.Err, "(data: no data connection to 127.0.0.1:") {
						t.Errorf("%s: err %q, prelim reached %v: want a 1xx and the unused listener named", op, r.Err, r.T.Has(results.Prelim))
					}
				}
				if d := time.Since(start); d > 2*timeout+time.Second {
					t.Errorf("%s: cycle took %v with a %v timeout", op, d, timeout)
				}
			}
		})
	}
}
