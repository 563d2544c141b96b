package ftpaddr

import (
	"errors"
	"net/netip"
	"testing"
)

func TestParse227(t *testing.T) {
	for _, tc := range []struct {
		text string
		want string
		bad  bool
	}{
		// Verbatim from vsftpd, proftpd, pure-ftpd, pyftpdlib, goftp (testdata of loadgen).
		{text: "Entering Passive Mode (127,0,0,1,93,172).", want: "127.0.0.1:23980"},
		{text: "Entering passive mode (127,0,0,1,228,21).", want: "127.0.0.1:58389"},
		{text: "Entering Passive Mode (127,0,0,1,156,25)", want: "127.0.0.1:39961"},
		{text: "=127,0,0,1,4,1", want: "127.0.0.1:1025"}, // RFC 1123: parentheses optional
		{text: "Entering Passive Mode (256,0,0,1,4,1)", bad: true},
		{text: "Entering Passive Mode (127,0,0,1,4)", bad: true},
		{text: "Entering Passive Mode (127,0,0,1,4,1,9)", bad: true},
		{text: "Entering Passive Mode (127,0,0,1,,1)", bad: true},
		{text: "Entering Passive Mode", bad: true},
		{text: "(0127,0,0,1,4,1)", bad: true},
	} {
		ap, err := Parse227(tc.text)
		if tc.bad {
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("Parse227(%q) = %v, %v; want ErrSyntax", tc.text, ap, err)
			}
			continue
		}
		if err != nil || ap.String() != tc.want {
			t.Errorf("Parse227(%q) = %v, %v; want %s", tc.text, ap, err, tc.want)
		}
	}
}

func TestParse229(t *testing.T) {
	for _, tc := range []struct {
		text string
		want uint16
		bad  bool
	}{
		{text: "Entering Extended Passive Mode (|||26022|)", want: 26022},
		{text: "Extended Passive mode OK (|||25156|)", want: 25156},
		{text: "Entering extended passive mode (|||48855|).", want: 48855},
		{text: "Entering Extended Passive Mode (!!!1025!)", want: 1025},
		{text: "Entering Extended Passive Mode (|||0|)", bad: true},
		{text: "Entering Extended Passive Mode (|||65536|)", bad: true},
		{text: "Entering Extended Passive Mode (||1025|)", bad: true},
		{text: "Entering Extended Passive Mode (|!|1025|)", bad: true},
		{text: "Entering Extended Passive Mode |||1025|", bad: true},
		{text: "Entering Extended Passive Mode (|||+25|)", bad: true},
	} {
		port, err := Parse229(tc.text)
		if tc.bad {
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("Parse229(%q) = %v, %v; want ErrSyntax", tc.text, port, err)
			}
			continue
		}
		if err != nil || port != tc.want {
			t.Errorf("Parse229(%q) = %v, %v; want %d", tc.text, port, err, tc.want)
		}
	}
}

func TestParseEPRT(t *testing.T) {
	for _, tc := range []struct {
		arg  string
		want string
		bad  bool
	}{
		{arg: "|1|127.0.0.1|43557|", want: "127.0.0.1:43557"},
		{arg: "|2|::1|2121|", want: "[::1]:2121"},
		{arg: "!1!10.0.0.1!21!", want: "10.0.0.1:21"},
		{arg: "|1|::1|2121|", bad: true},
		{arg: "|2|127.0.0.1|2121|", bad: true},
		{arg: "|3|127.0.0.1|2121|", bad: true},
		{arg: "|1|127.0.0.1|0|", bad: true},
		{arg: "|1|127.0.0.1|2121", bad: true},
		{arg: "|1|127.0.0.1|21|21|", bad: true},
		{arg: "|2|fe80::1%eth0|21|", bad: true},
	} {
		ap, err := ParseEPRT(tc.arg)
		if tc.bad {
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("ParseEPRT(%q) = %v, %v; want ErrSyntax", tc.arg, ap, err)
			}
			continue
		}
		if err != nil || ap.String() != tc.want {
			t.Errorf("ParseEPRT(%q) = %v, %v; want %s", tc.arg, ap, err, tc.want)
		}
	}
}

func TestRoundTrips(t *testing.T) {
	for _, s := range []string{"127.0.0.1:1", "10.1.2.3:65535", "0.0.0.0:256"} {
		ap := netip.MustParseAddrPort(s)
		hp, err := FormatHostPort(ap)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseHostPort(hp)
		if err != nil || back != ap {
			t.Errorf("PORT round trip %s → %q → %v, %v", ap, hp, back, err)
		}
		back, err = ParseEPRT(FormatEPRT(ap))
		if err != nil || back != ap {
			t.Errorf("EPRT round trip %s → %v, %v", ap, back, err)
		}
		port, err := Parse229(Format229(ap.Port()))
		if err != nil || port != ap.Port() {
			t.Errorf("229 round trip %d → %d, %v", ap.Port(), port, err)
		}
	}
	if _, err := FormatHostPort(netip.MustParseAddrPort("[::1]:21")); err == nil {
		t.Error("FormatHostPort accepted IPv6")
	}
}

func FuzzParseHostPort(f *testing.F) {
	for _, s := range []string{"127,0,0,1,93,172", "1,2,3", "127,0,0,1,222,87", ",,,,,", "255,255,255,255,255,255"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ap, err := ParseHostPort(s)
		if err != nil {
			return
		}
		hp, err := FormatHostPort(ap)
		if err != nil {
			t.Fatalf("%q parsed to %v which does not format: %v", s, ap, err)
		}
		if back, err := ParseHostPort(hp); err != nil || back != ap {
			t.Fatalf("%q → %v → %q → %v, %v", s, ap, hp, back, err)
		}
	})
}

func FuzzParse227(f *testing.F) {
	f.Add("Entering Passive Mode (127,0,0,1,93,172).")
	f.Add("=1,2,3,4,5,6")
	f.Fuzz(func(t *testing.T, s string) {
		if ap, err := Parse227(s); err == nil && !ap.Addr().Is4() {
			t.Fatalf("%q gave non-IPv4 %v", s, ap)
		}
	})
}

func FuzzParse229(f *testing.F) {
	f.Add("Entering Extended Passive Mode (|||26022|)")
	f.Add("(|||1|)")
	f.Fuzz(func(t *testing.T, s string) {
		if port, err := Parse229(s); err == nil && port == 0 {
			t.Fatalf("%q gave port 0", s)
		}
	})
}

func FuzzParseEPRT(f *testing.F) {
	f.Add("|1|127.0.0.1|43557|")
	f.Add("|2|::1|21|")
	f.Fuzz(func(t *testing.T, s string) {
		ap, err := ParseEPRT(s)
		if err != nil {
			return
		}
		if back, err := ParseEPRT(FormatEPRT(ap)); err != nil || back != ap {
			t.Fatalf("%q → %v → %v, %v", s, ap, back, err)
		}
	})
}
