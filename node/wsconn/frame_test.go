package wsconn

import (
	"bytes"
	"fmt"
	"testing"
)

// TestTextFrameAfter checks that a frame built in place is byte for byte
// the frame NewTextFrame copies, at every header length, and that it
// takes one allocation (the Frame) beside its buffer.
func TestTextFrameAfter(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 0xffff, 0x10000} {
		t.Run(fmt.Sprint("len=", n), func(t *testing.T) {
			payload := bytes.Repeat([]byte{'x'}, n)
			want := NewTextFrame(payload)
			b := append(make([]byte, TextHeaderRoom), payload...)
			got := TextFrameAfter(b)
			if !bytes.Equal(got.b, want.b) || got.off != want.off {
				t.Fatalf("frame of %d bytes: header %x, want %x", n, got.b[:got.off], want.b[:want.off])
			}
			if !bytes.Equal(got.Payload(), payload) {
				t.Fatalf("payload of %d bytes changed", n)
			}
			if a := testing.AllocsPerRun(100, func() { TextFrameAfter(b) }); a != 1 {
				t.Fatalf("TextFrameAfter: %v allocations, want 1", a)
			}
		})
	}
}
