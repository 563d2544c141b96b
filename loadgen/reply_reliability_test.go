package loadgen

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"
)

// countingReader yields 'x' for ever, counting what it gave.
type countingReader struct{ n int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	c.n += int64(len(p))
	return len(p), nil
}

// TestReplyReaderStopsAtTheCap: a server that sends a reply line without
// end makes the user-PI read at most the cap (and one buffer) before it
// gives up with ErrReplyTooLong.
func TestReplyReaderStopsAtTheCap(t *testing.T) {
	src := &countingReader{}
	_, _, err := newReplyReader(io.MultiReader(&prefixReader{s: "220 "}, src)).readReply()
	if !errors.Is(err, ErrReplyTooLong) {
		t.Fatalf("endless reply: %v, want ErrReplyTooLong", err)
	}
	if src.n > maxReply+4096 {
		t.Errorf("read %d bytes of an endless reply, want at most %d", src.n, maxReply+4096)
	}
}

// prefixReader yields s once.
type prefixReader struct{ s string }

func (p *prefixReader) Read(b []byte) (int, error) {
	if p.s == "" {
		return 0, io.EOF
	}
	n := copy(b, p.s)
	p.s = p.s[n:]
	return n, nil
}

// TestReplyCutShortIsAnError: a reply whose last line a read error cuts
// short is an error wrapping that read error, not a reply: otherwise
// "226 Transf" followed by the control connection's deadline (a trickling
// server, the trickle fault) counts as a transfer that succeeded, and the
// rest of the line answers the next command. A whole reply delivered with
// the error in the same read is still a reply.
func TestReplyCutShortIsAnError(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    io.Reader
		err  error // nil: the reply 226 "Transfer complete."
	}{
		{"deadline mid-line", io.MultiReader(strings.NewReader("226 Transf"), iotest.ErrReader(os.ErrDeadlineExceeded)), os.ErrDeadlineExceeded},
		// Not a "short response" protocol error: the server was slow, the
		// reply is not known to be malformed.
		{"deadline within the code", io.MultiReader(strings.NewReader("22"), iotest.ErrReader(os.ErrDeadlineExceeded)), os.ErrDeadlineExceeded},
		{"deadline before the separator", io.MultiReader(strings.NewReader("226"), iotest.ErrReader(os.ErrDeadlineExceeded)), os.ErrDeadlineExceeded},
		{"EOF mid-line", strings.NewReader("226 Transf"), io.EOF},
		{"deadline mid multi-line reply", io.MultiReader(strings.NewReader("226-Transfer\r\n complete."), iotest.ErrReader(os.ErrDeadlineExceeded)), os.ErrDeadlineExceeded},
		{"overlong line in small reads", iotest.HalfReader(strings.NewReader("226 " + strings.Repeat("x", maxReply+1000) + "\r\n")), ErrReplyTooLong},
		{"whole reply with EOF in the same read", iotest.DataErrReader(strings.NewReader("226 Transfer complete.\r\n")), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, text, err := newReplyReader(tc.r).readReply()
			if tc.err == nil {
				if err != nil || code != 226 || text != "Transfer complete." {
					t.Errorf("got %d %q, %v; want 226 %q", code, text, err, "Transfer complete.")
				}
				return
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("got %d %q, %v; want an error wrapping %v", code, text, err, tc.err)
			}
		})
	}
}
