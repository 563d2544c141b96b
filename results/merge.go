package results

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"os"
)

// ErrInput is wrapped by the errors of Merge that the user must fix in the
// command: an input file missing, unreadable or with a line that is not a
// record, or the output being one of the inputs — as opposed to failing to
// write the output.
var ErrInput = errors.New("input")

// mergeBatch is how many records an input's reader hands over at a time:
// enough to make the hand-over cheap, few enough that k inputs hold a few
// hundred kilobytes between them.
const mergeBatch = 256

// Merge joins the results files at paths — the shards of one run from
// several processes or hosts (--segment i/N), or several runs — into one
// results file at out, and returns the summary of everything written.
//
// Order and seq: the output is a k-way merge of the inputs on the time
// each cycle ended (Record.End; ties in input order). `ftpbench run`
// writes records as cycles complete, so each input is in end order and
// the output is in end order too, as if one process had run every shard. Inputs in another order still merge completely,
// only less sorted. Each output record's seq is renumbered 0, 1, 2, … in
// output order, so seq stays unique and gap-free across the merged file;
// segment and every other field are kept as they were (the original seq
// is not kept: the format has no field for it).
//
// Memory: each input holds at most three batches of mergeBatch records
// (one being filled, one queued, one being merged), whatever the files'
// sizes. Each input is summarised as it is read and the summaries are
// merged (HDR histograms added bucket by bucket), which gives exactly the
// summary of the output file.
//
// The output is written to a temporary file renamed over out at the end,
// so an error or ctx being done leaves no partial output. out must not be
// one of the inputs. Warnings are as ReadFiles gives them; errors reading
// an input wrap ErrInput.
func Merge(ctx context.Context, paths []string, out string) (sum *Summary, warnings []string, err error) {
	for _, p := range paths {
		if sameFile(p, out) {
			return nil, nil, fmt.Errorf("merge: %w: output %s is also an input", ErrInput, out)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	inputs := make([]*mergeInput, len(paths))
	for i, p := range paths {
		inputs[i] = startInput(ctx, i, p)
	}
	err = writeFileAtomic(out, func(f *os.File) error {
		enc := NewEncoder(f)
		h := make(mergeHeap, 0, len(inputs))
		for _, in := range inputs {
			if err := in.advance(); err != nil {
				return err
			}
			if in.head() != nil {
				h = append(h, in)
			}
		}
		heap.Init(&h)
		var seq int64
		for len(h) > 0 {
			in := h[0]
			r := *in.head()
			r.Seq = seq
			seq++
			if err := enc.Encode(&r); err != nil {
				return err
			}
			if err := in.advance(); err != nil {
				return err
			}
			if in.head() == nil {
				heap.Pop(&h)
			} else {
				heap.Fix(&h, 0)
			}
		}
		return enc.Flush()
	})
	// Stop the readers that an error left running and wait for every one,
	// so that none outlives the call and their results can be read.
	cancel()
	for _, in := range inputs {
		for range in.batches {
		}
	}
	sum = NewSummary()
	for _, in := range inputs {
		warnings = append(warnings, in.warnings...)
		if err == nil {
			sum.Merge(in.sum)
		}
	}
	if err != nil {
		return nil, warnings, fmt.Errorf("merge: %w", err)
	}
	return sum, warnings, nil
}

// sameFile reports whether a and b name the same existing file.
func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}

// mergeInput is one input file, read line by line by its own goroutine
// (readFiles, not in parallel blocks) and handed over in batches.
type mergeInput struct {
	index   int
	batches chan []Record
	batch   []Record
	pos     int
	// Set by the reader before it closes batches.
	sum      *Summary
	warnings []string
	err      error
}

func startInput(ctx context.Context, index int, path string) *mergeInput {
	in := &mergeInput{index: index, batches: make(chan []Record, 1), sum: NewSummary()}
	go func() {
		defer close(in.batches)
		batch := make([]Record, 0, mergeBatch)
		send := func() error {
			if err := ctx.Err(); err != nil {
				return err // select would pick at random when both are ready
			}
			select {
			case in.batches <- batch:
				batch = make([]Record, 0, mergeBatch)
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		// One goroutine per input already spreads the decoding over
		// cores; decoding each input in parallel blocks as well would
		// hold megabytes per input.
		in.warnings, in.err = readFiles([]string{path}, false, func(r *Record) error {
			in.sum.Add(r)
			batch = append(batch, *r)
			if len(batch) == mergeBatch {
				return send()
			}
			return nil
		})
		if in.err == nil && len(batch) > 0 {
			in.err = send()
		}
	}()
	return in
}

// head returns the input's current record, nil when it is exhausted.
func (in *mergeInput) head() *Record {
	if in.pos < len(in.batch) {
		return &in.batch[in.pos]
	}
	return nil
}

// advance moves to the input's next record, waiting for the next batch
// when the current one is used up. At the end of the input it returns the
// reader's error, if any.
func (in *mergeInput) advance() error {
	if in.batch != nil {
		in.pos++
	}
	if in.pos < len(in.batch) {
		return nil
	}
	b, ok := <-in.batches
	in.batch, in.pos = b, 0
	if !ok && in.err != nil {
		return fmt.Errorf("%w: %w", ErrInput, in.err)
	}
	return nil
}

// mergeHeap orders inputs by their current record's end time, then by
// input order.
type mergeHeap []*mergeInput

func (h mergeHeap) Len() int { return len(h) }
func (h mergeHeap) Less(i, j int) bool {
	a, b := h[i].head(), h[j].head()
	if c := a.End().Compare(b.End()); c != 0 {
		return c < 0
	}
	return h[i].index < h[j].index
}
func (h mergeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)   { *h = append(*h, x.(*mergeInput)) }
func (h *mergeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
