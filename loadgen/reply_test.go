package loadgen

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"ftpbench/internal/ftpaddr"
)

// transcriptReplies turns the S: lines of a recorded real-server transcript
// (testdata/transcripts) back into wire bytes, and lists the reply codes a
// correct reader must see: one per reply, a multi-line reply counting once.
func transcriptReplies(t *testing.T, path string) (wire string, codes []int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	inMulti := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "S: ")
		if !ok {
			continue
		}
		line = strings.ReplaceAll(strings.ReplaceAll(line, `\r`, "\r"), `\n`, "\n")
		b.WriteString(line)
		body := strings.TrimRight(line, "\r\n")
		switch {
		case inMulti != "":
			if strings.HasPrefix(body, inMulti+" ") {
				inMulti = ""
			}
		case len(body) >= 4 && body[3] == '-':
			inMulti = body[:3]
			code, _ := strconv.Atoi(body[:3])
			codes = append(codes, code)
		default:
			code, _ := strconv.Atoi(body[:3])
			codes = append(codes, code)
		}
	}
	return b.String(), codes
}

// TestReplyReaderOnRealTranscripts reads every reply that five real servers
// sent, multi-line greetings and 226s included, and parses every 227 and
// 229 address they announced.
func TestReplyReaderOnRealTranscripts(t *testing.T) {
	paths, _ := filepath.Glob("testdata/transcripts/*.txt")
	if len(paths) < 5 {
		t.Fatalf("want 5 transcripts, have %d", len(paths))
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			wire, codes := transcriptReplies(t, p)
			rr := newReplyReader(strings.NewReader(wire))
			passive := 0
			for i, want := range codes {
				code, text, err := rr.readReply()
				if err != nil || code != want {
					t.Fatalf("reply %d: got %d %q, %v; want code %d", i, code, text, err, want)
				}
				switch code {
				case 227:
					ap, err := ftpaddr.Parse227(text)
					if err != nil || ap.Addr().String() != "127.0.0.1" || ap.Port() < 1024 {
						t.Errorf("227 %q parsed as %v, %v", text, ap, err)
					}
					passive++
				case 229:
					port, err := ftpaddr.Parse229(text)
					if err != nil || port < 1024 {
						t.Errorf("229 %q parsed as %v, %v", text, port, err)
					}
					passive++
				}
			}
			if passive < 2 {
				t.Errorf("only %d passive replies parsed", passive)
			}
			if _, _, err := rr.readReply(); err == nil {
				t.Errorf("reader found a reply after the transcript's last")
			}
		})
	}
}

func TestReplyReaderLimits(t *testing.T) {
	for _, tc := range []struct {
		name, wire string
		code       int
		text       string
		err        error
	}{
		{name: "single", wire: "220 ready\r\n", code: 220, text: "ready"},
		{name: "bare LF", wire: "226 done\n", code: 226, text: "done"},
		{name: "multi", wire: "211-Features:\r\n EPSV\r\n211 End\r\n", code: 211, text: "Features:\n EPSV\nEnd"},
		{name: "overlong line", wire: "220 " + strings.Repeat("x", maxReply+10) + "\r\n", err: ErrReplyTooLong},
		{name: "endless multi", wire: "220-hi\r\n" + strings.Repeat("still talking\r\n", maxReply/10), err: ErrReplyTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, text, err := newReplyReader(strings.NewReader(tc.wire)).readReply()
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || code != tc.code || text != tc.text {
				t.Fatalf("got %d %q %v, want %d %q", code, text, err, tc.code, tc.text)
			}
		})
	}
}

// FuzzReadReply feeds arbitrary bytes to the reply reader: any input gives
// replies or an error, never a panic, and never a reply over the cap.
func FuzzReadReply(f *testing.F) {
	paths, _ := filepath.Glob("testdata/transcripts/*.txt")
	for _, p := range paths {
		t := &testing.T{}
		wire, _ := transcriptReplies(t, p)
		f.Add([]byte(wire))
	}
	f.Add([]byte("226\r\n"))
	f.Add([]byte("22x text\r\n"))
	f.Add([]byte("211-a\r\n211-b\r\n"))
	f.Fuzz(func(t *testing.T, wire []byte) {
		rr := newReplyReader(strings.NewReader(string(wire)))
		for range 100 {
			code, text, err := rr.readReply()
			if err != nil {
				return
			}
			if code < 100 || code > 999 || len(text) > maxReply {
				t.Fatalf("reply %d with %d bytes of text", code, len(text))
			}
		}
	})
}

// TestOneLineReplyAllocs: a one-line reply costs one allocation, its text
// (textproto's ReadResponse makes three), and none when the same text
// came last time with that code, as 150 and 226 do every cycle.
func TestOneLineReplyAllocs(t *testing.T) {
	for _, tc := range []struct {
		name string
		text func(i int) string
		want float64
	}{
		{"repeated", func(int) string { return "Transfer complete." }, 0},
		{"changing", func(i int) string { return fmt.Sprintf("Entering Passive Mode (127,0,0,1,%d,%d).", i/256, i%256) }, 1},
	} {
		const n = 600
		texts := make([]string, n)
		var wire strings.Builder
		for i := range texts {
			texts[i] = tc.text(i)
			fmt.Fprintf(&wire, "227 %s\r\n", texts[i])
		}
		rr := newReplyReader(strings.NewReader(wire.String()))
		i := 0
		allocs := testing.AllocsPerRun(500, func() {
			code, text, err := rr.readReply()
			if code != 227 || text != texts[i] || err != nil {
				t.Fatalf("%s: readReply = %d %q %v, want 227 %q", tc.name, code, text, err, texts[i])
			}
			i++
		})
		if allocs != tc.want {
			t.Errorf("%s: %.1f allocations per reply, want %.0f", tc.name, allocs, tc.want)
		}
	}
}
