package sim

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseEnd(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want End
		str  string // String() of the result; "" means in
		err  string // substring of the error; "" means no error
	}{
		{in: "close-then-226", want: End{Kind: EndCloseThen226}},
		{in: "226-then-close", want: End{Kind: End226ThenClose}},
		{in: "226-before-flush", want: End{Kind: End226BeforeFlush}},
		{in: "226-before-flush:4KiB", want: End{Kind: End226BeforeFlush, Tail: 4096}},
		{in: "226-before-flush:100", want: End{Kind: End226BeforeFlush, Tail: 100}},
		{in: "226-before-flush:1m", want: End{Kind: End226BeforeFlush, Tail: 1 << 20}, str: "226-before-flush:1MiB"},
		{in: "delayed-close:50ms", want: End{Kind: EndDelayedClose, Delay: 50 * time.Millisecond}},
		{in: "delayed-close:1.5s", want: End{Kind: EndDelayedClose, Delay: 1500 * time.Millisecond}},
		{in: "delayed-close:0s", want: End{Kind: EndDelayedClose}},
		{in: "close-then-250", want: End{Kind: EndCloseThen250}},
		{in: "226-after-client-close", want: End{Kind: End226AfterClientClose}},
		{in: "no-final-reply", want: End{Kind: EndNoFinalReply}},
		{in: " Delayed-Close : 50ms ", want: End{Kind: EndDelayedClose, Delay: 50 * time.Millisecond}, str: "delayed-close:50ms"},
		{in: "close-then-227", err: `"close-then-227": unknown`},
		{in: "", err: `"": unknown`},
		{in: "delayed-close", err: "needs a duration"},
		{in: "delayed-close:", err: "needs a duration"},
		{in: "delayed-close:soon", err: `duration "soon"`},
		{in: "delayed-close:-1s", err: "negative"},
		{in: "close-then-226:1s", err: "takes no parameter"},
		{in: "226-before-flush:0", err: "at least 1 byte"},
		{in: "226-before-flush:lots", err: `"226-before-flush:lots"`},
	} {
		got, err := ParseEnd(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseEnd(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseEnd(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		str := tc.str
		if str == "" {
			str = tc.in
		}
		if got.String() != str {
			t.Errorf("ParseEnd(%q).String() = %q, want %q", tc.in, got.String(), str)
		}
	}
}

func TestParseEndMix(t *testing.T) {
	d50 := End{Kind: EndDelayedClose, Delay: 50 * time.Millisecond}
	for _, tc := range []struct {
		in   string
		want EndMix
		str  string
		err  string
	}{
		{in: "close-then-226", want: EndMix{{End{Kind: EndCloseThen226}, 1}}},
		{in: "close-then-226=0.9,226-then-close=0.1", want: EndMix{{End{Kind: EndCloseThen226}, 0.9}, {End{Kind: End226ThenClose}, 0.1}}},
		{in: "close-then-226=9, delayed-close:50ms=1", want: EndMix{{End{Kind: EndCloseThen226}, 9}, {d50, 1}}, str: "close-then-226=9,delayed-close:50ms=1"},
		{in: "close-then-226,close-then-250", want: EndMix{{End{Kind: EndCloseThen226}, 1}, {End{Kind: EndCloseThen250}, 1}}, str: "close-then-226=1,close-then-250=1"},
		{in: "no-final-reply=3", want: EndMix{{End{Kind: EndNoFinalReply}, 3}}},
		{in: "close-then-226=1,no-final-reply=0", want: EndMix{{End{Kind: EndCloseThen226}, 1}, {End{Kind: EndNoFinalReply}, 0}}},
		{in: "close-then-226=0.9,bogus=0.1", err: `end behaviour "bogus": unknown`},
		{in: "close-then-226=x", err: `end behaviour "close-then-226=x": weight "x"`},
		{in: "close-then-226=-1", err: `weight "-1"`},
		{in: "close-then-226=NaN", err: `weight "NaN"`},
		{in: "close-then-226=inf", err: `weight "inf"`},
		{in: "close-then-226=0", err: "positive"},
		{in: "close-then-226,", err: "empty entry"},
		{in: "", err: "empty entry"},
		{in: "delayed-close=0.5", err: "needs a duration"},
	} {
		got, err := ParseEndMix(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseEndMix(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseEndMix(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		str := tc.str
		if str == "" {
			str = tc.in
		}
		if got.String() != str {
			t.Errorf("ParseEndMix(%q).String() = %q, want %q", tc.in, got.String(), str)
		}
	}
	if s := EndMix(nil).String(); s != "close-then-226" {
		t.Errorf("zero EndMix prints %q", s)
	}
}

func TestParseFaults(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want FaultMix
		str  string
		err  string
	}{
		{in: "", want: nil, str: "none"},
		{in: "none", want: nil},
		{in: "refuse-data", want: FaultMix{{Fault{Kind: FaultRefuseData}, 1}}},
		{in: "refuse-data=0.05,reset-mid-transfer=0.01", want: FaultMix{{Fault{Kind: FaultRefuseData}, 0.05}, {Fault{Kind: FaultResetMidTransfer}, 0.01}}},
		{in: "late-listen:100ms=0.5,slow-accept:2s=0.5", want: FaultMix{{Fault{FaultLateListen, 100 * time.Millisecond}, 0.5}, {Fault{FaultSlowAccept, 2 * time.Second}, 0.5}}},
		{in: "refuse-data=0.1,reset-mid-transfer=0.2,slow-accept:1s=0.7", want: FaultMix{{Fault{Kind: FaultRefuseData}, 0.1}, {Fault{Kind: FaultResetMidTransfer}, 0.2}, {Fault{FaultSlowAccept, time.Second}, 0.7}}},
		{in: "refuse-data=0.6,reset-mid-transfer=0.6", err: "more than 1"},
		{in: "refuse-data=1.5", err: `fault "refuse-data=1.5": a probability is at most 1`},
		{in: "hang", want: FaultMix{{Fault{Kind: FaultHang}, 1}}},
		{in: "garbage-reply=0.1,drop-control=0.2,421=0.3", want: FaultMix{{Fault{Kind: FaultGarbageReply}, 0.1}, {Fault{Kind: FaultDropControl}, 0.2}, {Fault{Kind: Fault421}, 0.3}}},
		{in: "trickle:100ms=0.5", want: FaultMix{{Fault{FaultTrickle, 100 * time.Millisecond}, 0.5}}},
		{in: " Trickle : 1s ", want: FaultMix{{Fault{FaultTrickle, time.Second}, 1}}, str: "trickle:1s"},
		{in: "refuse-data=0.1,stall=0.1", err: `fault "stall": unknown`},
		{in: "trickle", err: "trickle needs a duration"},
		{in: "trickle:-1ms", err: "negative"},
		{in: "hang:1s", err: "hang takes no parameter"},
		{in: "421:x", err: "421 takes no parameter"},
		{in: "late-listen", err: "late-listen needs a duration"},
		{in: "slow-accept:x", err: `duration "x"`},
		{in: "refuse-data:1s", err: "takes no parameter"},
		{in: "refuse-data,,", err: "empty entry"},
	} {
		got, err := ParseFaults(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseFaults(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseFaults(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		str := tc.str
		if str == "" {
			str = tc.in
		}
		if got.String() != str {
			t.Errorf("ParseFaults(%q).String() = %q, want %q", tc.in, got.String(), str)
		}
	}
}

func TestParsePassivePorts(t *testing.T) {
	for in, want := range map[string][2]int{"50000-50009": {50000, 50009}, "2121": {2121, 2121}, " 1 - 65535 ": {1, 65535}} {
		if got, err := ParsePassivePorts(in); err != nil || got != want {
			t.Errorf("ParsePassivePorts(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0-10", "10-5", "1-65536", "a-b", "1-2-3"} {
		if got, err := ParsePassivePorts(in); err == nil {
			t.Errorf("ParsePassivePorts(%q) = %v, want an error", in, got)
		}
	}
}

// TestEndMixPicksByWeight checks that pick maps [0,1) onto the behaviours
// in proportion to their weights, skipping weight 0.
func TestEndMixPicksByWeight(t *testing.T) {
	m, err := ParseEndMix("close-then-226=3,no-final-reply=0,close-then-250=1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		u    float64
		want EndKind
	}{{0, EndCloseThen226}, {0.7499, EndCloseThen226}, {0.75, EndCloseThen250}, {0.99999, EndCloseThen250}} {
		if got := m.pick(tc.u).Kind; got != tc.want {
			t.Errorf("pick(%v) = %s, want %s", tc.u, got, tc.want)
		}
	}
	f, _ := ParseFaults("refuse-data=0.25,reset-mid-transfer=0.25")
	for _, tc := range []struct {
		u    float64
		want FaultKind
	}{{0, FaultRefuseData}, {0.3, FaultResetMidTransfer}, {0.5, ""}, {0.9, ""}} {
		if got := f.pick(tc.u).Kind; got != tc.want {
			t.Errorf("faults pick(%v) = %q, want %q", tc.u, got, tc.want)
		}
	}
}

// TestRaceDrawsRepeatWithTheSeed: the same seed gives the same sequence of
// draws, another seed another one, and the frequencies follow the mix.
func TestRaceDrawsRepeatWithTheSeed(t *testing.T) {
	ends, _ := ParseEndMix("close-then-226=0.5,226-then-close=0.3,delayed-close:50ms=0.2")
	faults, _ := ParseFaults("refuse-data=0.1,reset-mid-transfer=0.1")
	draws := func(seed uint64) []srvDraw {
		rs := newRaceState(RaceKnobs{End: ends, Faults: faults, Seed: seed}, nil, nil)
		out := make([]srvDraw, 1000)
		for i := range out {
			out[i] = rs.draw()
		}
		return out
	}
	a, b, c := draws(42), draws(42), draws(43)
	if !slices.Equal(a, b) {
		t.Error("seed 42 gave two different sequences")
	}
	if slices.Equal(a, c) {
		t.Error("seeds 42 and 43 gave the same sequence")
	}
	count := map[EndKind]int{}
	faulty := 0
	for _, d := range a {
		count[d.end.Kind]++
		if d.fault.Kind != "" {
			faulty++
		}
	}
	// 1000 draws: each share within ±6 percentage points (>4 sigma).
	for kind, want := range map[EndKind]int{EndCloseThen226: 500, End226ThenClose: 300, EndDelayedClose: 200} {
		if n := count[kind]; n < want-60 || n > want+60 {
			t.Errorf("%s drawn %d times of 1000, want about %d", kind, n, want)
		}
	}
	if faulty < 140 || faulty > 260 {
		t.Errorf("%d faults in 1000 draws, want about 200", faulty)
	}
}

// FuzzParseEndMix: whatever parses prints as a spec that parses back to
// the same mix and prints the same again.
func FuzzParseEndMix(f *testing.F) {
	for _, s := range []string{
		"close-then-226", "close-then-226=0.9,226-then-close=0.1", "delayed-close:50ms",
		"226-before-flush:4KiB=2,no-final-reply=1e-3", "226-after-client-close,close-then-250",
		"delayed-close:1h2m3.5s=0.25", "bogus", "=", ",", "delayed-close:=1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseEndMix(s)
		if err != nil {
			return
		}
		str := m.String()
		m2, err := ParseEndMix(str)
		if err != nil {
			t.Fatalf("ParseEndMix(%q) printed %q, which does not parse: %v", s, str, err)
		}
		if !slices.Equal(m, m2) || m2.String() != str {
			t.Fatalf("ParseEndMix(%q) = %+v printed %q, parsed back as %+v", s, m, str, m2)
		}
		for _, u := range []float64{0, 0.5, 0.999999} {
			if e := m.pick(u); e.Kind == "" {
				t.Fatalf("pick(%v) of %q gave no behaviour", u, str)
			}
		}
	})
}

// FuzzParseFaults: the same round trip for fault mixes, whose
// probabilities add up to at most 1.
func FuzzParseFaults(f *testing.F) {
	for _, s := range []string{
		"", "none", "refuse-data", "refuse-data=0.05,reset-mid-transfer=0.01",
		"late-listen:100ms=0.5,slow-accept:2s=0.5", "refuse-data=2", "hang", "late-listen:",
		"garbage-reply=0.1,drop-control=0.1,trickle:100ms=0.1,421=0.1", "trickle:", "421=1e-3",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseFaults(s)
		if err != nil {
			return
		}
		var total float64
		for _, fc := range m {
			total += fc.P
		}
		if total > 1+1e-9 {
			t.Fatalf("ParseFaults(%q) accepted probabilities adding up to %g", s, total)
		}
		str := m.String()
		m2, err := ParseFaults(str)
		if err != nil {
			t.Fatalf("ParseFaults(%q) printed %q, which does not parse: %v", s, str, err)
		}
		if !slices.Equal(m, m2) || m2.String() != str {
			t.Fatalf("ParseFaults(%q) = %+v printed %q, parsed back as %+v", s, m, str, m2)
		}
	})
}
