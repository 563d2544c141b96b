package sim

import (
	"strconv"
	"testing"
)

// FuzzParsePassivePorts: a range parses to 1 ≤ LO ≤ HI ≤ 65535, and
// "LO-HI" parses back to the same range.
func FuzzParsePassivePorts(f *testing.F) {
	for _, s := range []string{"50000-50009", "2121", " 1 - 65535 ", "", "0-10", "10-5", "1-65536", "a-b", "1-2-3", "-5", "5-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParsePassivePorts(s)
		if err != nil {
			return
		}
		if r[0] < 1 || r[0] > r[1] || r[1] > 65535 {
			t.Fatalf("ParsePassivePorts(%q) = %v", s, r)
		}
		if again, err := ParsePassivePorts(strconv.Itoa(r[0]) + "-" + strconv.Itoa(r[1])); err != nil || again != r {
			t.Fatalf("ParsePassivePorts(%q) = %v, printed back: %v, %v", s, r, again, err)
		}
	})
}
