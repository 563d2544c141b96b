package loadgen

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestParseNetrc(t *testing.T) {
	const file = `# a comment line
machine ftp.example.org login bench password s3cr3t
machine ftp.example.org
	login other
	password "two words \" and \\ quote"
	account acct   # trailing comment
macdef init
cd /pub
binary

machine [::1] login six password v6
default login anonymous password me@example.org
`
	n, err := ParseNetrc(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host, login string
		want        NetrcEntry
		ok          bool
	}{
		{"ftp.example.org", "", NetrcEntry{Machine: "ftp.example.org", Login: "bench", Password: "s3cr3t"}, true},
		{"FTP.Example.ORG", "bench", NetrcEntry{Machine: "ftp.example.org", Login: "bench", Password: "s3cr3t"}, true},
		{"ftp.example.org", "other", NetrcEntry{Machine: "ftp.example.org", Login: "other", Password: `two words " and \ quote`, Account: "acct"}, true},
		{"[::1]", "", NetrcEntry{Machine: "[::1]", Login: "six", Password: "v6"}, true},
		{"elsewhere", "", NetrcEntry{Default: true, Login: "anonymous", Password: "me@example.org"}, true},
		{"ftp.example.org", "nobody", NetrcEntry{}, false},
	} {
		got, ok := n.Lookup(tc.host, tc.login)
		if ok != tc.ok || got != tc.want {
			t.Errorf("Lookup(%q, %q) = %+v, %v; want %+v, %v", tc.host, tc.login, got, ok, tc.want, tc.ok)
		}
	}
	if _, ok := (&Netrc{}).Lookup("h", ""); ok {
		t.Error("an empty netrc has an entry")
	}
}

// TestParseNetrcErrors: each error names the line and the problem and
// quotes nothing from the file, which holds passwords.
func TestParseNetrcErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"login u password pw", "netrc line 1: login before any machine or default"},
		{"machine h\nlogin u\npassword", "netrc line 3: password has no value"},
		{"machine h login u\npassword \"open-secret", "netrc line 2: quoted token with no closing quote"},
		{"machine h login u passwd s3cr3t", "netrc line 1: unexpected token"},
		{"machine h login u password p w", "netrc line 1: unexpected token"},
		{"machine", "netrc line 1: machine has no value"},
		{strings.Repeat("#", maxNetrc+1), "larger than"},
	} {
		_, err := ParseNetrc(strings.NewReader(tc.in))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseNetrc(%.40q) error %v, want %q", tc.in, err, tc.want)
			continue
		}
		for _, secret := range []string{"s3cr3t", "open-secret", "pw", "p w"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("ParseNetrc(%q) error %q quotes the file", tc.in, err)
			}
		}
	}
}

// netrcErrorRE is every error ParseNetrc may return: fixed text and a line
// number, nothing from the file.
var netrcErrorRE = regexp.MustCompile(`^(netrc line [0-9]+: (quoted token with no closing quote|(machine|login|password|account|macdef) has no value|(login|password|account) before any machine or default|unexpected token \(want machine, default, login, password, account or macdef\))|netrc file larger than [0-9]+ bytes)$`)

// formatNetrc writes entries back as a netrc file, every value quoted.
func formatNetrc(entries []NetrcEntry) string {
	q := func(s string) string {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	var b strings.Builder
	for _, e := range entries {
		if e.Default {
			b.WriteString("default")
		} else {
			b.WriteString("machine " + q(e.Machine))
		}
		b.WriteString(" login " + q(e.Login) + " password " + q(e.Password) + " account " + q(e.Account) + "\n")
	}
	return b.String()
}

// FuzzParseNetrc: any file gives entries or an error that quotes nothing
// from it; entries written back (quoted) parse to the same entries.
func FuzzParseNetrc(f *testing.F) {
	for _, s := range []string{
		"machine h login u password p\n",
		"default login anonymous password x\n",
		"machine h\n\tlogin u\n\tpassword \"a \\\" b\"\n# c\nmacdef m\nx\n\nmachine i login v\n",
		"machine", "login x", "machine h password \"unterminated", "macdef m\r\nline\r\n\r\nmachine h",
		"\"\" \"\"", "machine \"\" login \"\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseNetrc(strings.NewReader(s))
		if err != nil {
			if !netrcErrorRE.MatchString(err.Error()) {
				t.Fatalf("ParseNetrc(%q) error %q is not one of the fixed messages", s, err)
			}
			return
		}
		again, err := ParseNetrc(strings.NewReader(formatNetrc(n.entries)))
		if err != nil || !slices.Equal(again.entries, n.entries) {
			t.Fatalf("ParseNetrc(%q) = %+v, written back and parsed: %+v, %v", s, n.entries, again, err)
		}
		for _, e := range n.entries {
			if got, ok := n.Lookup(e.Machine, e.Login); !ok || (!e.Default && !strings.EqualFold(got.Machine, e.Machine)) {
				t.Fatalf("Lookup(%q, %q) of %+v = %+v, %v", e.Machine, e.Login, n.entries, got, ok)
			}
		}
	})
}
