package loadgen

import (
	"bytes"
	"io"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// Fuzz targets for the loadgen parsers of foreign input (URLs, sizes,
// segments, modes, replies cut short; --stages in pacer_test.go, netrc
// files in netrc_test.go). Seeds are
// the f.Add calls; crashers go to testdata/fuzz. .ci/fuzz.sh runs each
// for a few seconds.

// FuzzParseTarget: any string gives a Target or an error, never a panic; a
// Target has a usable address and path; neither the error nor the
// Target's String ever shows the URL's password.
func FuzzParseTarget(f *testing.F) {
	for _, s := range [][4]string{
		{"u", "pw", "127.0.0.1:2121", "1k.bin"},
		{"", "", "example.org", "pub/f"},
		{"anonymous", "", "[::1]:21", "f"},
		{"u", "p w", "h:bad", "f"},
		{"u", "%zz", "h", "f"},
		{"u@x", "pw", "h:0", ""},
		{"u", "pw", "h:99999", "f?x=1"},
		{"u", "pw", "h", "f#frag"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, user, pass, host, path string) {
		const marker = "SeCrEt" // only in the password
		raw := "ftp://" + user + ":" + marker + pass + "@" + host + "/" + path
		// Only a password that stays one: delimiters in the other parts
		// move it elsewhere in the URL, where printing it is no leak.
		inPassword := !strings.ContainsAny(user, ":/?#@") && !strings.ContainsAny(host, "/?#@") && !strings.ContainsAny(pass, "/?#") &&
			!strings.Contains(user+host+path, marker)
		tg, err := ParseTarget(raw)
		if err != nil {
			if inPassword && strings.Contains(err.Error(), marker) {
				t.Fatalf("ParseTarget(%q) error %q shows the password", raw, err)
			}
			return
		}
		if !inPassword {
			return
		}
		if tg.Password != marker+pass {
			if p, uerr := url.PathUnescape(marker + pass); uerr != nil || tg.Password != p {
				t.Fatalf("ParseTarget(%q).Password = %q", raw, tg.Password)
			}
		}
		if s := tg.String(); strings.Contains(s, marker) {
			t.Fatalf("Target.String() = %q shows the password", s)
		}
		_, port, ok := strings.Cut(tg.Addr[strings.LastIndex(tg.Addr, "]")+1:], ":")
		if p, err := strconv.Atoi(port); !ok || err != nil || p < 1 || p > 65535 {
			t.Fatalf("ParseTarget(%q).Addr = %q: no port in 1..65535", raw, tg.Addr)
		}
		if tg.Path == "" || tg.Path == "/" {
			t.Fatalf("ParseTarget(%q).Path = %q", raw, tg.Path)
		}
	})
}

// FuzzParseSize: a size parses to a byte count in 0…2⁶², which parses
// back from its decimal form; anything else is an error naming the input.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "65536", "64k", "64KiB", "1MB", " 2GiB ", "512b", "", "k", "-1", "+5", "1.5M", "9999999999999G", "4611686018427387904", "0x10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			if !strings.Contains(err.Error(), strconv.Quote(s)) {
				t.Fatalf("ParseSize(%q) error %q does not name the input", s, err)
			}
			return
		}
		if n < 0 || n > 1<<62 {
			t.Fatalf("ParseSize(%q) = %d, out of range", s, n)
		}
		if back, err := ParseSize(strconv.FormatInt(n, 10)); err != nil || back != n {
			t.Fatalf("ParseSize(%q) = %d, which parses back as %d, %v", s, n, back, err)
		}
	})
}

// FuzzParseSegment: "i/N" parses to 0 ≤ i < N and prints back the same.
func FuzzParseSegment(f *testing.F) {
	for _, s := range []string{"0/4", "3/4", " 1 / 2 ", "4/4", "-1/2", "0/0", "1", "a/b", "0/9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		seg, err := ParseSegment(s)
		if err != nil {
			return
		}
		if seg.Index < 0 || seg.Index >= seg.Count || seg.validate() != nil {
			t.Fatalf("ParseSegment(%q) = %+v", s, seg)
		}
		if again, err := ParseSegment(seg.String()); err != nil || again != seg {
			t.Fatalf("ParseSegment(%q) = %+v printed %q, parsed back as %+v, %v", s, seg, seg.String(), again, err)
		}
	})
}

// FuzzParseModes: a mode list parses to known modes only.
func FuzzParseModes(f *testing.F) {
	for _, s := range []string{"pasv,port", "pasv, PORT,epsv,eprt", "active", "", ",", "pasv,,port"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		modes, err := ParseModes(s)
		if err != nil {
			return
		}
		for _, m := range modes {
			if !slices.Contains(allModes, m) {
				t.Fatalf("ParseModes(%q) gave unknown mode %q", s, m)
			}
		}
	})
}

// readAllReplies reads replies from r until the first error.
func readAllReplies(r io.Reader) (codes []int, texts []string) {
	rr := newReplyReader(r)
	for range 1000 {
		code, text, err := rr.readReply()
		if err != nil {
			break
		}
		codes, texts = append(codes, code), append(texts, text)
	}
	return codes, texts
}

// FuzzReadReplyCut cuts a reply stream at any point and ends it there with
// a read error (a deadline, the peer's close): the replies read from the
// cut stream must be the first ones read from the whole stream. A reply
// cut short ("226 Transf" and then the deadline) must be an error, never a
// reply.
func FuzzReadReplyCut(f *testing.F) {
	for _, s := range []string{
		"226 Transfer complete.\r\n",
		"150 Opening.\r\n226 Transfer complete.\r\n",
		"211-Features:\r\n EPSV\r\n211 End\r\n",
		"227 Entering Passive Mode (127,0,0,1,200,10).\r\n",
		"226 done\n220-a\n220 b\n",
	} {
		for _, cut := range []int{0, 3, 4, len(s) / 2, len(s) - 2, len(s) - 1, len(s)} {
			f.Add([]byte(s), cut, false)
		}
	}
	f.Add([]byte("220 ready\r\n"), 6, true)
	f.Fuzz(func(t *testing.T, wire []byte, cut int, eof bool) {
		if cut < 0 || cut > len(wire) {
			return
		}
		fullCodes, fullTexts := readAllReplies(strings.NewReader(string(wire)))
		end := iotest.ErrReader(os.ErrDeadlineExceeded)
		if eof {
			end = strings.NewReader("")
		}
		codes, texts := readAllReplies(io.MultiReader(strings.NewReader(string(wire[:cut])), end))
		if len(codes) > len(fullCodes) || !slices.Equal(codes, fullCodes[:len(codes)]) || !slices.Equal(texts, fullTexts[:len(texts)]) {
			t.Fatalf("cut at %d of %q: replies %v %q, want a prefix of %v %q", cut, wire, codes, texts, fullCodes, fullTexts)
		}
	})
}

// TestParseTargetErrorsHideThePassword: url.Parse quotes a bad %-escape,
// which may be in the password; ParseTarget's error does not.
func TestParseTargetErrorsHideThePassword(t *testing.T) {
	_, err := ParseTarget("ftp://u:se%zzcret@h/f")
	if err == nil || strings.Contains(err.Error(), "%zz") || !strings.Contains(err.Error(), "bad URL: invalid %-escape") {
		t.Errorf("error %v: want %q without the escape", err, "bad URL: invalid %-escape")
	}
}

// chunkReader returns at most n bytes per Read, so replies arrive in
// pieces as they may over TCP.
type chunkReader struct {
	r io.Reader
	n int
}

func (c chunkReader) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}

// FuzzOneLineReplyAgrees: readReply (with its one-line fast path) reads
// the same replies as readResponse (textproto alone), over the same bytes
// arriving in pieces of any size, up to the first error.
func FuzzOneLineReplyAgrees(f *testing.F) {
	for _, s := range []string{
		"220 ready\r\n331 pass\r\n230 in\r\n",
		"227 Entering Passive Mode (127,0,0,1,200,10).\r\n150 ok\r\n226 done\n",
		"211-Features:\r\n EPSV\r\n211 End\r\n200 x\r\n",
		"099 low\r\n", "22x bad\r\n", "226\r\n", "226 \r\n", "226  two\r\r\n", "2260 x\r\n",
		"+12 x\r\n", "226 a\x00b\r\n", "226 unterminated",
	} {
		f.Add([]byte(s), uint8(1))
		f.Add([]byte(s), uint8(7))
		f.Add([]byte(s), uint8(255))
	}
	f.Fuzz(func(t *testing.T, wire []byte, chunk uint8) {
		n := int(chunk)%64 + 1
		got := newReplyReader(chunkReader{bytes.NewReader(wire), n})
		want := newReplyReader(chunkReader{bytes.NewReader(wire), n})
		for range 100 {
			code, text, err := got.readReply()
			want.limit.n, want.limit.err = maxReply, nil
			wcode, wtext, werr := want.readResponse()
			if (err != nil) != (werr != nil) {
				t.Fatalf("%q: replyReader %d %q %v, ReadResponse %d %q %v", wire, code, text, err, wcode, wtext, werr)
			}
			if err != nil {
				return
			}
			if code != wcode || text != wtext {
				t.Fatalf("%q: replyReader %d %q, ReadResponse %d %q", wire, code, text, wcode, wtext)
			}
		}
	})
}
