package results

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// decodeSequential is the reference decodeParallel must agree with:
// decodeEach, the Decoder record by record, stopping at the first error.
func decodeSequential(data []byte) ([]Record, error) {
	var recs []Record
	err := decodeEach(bytes.NewReader(data), func(r *Record) error {
		recs = append(recs, *r)
		return nil
	})
	return recs, err
}

func decodeAllParallel(data []byte, blockSize int) ([]Record, error) {
	var recs []Record
	err := decodeParallel(bytes.NewReader(data), blockSize, func(r *Record) error {
		recs = append(recs, *r)
		return nil
	})
	return recs, err
}

// checkAgrees fails unless decodeParallel, at blockSize, yields the same
// records and error as the Decoder.
func checkAgrees(t *testing.T, data []byte, blockSize int) {
	t.Helper()
	want, wantErr := decodeSequential(data)
	got, err := decodeAllParallel(data, blockSize)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("block size %d: %d records, Decoder %d; first difference in %q", blockSize, len(got), len(want), data)
	}
	if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() ||
		errors.Is(err, ErrPartialLine) != errors.Is(wantErr, ErrPartialLine) {
		t.Fatalf("block size %d: error %v, Decoder %v", blockSize, err, wantErr)
	}
}

// TestDecodeParallelAgrees: whatever the block size, lines cut across
// blocks, blank lines, CRLF, bad lines and torn final lines come out as the
// sequential Decoder gives them, line numbers in errors included.
func TestDecodeParallelAgrees(t *testing.T) {
	good := encodeAll(t, fixtureRecords())
	lines := strings.SplitAfter(string(good), "\n")
	inputs := map[string]string{
		"records":      string(good),
		"blank lines":  "\n\n" + strings.Join(lines, "\n \n") + "\n\n",
		"crlf":         strings.ReplaceAll(string(good), "\n", "\r\n"),
		"bad line":     lines[0] + lines[1] + "{\"seq\":\n" + lines[2],
		"invalid":      lines[0] + `{"seq":1,"outcome":"nope","t":{}}` + "\n" + lines[1],
		"torn end":     lines[0] + lines[1] + lines[2][:len(lines[2])/2],
		"no final nl":  strings.TrimSuffix(string(good), "\n"),
		"empty":        "",
		"only newline": "\n",
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			for _, bs := range []int{1, 2, 7, 64, 300, 4096, readBlockSize} {
				checkAgrees(t, []byte(in), bs)
			}
		})
	}
}

// TestDecodeParallelLongLine: a line over MaxLineBytes ends the read with
// the Decoder's error, after every record before it, whether or not its
// newline is in sight.
func TestDecodeParallelLongLine(t *testing.T) {
	good := encodeAll(t, fixtureRecords()[:2])
	long := bytes.Repeat([]byte("x"), MaxLineBytes+1)
	for _, in := range [][]byte{
		append(append(append([]byte{}, good...), long...), '\n'),
		append(append([]byte{}, good...), long...),
		append(append(append(append([]byte{}, good...), long...), '\n'), good...),
	} {
		checkAgrees(t, in, 4096)
		recs, err := decodeAllParallel(in, 4096)
		if len(recs) != 2 || err == nil || !strings.Contains(err.Error(), "line 3: longer than") {
			t.Errorf("%d records, err %v; want 2 and line 3 too long", len(recs), err)
		}
	}
}

// TestDecodeParallelStops: fn's error ends the read at once, wrapped with
// the record's line; a read error comes after the records read before it.
func TestDecodeParallelStops(t *testing.T) {
	data := encodeAll(t, fixtureRecords())
	stop := errors.New("stop")
	calls := 0
	err := decodeParallel(bytes.NewReader(data), 16, func(*Record) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || !strings.HasPrefix(err.Error(), "line 3: ") || calls != 3 {
		t.Errorf("err %v after %d calls; want stop at line 3 after 3", err, calls)
	}

	boom := errors.New("disk on fire")
	lines := bytes.SplitAfter(data, []byte("\n"))
	in := io.MultiReader(bytes.NewReader(bytes.Join(lines[:2], nil)), bytes.NewReader(lines[2][:10]), iotest.ErrReader(boom))
	var n int
	err = decodeParallel(in, 64, func(*Record) error { n++; return nil })
	if !errors.Is(err, boom) || n != 2 || !strings.HasPrefix(err.Error(), "line 3: read: ") {
		t.Errorf("%d records, err %v; want 2 then line 3: read: %v", n, err, boom)
	}
}

func FuzzDecodeParallelAgrees(f *testing.F) {
	good := encodeAll(f, fixtureRecords())
	f.Add(good, uint16(7))
	f.Add(good[:len(good)-5], uint16(100))
	f.Add([]byte("\n\n{}\n"), uint16(1))
	f.Fuzz(func(t *testing.T, data []byte, blockSize uint16) {
		checkAgrees(t, data, int(blockSize%512)+1)
	})
}
