// Command rawtcp is the floor bench/peers.sh measures large downloads
// against: it copies a file over one loopback TCP connection with no
// protocol around it — the sending side hands the file to the kernel
// (sendfile, as vsftpd does with use_sendfile=YES), the receiving side
// reads it into a buffer and drops it, as an FTP client's user-DTP does —
// and prints the transfer rate of the best of -n runs.
//
//	rawtcp -file 256MiB.bin -n 3
//	bytes 268435456 seconds 0.0712 MB/s 3770.1
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

func main() {
	file := flag.String("file", "", "file to send")
	runs := flag.Int("n", 3, "transfers; the fastest is reported")
	bufSize := flag.Int("buf", 128<<10, "receive buffer size in bytes")
	flag.Parse()
	if *file == "" || *runs < 1 || *bufSize < 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*file, *runs, *bufSize); err != nil {
		fmt.Fprintln(os.Stderr, "rawtcp:", err)
		os.Exit(1)
	}
}

func run(file string, runs, bufSize int) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	sent := make(chan error, 1)
	go func() { sent <- serve(ln, file, runs) }()

	buf := make([]byte, bufSize)
	best, size := time.Duration(0), int64(0)
	for range runs {
		start := time.Now()
		n, err := receive(ln.Addr().String(), buf)
		if err != nil {
			return err
		}
		if d := time.Since(start); best == 0 || d < best {
			best = d
		}
		size = n
	}
	if err := <-sent; err != nil {
		return err
	}
	fmt.Printf("bytes %d seconds %.4f MB/s %.1f\n", size, best.Seconds(), float64(size)/1e6/best.Seconds())
	return nil
}

// serve sends the file to each of runs connections in turn.
func serve(ln net.Listener, file string, runs int) error {
	for range runs {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		f, err := os.Open(file)
		if err != nil {
			c.Close()
			return err
		}
		_, err = io.Copy(c, f) // *TCPConn.ReadFrom(*os.File): sendfile(2)
		f.Close()
		if cerr := c.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// receive connects and reads to EOF.
func receive(addr string, buf []byte) (int64, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	var n int64
	for {
		k, err := c.Read(buf)
		n += int64(k)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
