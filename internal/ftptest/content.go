package ftptest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// The content of a test file is a pseudo-random byte stream determined by
// the file's name (its slash-separated path relative to the served root, as
// given to WriteFile or Options.Files) and the offset: byte i is byte i%8 of
// splitmix64(seed(name) + i/8). So any range can be produced or checked
// without the file, and files with different names differ.

func contentSeed(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(cleanName(name)))
	return h.Sum64()
}

func cleanName(name string) string {
	return strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(name)), "/")
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// ContentAt fills p with the content of file name starting at offset off.
func ContentAt(name string, p []byte, off int64) {
	fillContent(contentSeed(name), p, off)
}

func fillContent(seed uint64, p []byte, off int64) {
	var w [8]byte
	for len(p) > 0 {
		blk := uint64(off) / 8
		in := int(uint64(off) % 8)
		binary.LittleEndian.PutUint64(w[:], splitmix64(seed+blk))
		n := copy(p, w[in:])
		p = p[n:]
		off += int64(n)
	}
}

// Content returns the whole content of a test file (for small sizes; use
// NewContentReader for large ones).
func Content(name string, size int64) []byte {
	b := make([]byte, size)
	ContentAt(name, b, 0)
	return b
}

// NewContentReader returns a reader of the size bytes of file name.
func NewContentReader(name string, size int64) io.Reader {
	return &contentReader{seed: contentSeed(name), size: size}
}

type contentReader struct {
	seed      uint64
	off, size int64
}

func (r *contentReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if rem := r.size - r.off; int64(len(p)) > rem {
		p = p[:rem]
	}
	fillContent(r.seed, p, r.off)
	r.off += int64(len(p))
	return len(p), nil
}

// VerifyContent reads r to EOF and checks that it is exactly the size
// bytes of file name. The error names the first differing offset.
func VerifyContent(r io.Reader, name string, size int64) error {
	seed := contentSeed(name)
	buf := make([]byte, 64<<10)
	want := make([]byte, len(buf))
	var off int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if off+int64(n) > size {
				return fmt.Errorf("%s: more than the expected %d bytes", name, size)
			}
			fillContent(seed, want[:n], off)
			if !bytes.Equal(buf[:n], want[:n]) {
				for i := 0; i < n; i++ {
					if buf[i] != want[i] {
						return fmt.Errorf("%s: content differs at offset %d", name, off+int64(i))
					}
				}
			}
			off += int64(n)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: after %d bytes: %w", name, off, err)
		}
	}
	if off != size {
		return fmt.Errorf("%s: got %d bytes, want %d", name, off, size)
	}
	return nil
}

// WriteFile creates dir/name (name slash-separated, parent directories
// created with mode 0755) holding size bytes of deterministic content, mode
// 0644, and returns its path.
func WriteFile(t testing.TB, dir, name string, size int64) string {
	t.Helper()
	p, err := writeFile(dir, name, size)
	if err != nil {
		t.Fatalf("ftptest.WriteFile: %v", err)
	}
	return p
}

func writeFile(dir, name string, size int64) (string, error) {
	clean := cleanName(name)
	if clean == "" || clean == "." {
		return "", fmt.Errorf("bad file name %q", name)
	}
	if size < 0 {
		return "", fmt.Errorf("%s: negative size %d", name, size)
	}
	p := filepath.Join(dir, filepath.FromSlash(clean))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return "", err
	}
	w := bufio.NewWriterSize(f, 256<<10)
	_, err = io.Copy(w, NewContentReader(clean, size))
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		// Readable by the servers' ftp user whatever the umask.
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("writing %s: %w", p, err)
	}
	return p, nil
}
