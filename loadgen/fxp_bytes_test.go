package loadgen

import (
	"strconv"
	"strings"
	"testing"
)

// TestTransferredBytes reads the byte counts real servers put in their
// final replies, and nothing from those that give none.
func TestTransferredBytes(t *testing.T) {
	for _, tc := range []struct {
		text string
		n    int64
		ok   bool
	}{
		{"Transfer complete (65536 bytes).", 65536, true},                                                  // sim
		{"OK, received 100000 bytes", 100000, true},                                                        // goftp STOR
		{"Closing data connection, sent 1024 bytes", 1024, true},                                           // goftp RETR
		{"Transfer complete.", 0, false},                                                                   // vsftpd, pyftpdlib
		{"File successfully transferred\n0.000 seconds (measured here), 4.36 Mbytes per second", 0, false}, // pure-ftpd
		{"Opening data connection for f (1024 Bytes)", 1024, true},
		{"sent 0 bytes", 0, true},
		{"1,024 bytes", 0, false},
		{"1.5 bytes", 0, false},
		{"12 bytesize", 0, false},
		{"99999999999999999999 bytes", 0, false},
		{"no count here, 7 bytes later", 7, true},
		{"", 0, false},
	} {
		n, ok := transferredBytes(tc.text)
		if n != tc.n || ok != tc.ok {
			t.Errorf("transferredBytes(%q) = %d, %v; want %d, %v", tc.text, n, ok, tc.n, tc.ok)
		}
	}
}

// FuzzTransferredBytes: reply text is foreign input. A count found is
// non-negative and is in the text, followed by "bytes".
func FuzzTransferredBytes(f *testing.F) {
	for _, s := range []string{"Transfer complete (65536 bytes).", "sent 1024 bytes", "4.36 Mbytes per second", "1,024 bytes", "0 bytes"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		n, ok := transferredBytes(text)
		if !ok {
			if n != 0 {
				t.Fatalf("no count but n = %d", n)
			}
			return
		}
		if n < 0 || !strings.Contains(strings.ToLower(text), strconv.FormatInt(n, 10)+" bytes") {
			t.Fatalf("transferredBytes(%q) = %d", text, n)
		}
	})
}
