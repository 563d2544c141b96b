package sim

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"ftpbench/internal/ftpaddr"
)

// TestServerOnSimNetwork runs the server on the in-memory network, in
// virtual time: every data connection mode, the §5.2 end of transfer, the
// L-1 source port of active connections and the PASV timeout.
func TestServerOnSimNetwork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(Config{Link: Link{Latency: 5 * time.Millisecond, Bandwidth: 10 << 20}})
		client, server := n.Host("client"), n.Host("server")
		ln, err := server.Listen(context.Background(), ":21")
		if err != nil {
			t.Fatal(err)
		}
		s := srvStartOn(t, ServerConfig{Network: server, Timeout: 10 * time.Second}, ln)
		cc, err := client.Dial(context.Background(), "server:21")
		if err != nil {
			t.Fatal(err)
		}
		c := srvNewClient(t, cc)
		c.login()
		var total int64
		for _, mode := range []string{"pasv", "epsv", "port", "eprt"} {
			for _, size := range []int64{0, 1000, 100 << 10, 3 << 20} {
				var d net.Conn
				switch mode {
				case "pasv", "epsv":
					var ap string
					if mode == "pasv" {
						a, err := ftpaddr.Parse227(c.must("PASV", 227))
						if err != nil {
							t.Fatal(err)
						}
						ap = a.String()
					} else {
						p, err := ftpaddr.Parse229(c.must("EPSV", 229))
						if err != nil {
							t.Fatal(err)
						}
						ap = net.JoinHostPort("server", strconv.Itoa(int(p)))
					}
					if d, err = client.Dial(context.Background(), ap); err != nil {
						t.Fatal(err)
					}
					c.tp.Cmd("RETR /size/%d", size)
				default:
					dl, err := client.Listen(context.Background(), ":0")
					if err != nil {
						t.Fatal(err)
					}
					ap := dl.Addr().(*net.TCPAddr).AddrPort()
					if mode == "port" {
						hp, _ := ftpaddr.FormatHostPort(ap)
						c.must("PORT "+hp, 200)
					} else {
						c.must("EPRT "+ftpaddr.FormatEPRT(ap), 200)
					}
					c.tp.Cmd("RETR /size/%d", size)
					if d, err = dl.Accept(); err != nil {
						t.Fatal(err)
					}
					dl.Close()
					if p := d.RemoteAddr().(*net.TCPAddr).Port; p != 20 {
						t.Errorf("%s: active data connection from port %d, want L-1 = 20", mode, p)
					}
				}
				c.expect(150)
				var got []byte
				if size <= 100<<10 {
					// Within the socket buffer: 226 first, then the
					// data must be all there, and EOF.
					c.expect(226)
					got, err = io.ReadAll(d)
				} else {
					got, err = io.ReadAll(d)
					c.expect(226)
				}
				d.Close()
				if err != nil {
					t.Fatalf("%s %d: %v", mode, size, err)
				}
				srvCheckContent(t, fmt.Sprintf("%s %d", mode, size), got, size)
				total += size
			}
		}
		// No data connection: 425 after Timeout, in virtual time.
		c.must("PASV", 227)
		start := time.Now()
		c.must("RETR 1k.bin", 425)
		if waited := time.Since(start); waited < 10*time.Second || waited > 11*time.Second {
			t.Errorf("425 after %v, want the 10s Timeout", waited)
		}
		c.must("QUIT", 221)
		if st := s.Stats(); st.BytesSent != total || st.Transfers != 16 || st.Errors != 1 {
			t.Errorf("stats %+v, want %d bytes sent", st, total)
		}
	})
}
