package main

import (
	"strings"
	"testing"

	"ftpbench/loadgen"
)

func TestFdsNeeded(t *testing.T) {
	pasv := []loadgen.Mode{loadgen.ModePASV, loadgen.ModeEPSV}
	mixed := []loadgen.Mode{loadgen.ModePASV, loadgen.ModePORT}
	for _, tc := range []struct {
		users int
		modes []loadgen.Mode
		want  uint64
	}{
		{1, pasv, 2 + fdSlack},
		{9000, pasv, 18000 + fdSlack},
		{9000, mixed, 27000 + fdSlack},
		{100, []loadgen.Mode{loadgen.ModeEPRT}, 300 + fdSlack},
	} {
		if got := fdsNeeded(tc.users, tc.modes); got != tc.want {
			t.Errorf("fdsNeeded(%d, %v) = %d, want %d", tc.users, tc.modes, got, tc.want)
		}
	}
}

func TestCheckFileLimit(t *testing.T) {
	pasv := []loadgen.Mode{loadgen.ModePASV}
	lim := fileLimit{soft: 20000, hard: 20000}
	if err := checkFileLimit(9000, pasv, lim); err != nil {
		t.Fatalf("9000 PASV users in 20000 descriptors: %v", err)
	}
	err := checkFileLimit(9000, []loadgen.Mode{loadgen.ModePASV, loadgen.ModePORT}, lim)
	if err == nil {
		t.Fatal("9000 PASV/PORT users in 20000 descriptors: no error")
	}
	msg := err.Error()
	// (20000-64)/3 = 6645 users fit; 27064 descriptors take 2 processes.
	for _, want := range []string{"9000 users", "27064 file descriptors", "RLIMIT_NOFILE", "may open 20000",
		"hard limit 20000", "at most 6645 users per process (-c 6645)", "over 2 or more processes with --segment i/N", "ulimit -Hn"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	err = checkFileLimit(100, pasv, fileLimit{soft: 50, hard: ^uint64(0)})
	if err == nil || !strings.Contains(err.Error(), "at most 0 users") || !strings.Contains(err.Error(), "hard limit unlimited") {
		t.Errorf("100 users in 50 descriptors: %v", err)
	}
}

func TestRaiseFileLimit(t *testing.T) {
	before, err := raiseFileLimit()
	if err != nil {
		t.Fatal(err)
	}
	if before.soft != before.hard {
		t.Fatalf("after raising: soft %d, hard %d", before.soft, before.hard)
	}
	// Lower the soft limit as a shell's ulimit -Sn would, then raise it back.
	lowerSoftLimit(t, before.hard/2)
	after, err := raiseFileLimit()
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("raised from %d to %+v, want %+v", before.hard/2, after, before)
	}
}
