package results

import (
	"math"
	"regexp"
	"strings"
	"testing"
)

// schemeRE is RFC 3986's scheme: a letter, then letters, digits, + - .
var schemeRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*$`)

// FuzzParsePercent: a tolerance parses to a finite fraction ≥ 0.
func FuzzParsePercent(f *testing.F) {
	for _, s := range []string{"5%", "5", " 0.5 % ", "-1%", "NaN", "inf", "1e309", "%", "", "5%%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParsePercent(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") && !strings.Contains(s, "\n") {
				t.Fatalf("%q: multi-line error %q", s, err)
			}
			return
		}
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("ParsePercent(%q) = %v", s, v)
		}
	})
}

// FuzzRedactCommand: whatever the rest of a URL looks like, RedactCommand
// removes its password, as a whole argument or as --flag=URL; arguments
// that are no URL with a password come back unchanged.
func FuzzRedactCommand(f *testing.F) {
	for _, s := range [][4]string{
		{"ftp", "u", "pw", "127.0.0.1:21/f"},
		{"ftp", "u", "p@ss:word", "h/f"},
		{"ftp", "u", "se cret", "h:bad/f"},
		{"ftp", "u", "%zz", "h/f"},
		{"http", "", "x", "h"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, scheme, user, pass, rest string) {
		const marker = "SeCrEt" // only in the password
		if !schemeRE.MatchString(scheme) || strings.ContainsAny(user, ":/?#@") ||
			strings.ContainsAny(pass, "/?#") || strings.Contains(scheme+user+rest, marker) {
			return // the marker would not be the password of a URL
		}
		u := scheme + "://" + user + ":" + marker + pass + "@" + rest
		plain := "--mode=pasv"
		got := RedactCommand([]string{"ftpbench", u, "--url=" + u, plain})
		for _, a := range got[1:3] {
			if strings.Contains(a, marker) {
				t.Fatalf("RedactCommand(%q) = %q: the password is still there", u, got)
			}
		}
		if got[0] != "ftpbench" || got[3] != plain {
			t.Fatalf("RedactCommand changed arguments with no URL: %q", got)
		}
	})
}
