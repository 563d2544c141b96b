package results

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"sync"
)

// readBlockSize is how much of a results file one decoding goroutine takes
// at a time: big enough that handing blocks over costs little per record,
// small enough that the blocks in flight stay a few megabytes.
const readBlockSize = 256 << 10

// A block is a run of whole lines of the input and what became of them.
type block struct {
	data      []byte // whole lines; the last may lack its newline at EOF
	firstLine int    // number of data's first line, from 1
	readErr   error  // the read error that ended the input after data

	recs  []Record // decoded by a worker
	lines []int    // line number of each of recs
	err   error    // the first line error; recs holds the records before it
	done  chan struct{}
}

// decodeParallel decodes the records of r, on as many goroutines as
// GOMAXPROCS allows, and calls fn for each in input order. Its errors are
// those of Decoder.Decode, line numbers included; it stops at the first,
// after calling fn for every record before it, and at fn's first error,
// which it returns wrapped with the record's line. Memory is bounded by a
// few blocks of blockSize bytes whatever the input's size.
//
// Decoding a line costs several times what the caller's fn usually does
// with it (summing, bucketing), so spreading the decoding over cores is
// what makes a report of millions of records take seconds.
func decodeParallel(r io.Reader, blockSize int, fn func(*Record) error) error {
	workers := max(runtime.GOMAXPROCS(0), 1)
	stop := make(chan struct{})
	inOrder := make(chan *block, 2*workers) // blocks as read, for fn
	toDecode := make(chan *block, workers)
	var wg sync.WaitGroup
	wg.Add(1 + workers)
	go func() {
		defer wg.Done()
		defer close(inOrder)
		defer close(toDecode)
		splitBlocks(r, blockSize, stop, func(b *block) bool {
			select {
			case inOrder <- b:
			case <-stop:
				return false
			}
			select {
			case toDecode <- b:
				return true
			case <-stop:
				return false
			}
		})
	}()
	for range workers {
		go func() {
			defer wg.Done()
			for b := range toDecode {
				b.decode()
			}
		}()
	}
	err := deliver(inOrder, fn)
	close(stop)
	// Unblock the splitter and workers, and wait, so no goroutine
	// outlives the call (the caller may close r next).
	for range inOrder {
	}
	wg.Wait()
	return err
}

// deliver hands the records of each block to fn, blocks in input order.
func deliver(inOrder <-chan *block, fn func(*Record) error) error {
	for b := range inOrder {
		<-b.done
		for i := range b.recs {
			if err := fn(&b.recs[i]); err != nil {
				return fmt.Errorf("line %d: %w", b.lines[i], err)
			}
		}
		if b.err != nil {
			return b.err
		}
		if b.readErr != nil {
			return b.readErr
		}
		b.release()
	}
	return nil
}

// Blocks are reused: allocating and clearing a fresh buffer and record
// slice per block costs as much as a third of decoding.
var blocks sync.Pool

// newBlock returns an empty block for lines from number firstLine, with
// room for size bytes.
func newBlock(firstLine, size int) *block {
	b, _ := blocks.Get().(*block)
	if b == nil {
		b = new(block)
	}
	*b = block{firstLine: firstLine, data: b.data[:0], recs: b.recs[:0], lines: b.lines[:0], done: make(chan struct{})}
	if cap(b.data) < size {
		b.data = make([]byte, 0, size)
	}
	return b
}

// release returns b, done with, for newBlock to reuse.
func (b *block) release() { blocks.Put(b) }

// splitBlocks reads r and passes each block of whole lines to emit, until
// the input ends, emit reports false, or a line exceeds MaxLineBytes.
func splitBlocks(r io.Reader, blockSize int, stop <-chan struct{}, emit func(*block) bool) {
	var carry []byte // the unfinished line after the last block
	line := 1        // number of carry's line
	for {
		b := newBlock(line, len(carry)+blockSize)
		buf := append(b.data, carry...)
		n, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			b.data = buf
			emit(b)
			return
		case err != nil:
			// The lines read in full are records; the one cut short by
			// the error is not a torn line to decode.
			b.data = buf[:bytes.LastIndexByte(buf, '\n')+1]
			b.readErr = fmt.Errorf("line %d: read: %w", line+bytes.Count(b.data, []byte{'\n'}), err)
			emit(b)
			return
		}
		cut := bytes.LastIndexByte(buf, '\n') + 1
		if cut == 0 && len(buf) > MaxLineBytes {
			b.err = fmt.Errorf("line %d: longer than %d bytes", line, MaxLineBytes)
			emit(b)
			return
		}
		b.data, carry = buf[:cut], append(carry[:0], buf[cut:]...)
		line += bytes.Count(b.data, []byte{'\n'})
		if cut == 0 {
			b.release()
		} else if !emit(b) {
			return
		}
		select {
		case <-stop:
			return
		default:
		}
	}
}

// decode decodes the block's lines into recs, stopping at the first error.
func (b *block) decode() {
	defer close(b.done)
	if b.err != nil {
		return
	}
	data, n := b.data, b.firstLine
	for len(data) > 0 {
		line, rest, terminated := bytes.Cut(data, []byte{'\n'})
		data = rest
		if len(line) > MaxLineBytes {
			b.err = fmt.Errorf("line %d: longer than %d bytes", n, MaxLineBytes)
			return
		}
		b.recs = append(b.recs, Record{})
		r := &b.recs[len(b.recs)-1]
		skip, err := decodeLine(line, terminated, n, r)
		if skip || err != nil {
			b.recs = b.recs[:len(b.recs)-1]
		} else {
			b.lines = append(b.lines, n)
		}
		if err != nil {
			b.err = err
			return
		}
		n++
	}
}
