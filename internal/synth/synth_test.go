package synth

import "testing"

func TestContentAndAtAgree(t *testing.T) {
	for _, off := range []int64{0, 1, 255, 256, Period - 1, Period, 3*Period + 12345} {
		want := make([]byte, 3*Chunk)
		for i := range want {
			j := off + int64(i)
			want[i] = byte(j*7 + j>>8)
		}
		got := make([]byte, len(want))
		Content(off, got)
		if string(got) != string(want) {
			t.Fatalf("Content(%d) differs from the formula", off)
		}
		if a := At(off, 5*Chunk); len(a) != Chunk || string(a) != string(want[:Chunk]) {
			t.Fatalf("At(%d) = %d bytes, want the first chunk of the formula", off, len(a))
		}
	}
}
