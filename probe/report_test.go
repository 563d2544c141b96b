package probe

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func sampleReport() *Report {
	return &Report{
		Target:   "ftp://anonymous@127.0.0.1:21/f",
		Greeting: "first line\nsecond line",
		Results: []Result{
			{ID: "pasv", Check: "PASV transfer", Verdict: Pass, Note: "transfer complete", Evidence: "1024 bytes"},
			{ID: "second-command", Check: "transfer command before 226 refused", Verdict: Fail, Note: "a | b", Evidence: "replies: 226 ok | 150 x\nmore"},
			{ID: "fxp", Check: "FXP to the second URL", Verdict: NA, Note: "no second URL", Evidence: "give a second URL"},
		},
		Elapsed: 1500 * time.Millisecond,
	}
}

// TestReportFormats: each format carries every result; Markdown cells
// escape what would split them; JSON keeps the field names.
func TestReportFormats(t *testing.T) {
	rep := sampleReport()
	var text, md, js bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"server: first line\n", "FAIL    transfer command before 226 refused  replies: 226 ok | 150 x / more\n", "1 PASS, 1 FAIL, 1 N/A in 1.5s\n"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	for _, want := range []string{"| FAIL | transfer command before 226 refused | a \\| b | replies: 226 ok \\| 150 x / more |\n", "| N/A | FXP to the second URL |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Results) != 3 || back.Results[1].Verdict != Fail || back.Results[1].Note != "a | b" || back.Elapsed != rep.Elapsed {
		t.Errorf("JSON round trip: %+v", back)
	}
	if !strings.Contains(js.String(), `"elapsed_ns": 1500000000`) || !strings.Contains(js.String(), `"verdict": "N/A"`) {
		t.Errorf("JSON field names:\n%s", js.String())
	}
}

func TestForeignAddr(t *testing.T) {
	for _, tc := range []struct{ local, peer, want string }{
		{"127.0.0.1", "127.0.0.1", "127.0.0.2"}, // loopback: client and server share an address
		{"127.0.0.1", "127.0.0.2", "127.0.0.3"}, // the simulation's hosts
		{"10.0.0.254", "10.0.0.1", "10.0.0.2"},  // wraps, skipping .0, .255 and the server
		{"::1", "::1", ""},                      // PORT is IPv4 only
	} {
		got, ok := foreignAddr(netip.MustParseAddr(tc.local), netip.MustParseAddr(tc.peer))
		if tc.want == "" {
			if ok {
				t.Errorf("foreignAddr(%s) = %s, want none", tc.local, got)
			}
			continue
		}
		if !ok || got.String() != tc.want {
			t.Errorf("foreignAddr(%s, %s) = %s, %v; want %s", tc.local, tc.peer, got, ok, tc.want)
		}
	}
}

// TestStable: notes drop what changes between runs of the same server.
func TestStable(t *testing.T) {
	for in, want := range map[string]string{
		"425 Could not open data connection to port 37869: Connection refused":                     "425 Could not open data connection to port N: Connection refused",
		"226 File successfully transferred\n0.000 seconds (measured here), 4.36 Mbytes per second": "226 File successfully transferred",
		"150 Data transfer starting 16777216 bytes":                                                "150 Data transfer starting N bytes",
		"501 Rejected data connection to foreign address 127.0.0.2:33595.":                         "501 Rejected data connection to foreign address 127.0.0.2:N.",
		"425 Use PORT or PASV first. (data: no data connection to 127.0.0.1:40831 within 2s)":      "425 Use PORT or PASV first.",
	} {
		if got := stable(in); got != want {
			t.Errorf("stable(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzStable: reply text is foreign input; a note is one line, and
// already stable.
func FuzzStable(f *testing.F) {
	for _, s := range []string{"425 No data connection", "226-a\n226 0.1 seconds", "200 (data: x)", "150 1234567890123 bytes"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := stable(s)
		if strings.Contains(n, "\n") || stable(n) != n || utf8.ValidString(s) && !utf8.ValidString(n) {
			t.Fatalf("stable(%q) = %q", s, n)
		}
	})
}
