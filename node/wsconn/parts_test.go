package wsconn

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// partsOf splits payload into a first part with header room and up to
// five more, some empty, as a member list's frame has them.
func partsOf(r *rand.Rand, payload []byte) (first []byte, more [][]byte) {
	cut := r.IntN(len(payload) + 1)
	first = append(make([]byte, TextHeaderRoom), payload[:cut]...)
	rest := payload[cut:]
	for k := r.IntN(6); k > 0 && len(rest) > 0; k-- {
		n := r.IntN(len(rest) + 1)
		more = append(more, rest[:n])
		rest = rest[n:]
	}
	if len(rest) > 0 || r.IntN(2) == 0 {
		more = append(more, rest)
	}
	return first, more
}

// TestOutboundFramesOfParts: frames of parts, among plain frames, reach
// the client whole and in order, over every transport, when the socket
// fills and writes stop in the middle of a part.
func TestOutboundFramesOfParts(t *testing.T) {
	forEachTransport(t, func(t *testing.T, cfg Config) {
		cfg.MaxOutboundBytes = 64 << 20
		ts := startServer(t, cfg, nil)
		c := ts.dial(t)
		r := rand.New(rand.NewPCG(7, 8))
		const n = 400
		var want [][]byte
		for i := range n {
			p := []byte(fmt.Sprintf("frame %d:", i))
			p = append(p, bytes.Repeat([]byte{'a' + byte(i%26)}, r.IntN(40000))...)
			want = append(want, p)
			f := NewTextFrame(p)
			if i%3 != 0 {
				f = TextFrameOfParts(partsOf(r, p))
			}
			if f.Len() != len(NewTextFrame(p).b) || !bytes.Equal(f.Payload(), p) {
				t.Fatalf("frame %d: Len %d, payload of %d bytes; want %d and %d", i, f.Len(), len(f.Payload()), len(NewTextFrame(p).b), len(p))
			}
			if err := c.sc.Send(f); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(50 * time.Millisecond) // let the socket fill up
		for i := range n {
			h, p := c.readFrame(t)
			if h.OpCode != ws.OpText || !bytes.Equal(p, want[i]) {
				t.Fatalf("frame %d: %v, %d bytes %.20q; want %d bytes %.20q", i, h.OpCode, len(p), p, len(want[i]), want[i])
			}
		}
	})
}

// TestQueueOfParts: whatever the number of buffers a write may take and
// however many bytes it writes, the queue hands out the frames' bytes in
// order, each once, and counts them.
func TestQueueOfParts(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for range 200 {
		var q outQueue
		var want []byte
		for i := range 1 + r.IntN(8) {
			p := bytes.Repeat([]byte{byte('a' + i)}, r.IntN(300))
			f := NewTextFrame(p)
			if r.IntN(2) == 0 {
				f = TextFrameOfParts(partsOf(r, p))
			}
			want = append(want, NewTextFrame(p).b...)
			q.pushLocked(f)
		}
		if q.bytes != len(want) {
			t.Fatalf("queue counts %d bytes, want %d", q.bytes, len(want))
		}
		var got []byte
		for !q.emptyLocked() {
			bufs := q.peekLocked(make([][]byte, 0, 1+r.IntN(4)))
			var avail []byte
			for _, b := range bufs {
				if len(b) == 0 {
					t.Fatal("an empty buffer handed out")
				}
				avail = append(avail, b...)
			}
			n := r.IntN(len(avail) + 1)
			got = append(got, avail[:n]...)
			q.advanceLocked(n)
		}
		if !bytes.Equal(got, want) || q.bytes != 0 {
			t.Fatalf("written %d bytes, %d left counted; want %d bytes, in order", len(got), q.bytes, len(want))
		}
	}
}

// TestRunsOfFrames: frames appended one after another into one buffer
// (AppendTextFrame) and queued as runs of whole frames (FramesOfParts),
// leaving some out, reach the client as the frames of the runs, in order,
// at every header length.
func TestRunsOfFrames(t *testing.T) {
	ts := startServer(t, Config{MaxOutboundBytes: 64 << 20}, nil)
	c := ts.dial(t)
	sizes := []int{0, 1, 125, 126, 127, 0xffff, 0x10000, 70000, 3}
	var buf []byte
	var ends []int
	for i, n := range sizes {
		buf = AppendTextFrame(buf, bytes.Repeat([]byte{'a' + byte(i)}, n))
		ends = append(ends, len(buf))
	}
	begin := func(i int) int {
		if i == 0 {
			return 0
		}
		return ends[i-1]
	}
	// Runs of frames 0-2, 4-5 and 7-8: frames 3 and 6 are left out.
	runs := [][]byte{buf[begin(0):ends[2]], buf[begin(4):ends[5]], buf[begin(7):]}
	if err := c.sc.Send(FramesOfParts(runs)); err != nil {
		t.Fatal(err)
	}
	if err := c.sc.Send(FramesOfParts([][]byte{buf})); err != nil {
		t.Fatal(err)
	}
	want := []int{0, 1, 2, 4, 5, 7, 8}
	for i := range sizes {
		want = append(want, i)
	}
	for k, i := range want {
		h, p := c.readFrame(t)
		if h.OpCode != ws.OpText || !h.Fin || !bytes.Equal(p, bytes.Repeat([]byte{'a' + byte(i)}, sizes[i])) {
			t.Fatalf("frame %d: %v fin %v, %d bytes; want frame %d of %d bytes", k, h.OpCode, h.Fin, len(p), i, sizes[i])
		}
	}
}
