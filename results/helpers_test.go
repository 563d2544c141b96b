package results

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

var base = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// phases builds a Phases from (phase, offset) pairs; the rest are -1.
func phases(pairs ...any) Phases {
	p := NoPhases
	for i := 0; i < len(pairs); i += 2 {
		p[pairs[i].(Phase)] = int64(pairs[i+1].(time.Duration))
	}
	return p
}

// full returns the phases of a cycle that reached everything, with the data
// EOF and the final reply at the given offsets.
func full(eof, final, done time.Duration) Phases {
	return phases(SetupSent, time.Duration(0), SetupReply, 120*time.Microsecond,
		DataOpen, 250*time.Microsecond, CmdSent, 260*time.Microsecond,
		Prelim, 400*time.Microsecond, FirstByte, 450*time.Microsecond,
		EOF, eof, Final, final, Done, done)
}

// fixtureRecords is a fixed, varied set of records: every mode order case,
// most outcomes, negative, zero and positive race gaps, absent phases,
// zero offsets, a non-UTC start and awkward error strings.
func fixtureRecords() []Record {
	ms := time.Millisecond
	us := time.Microsecond
	return []Record{
		{Seq: 0, User: 1, Segment: "0/2", Mode: "pasv", Op: "retr", Start: base,
			T: full(2100*us, 2300*us, 2310*us), Bytes: 65536, Want: 65536, Code: 226, Outcome: OK},
		{Seq: 1, User: 2, Segment: "0/2", Mode: "pasv", Op: "retr", Start: base.Add(ms),
			Intended: base.Add(800 * us), T: full(3*ms, 2800*us, 3050*us),
			Bytes: 65536, Want: 65536, Code: 226, Outcome: OK},
		{Seq: 2, User: 3, Mode: "pasv", Op: "retr", Start: base.Add(2 * ms),
			T:    phases(SetupSent, time.Duration(0), SetupReply, 90*us, Done, 5*time.Second),
			Want: 65536, Outcome: Timeout, Err: "dial 127.0.0.1:40001: i/o timeout"},
		{Seq: 3, User: 1, Mode: "port", Op: "stor", Start: base.Add(3 * ms),
			T: phases(SetupSent, time.Duration(0), SetupReply, time.Duration(0), DataOpen, time.Duration(0),
				CmdSent, 10*us, Prelim, 10*us, FirstByte, 10*us, EOF, 900*us, Final, 1100*us, Done, 1100*us),
			Bytes: 4096, Want: 4096, Code: 226, Outcome: OK},
		{Seq: 4, User: 2, Mode: "port", Op: "stor", Start: base.Add(4 * ms),
			T:     phases(SetupSent, time.Duration(0), SetupReply, 70*us, DataOpen, 300*us, CmdSent, 310*us, FirstByte, 500*us, Done, 7*ms),
			Bytes: 1024, Want: 4096, Outcome: Reset, Err: "read tcp: connection reset by peer \"quoted\"\nnext line\t<&>"},
		{Seq: 5, User: 3, Mode: "epsv", Op: "retr", Start: base.Add(5 * ms),
			T: full(1500*us, 1500*us, 1600*us), Bytes: 100, Want: 100, Code: 226, Outcome: OK},
		{Seq: 6, User: 4, Mode: "fxp", Op: "retr", Start: base.Add(6 * ms),
			T:    phases(SetupSent, time.Duration(0), SetupReply, 200*us, CmdSent, 210*us, Final, 400*us, Done, 410*us),
			Code: 550, Outcome: ReplyError, Err: "550 Permission denied — ünïcode ✓"},
		{Seq: 7, User: 5, Mode: "default", Op: "retr", Start: base.Add(7 * ms),
			T: full(4*ms, 2500*us, 4100*us), Bytes: 1000, Want: 65536, Code: 226, Outcome: Truncated},
		{Seq: 8, User: 6, Mode: "zz-custom", Op: "retr", Start: base.Add(8 * ms),
			T: full(2*ms, 2200*us, 2300*us), Bytes: 65536, Want: 65536, Code: 150, Outcome: Desync,
			Err: "reply 150 answered an earlier command"},
		{Seq: 9, User: 1, Mode: "pasv", Op: "retr", Start: base.Add(4 * time.Second),
			T: NoPhases, Outcome: Canceled, Err: "context canceled"},
		{Seq: 10, User: 7, Mode: "eprt", Op: "stor", Start: base.Add(9 * ms).In(time.FixedZone("", 2*3600)),
			T: full(700*us, 750*us, 800*us), Bytes: 1 << 20, Want: 1 << 20, Code: 226, Outcome: OK},
		{Seq: 11, User: 8, Mode: "pasv", Op: "retr", Start: base.Add(10*ms + 1),
			T: phases(SetupSent, time.Duration(0), DataOpen, 0*us, Done, 0*us), Outcome: Refused,
			Code: 425, Err: "425 Can't open data connection"},
	}
}

// sameRecord reports whether a and b are equal, times included with their
// offsets (RFC 3339 text) and instants.
func sameRecord(a, b *Record) bool {
	sameTime := func(x, y time.Time) bool {
		if x.IsZero() || y.IsZero() {
			return x.IsZero() && y.IsZero()
		}
		return x.Equal(y) && x.Format(time.RFC3339Nano) == y.Format(time.RFC3339Nano)
	}
	return a.Seq == b.Seq && a.User == b.User && a.Segment == b.Segment &&
		a.Mode == b.Mode && a.Op == b.Op && sameTime(a.Start, b.Start) &&
		sameTime(a.Intended, b.Intended) && a.T == b.T && a.Bytes == b.Bytes &&
		a.Want == b.Want && a.Code == b.Code && a.Outcome == b.Outcome && a.Err == b.Err
}
