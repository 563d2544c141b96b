package sim

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/textproto"
	"strings"
	"syscall"
	"testing"
	"time"

	"ftpbench/loadgen"
)

// srvNoDialNet never connects anywhere: fuzzed PORT commands must not make
// the server dial real local ports.
type srvNoDialNet struct{ loadgen.TCP }

func (srvNoDialNet) Dial(context.Context, string) (net.Conn, error) {
	return nil, errors.New("connection refused (fuzz)")
}

// FuzzServerCommands sends arbitrary bytes as a control connection's
// commands. The server must not panic or hang, and everything it sends
// must parse as FTP replies, starting with 220.
func FuzzServerCommands(f *testing.F) {
	for _, seed := range []string{
		"USER bench\r\nPASS secret\r\nSYST\r\nFEAT\r\nTYPE I\r\nSIZE 1k.bin\r\nPASV\r\nRETR 1k.bin\r\nQUIT\r\n",
		"USER anonymous\r\nPASS ****\r\nPORT 127,0,0,1,222,87\r\nRETR 1k.bin\r\nEPSV\r\nSTOR x\r\n",
		"USER bench\r\nPASS secret\r\nEPRT |1|127.0.0.1|43557|\r\nRETR /no/such/file\r\nPORT 1,2,3\r\nXYZZY\r\nPASV\r\nABOR\r\nNOOP\r\nQUIT\r\n",
		"USER bench\nPASS secret\nEPSV ALL\nPASV\nEPSV 2\nEPRT |3|x|1|\nCWD ..\nCDUP\nPWD\n",
		"USER bench\r\nPASS secret\r\nNOOP " + strings.Repeat("x", 200) + "\r\nNOOP\r\n",
		"\xff\xf4\xff\xf2ABOR\r\n\r\n \r\nUSER\r\nPASS\r\nOPTS UTF8 ON\r\n",
		"USER bench\r\nPASS secret\r\nTYPE A N\r\nMODE B\r\nSTRU R\r\nSIZE /size/99999999999999999999\r\n",
		"\x00\x01\x02\r\r\r\n\n\nQUIT",
	} {
		f.Add([]byte(seed))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	s := NewServer(ServerConfig{
		Users:     srvTestUsers,
		Anonymous: true,
		Timeout:   100 * time.Millisecond,
		MaxLine:   64,
		Network:   srvNoDialNet{},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	f.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(srvTestBound):
			f.Error("Serve did not return")
		}
	})
	addr := ln.Addr().String()

	f.Fuzz(func(t *testing.T, in []byte) {
		// Bound the work: each command may wait Timeout for a data
		// connection.
		if len(in) > 2048 {
			in = in[:2048]
		}
		if i := srvNthIndex(in, '\n', 16); i >= 0 {
			in = in[:i+1]
		}
		c, err := net.DialTimeout("tcp", addr, srvTestBound)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(srvTestBound))
		if _, err := c.Write(in); err != nil {
			t.Fatal(err)
		}
		c.(*net.TCPConn).CloseWrite()
		r := textproto.NewReader(bufio.NewReader(c))
		for i := 0; ; i++ {
			code, msg, err := r.ReadResponse(0)
			if err != nil {
				if i > 0 && (err == io.EOF || errors.Is(err, syscall.ECONNRESET)) {
					return
				}
				t.Fatalf("reply %d: %v", i, err)
			}
			if i == 0 && code != 220 {
				t.Fatalf("greeting %d %q", code, msg)
			}
		}
	})
}

// srvNthIndex returns the index of the nth occurrence of b in p, or -1.
func srvNthIndex(p []byte, b byte, n int) int {
	off := 0
	for ; n > 0; n-- {
		i := bytes.IndexByte(p[off:], b)
		if i < 0 {
			return -1
		}
		off += i + 1
	}
	return off - 1
}
