package results

import (
	"strings"
	"testing"
)

func TestParseThreshold(t *testing.T) {
	for _, tc := range []struct {
		in, canonical string
		mode          string
		value         float64
	}{
		{"p99(setup)<5ms", "p99(setup)<5ms", "", 5e6},
		{"  pasv : p50 (cycle) <= 250us ", "pasv:p50(cycle)<=250µs", "pasv", 250e3},
		{"max(race_gap)>=-1ms", "max(race_gap)>=-1ms", "", -1e6},
		{"mean(setup)>0", "mean(setup)>0s", "", 0},
		{"errors<0.1%", "errors<0.1%", "", 0.1},
		{"errors<10", "errors<10", "", 10},
		{"port:before_eof<=2 %", "port:before_eof<=2%", "port", 2},
		{"before_eof<1", "before_eof<1", "", 1},
		{"rate(cycles)>1000", "rate(cycles)>1000", "", 1000},
		{"rate(cycles)>1e3/s", "rate(cycles)>1000", "", 1000},
		{"rate(bytes)>50MB/s", "rate(bytes)>50MB/s", "", 50e6},
		{"rate(bytes)>=2MiB", "rate(bytes)>=2.097152MB/s", "", 2 << 20},
		{"rate(bytes)>1.5kB", "rate(bytes)>1.5kB/s", "", 1500},
		{"rate(bytes)>123", "rate(bytes)>123B/s", "", 123},
		{"all:min(cycle)<1s", "all:min(cycle)<1s", "all", 1e9},
	} {
		th, err := ParseThreshold(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if th.String() != tc.canonical || th.Mode != tc.mode || th.Value != tc.value {
			t.Errorf("%q = %q (mode %q, value %v); want %q (%q, %v)", tc.in, th, th.Mode, th.Value, tc.canonical, tc.mode, tc.value)
		}
		again, err := ParseThreshold(th.String())
		if err != nil || again != th {
			t.Errorf("%q does not round-trip: %v, %v", th, again, err)
		}
	}
}

// TestParseThresholdErrors: each mistake gets one line that quotes the
// input and says what was wanted.
func TestParseThresholdErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "no comparison"},
		{"p99(setup) 5ms", "no comparison"},
		{"p98(setup)<5ms", `unknown metric "p98(setup)"`},
		{"p99(dns)<5ms", `unknown metric "p99(dns)"`},
		{"latency<5ms", `unknown metric "latency"`},
		{"p99(setup)<5", `needs a duration such as 5ms, got "5"`},
		{"p99(setup)<", `needs a duration`},
		{"p99(setup)<>5ms", `needs a duration`},
		{"p99(setup)<300000h", "out of range"},
		{"errors<lots", `"lots" is not a number`},
		{"errors<0.1%%", `is not a number`},
		{"errors<NaN", `is not a number`},
		{"errors<1e999%", `is not a number`},
		{"rate(cycles)>fast", `needs cycles per second`},
		{"rate(bytes)>50XB/s", `needs bytes per second`},
		{"pa sv:errors<1", `mode "pa sv"`},
		{":errors<1", `mode ""`},
	} {
		_, err := ParseThreshold(tc.in)
		if err == nil {
			t.Errorf("%q parsed", tc.in)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, "threshold "+quote(tc.in)) || strings.Contains(msg, "\n") {
			t.Errorf("%q: error %q; want one line quoting the input and saying %q", tc.in, msg, tc.want)
		}
	}
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// TestCheckThresholds against the fixture, whose numbers the golden
// summary shows: pasv setup p99 250µs, 5 pasv cycles with 3 failures, …
func TestCheckThresholds(t *testing.T) {
	s := summarize(fixtureRecords())
	for _, tc := range []struct {
		expr     string
		pass     bool
		measured bool
		says     string
	}{
		{"pasv:p99(setup)<300us", true, true, "PASS pasv:p99(setup)<300µs: 250.0µs"},
		{"pasv:p99(setup)<250us", false, true, "FAIL"},
		{"pasv:p99(setup)<=250us", true, true, "PASS"},
		{"pasv:errors<50%", false, true, "60.00%"},
		{"pasv:errors<=3", true, true, "3"},
		{"errors>=7", true, true, "7"},
		{"before_eof<2", false, true, "2"},
		{"before_eof<30%", true, true, "28.57%"},
		{"min(race_gap)<0s", true, true, "-1.500ms"},
		{"rate(cycles)>2", true, true, "2.40/s"},
		{"rate(bytes)>1MB", false, true, "0.250 MB/s"},
		{"fxp:p50(setup)<1s", false, false, "not measured: no cycle reached"},
		{"eprt:errors<1%", true, true, "0.00%"},
		{"ftp:errors<1%", false, false, "not measured: no cycles of mode ftp"},
	} {
		th, err := ParseThreshold(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		r := th.Check(s)
		if r.Pass != tc.pass || r.Measured != tc.measured || !strings.Contains(r.String(), tc.says) {
			t.Errorf("%s: %q (pass %v, measured %v); want pass %v, measured %v, saying %q",
				tc.expr, r, r.Pass, r.Measured, tc.pass, tc.measured, tc.says)
		}
	}
	var ts []Threshold
	for _, e := range []string{"errors<100%", "p50(cycle)<1h"} {
		th, _ := ParseThreshold(e)
		ts = append(ts, th)
	}
	if _, pass := CheckThresholds(ts, s); !pass {
		t.Error("CheckThresholds failed passing thresholds")
	}
	th, _ := ParseThreshold("p50(cycle)<1ns")
	if res, pass := CheckThresholds(append(ts, th), s); pass || len(res) != 3 || res[2].Pass {
		t.Error("CheckThresholds passed a failing threshold")
	}
	if r := (Threshold{}).String(); r != "(invalid threshold)" {
		t.Errorf("zero Threshold prints %q", r)
	}
}

// FuzzParseThreshold: the parser never panics, its errors are one line,
// and what it accepts prints in a form that parses back to the same
// threshold.
func FuzzParseThreshold(f *testing.F) {
	for _, s := range []string{"p99(setup)<5ms", "pasv:errors<0.1%", "rate(bytes)>=50MiB/s", "rate(cycles)>1e3",
		"before_eof<=3", "max(race_gap)>-1.5ms", "errors<1e-300%", "rate(bytes)>0.1B"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		th, err := ParseThreshold(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") && !strings.Contains(s, "\n") {
				t.Fatalf("%q: multi-line error %q", s, err)
			}
			return
		}
		again, err := ParseThreshold(th.String())
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", s, th, err)
		}
		if again != th {
			t.Fatalf("%q printed as %q parses to %#v, want %#v", s, th, again, th)
		}
	})
}
