package wsconn

import (
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// TestOutboundLarge queues much more than the socket buffers hold while the
// client does not read, so writes hit EAGAIN and resume on writability, and
// partial writes happen; the client then gets every frame intact, in order.
func TestOutboundLarge(t *testing.T) {
	forEachTransport(t, func(t *testing.T, cfg Config) {
		cfg.MaxOutboundBytes = 64 << 20
		ts := startServer(t, cfg, nil)
		c := ts.dial(t)
		const n, size = 600, 20000
		for i := range n {
			p := make([]byte, size)
			binary.BigEndian.PutUint32(p, uint32(i))
			for j := 4; j < size; j++ {
				p[j] = 'a' + byte((i+j)%26)
			}
			if err := c.sc.Send(NewTextFrame(p)); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(50 * time.Millisecond) // let the socket fill up
		for i := range n {
			h, p := c.readFrame(t)
			if h.OpCode != ws.OpText || len(p) != size || binary.BigEndian.Uint32(p) != uint32(i) {
				t.Fatalf("frame %d: %v len %d seq %d", i, h.OpCode, len(p), binary.BigEndian.Uint32(p))
			}
			for j := 4; j < size; j++ {
				if p[j] != 'a'+byte((i+j)%26) {
					t.Fatalf("frame %d corrupt at %d", i, j)
				}
			}
		}
	})
}

// TestSlowConsumer: a client that does not read is closed with 4001 once
// its queue passes MaxOutboundBytes; the close frame follows the data.
func TestSlowConsumer(t *testing.T) {
	forEachTransport(t, func(t *testing.T, cfg Config) {
		cfg.MaxOutboundBytes = 256 << 10
		cfg.CloseTimeout = 10 * time.Second // room to read it all
		ts := startServer(t, cfg, nil)
		c := ts.dial(t)
		f := NewTextFrame(make([]byte, 16<<10))
		var err error
		sent := 0
		for ; sent < 100000; sent++ {
			if err = c.sc.Send(f); err != nil {
				break
			}
			if sent%64 == 0 {
				time.Sleep(time.Millisecond) // let the worker hit EAGAIN
			}
		}
		if !errors.Is(err, ErrSlowConsumer) {
			t.Fatalf("Send error = %v after %d frames, want ErrSlowConsumer", err, sent)
		}
		if err := c.sc.Send(f); err != ErrClosed {
			t.Fatalf("Send after slow consumer = %v, want ErrClosed", err)
		}
		c.expectClose(t, StatusSlowConsumer)
		ts.rec.waitClosed(t, c.sc, ReasonSlowConsumer)
	})
}

// TestSlowConsumerDeadline: a client that never reads is torn down after
// the close timeout even though its close frame cannot be written.
func TestSlowConsumerDeadline(t *testing.T) {
	cfg := testConfig()
	cfg.MaxOutboundBytes = 64 << 10
	cfg.CloseTimeout = 200 * time.Millisecond
	ts := startServer(t, cfg, nil)
	c := ts.dial(t)
	f := NewTextFrame(make([]byte, 8<<10))
	for range 100000 {
		if err := c.sc.Send(f); err != nil {
			break
		}
	}
	ts.rec.waitClosed(t, c.sc, ReasonSlowConsumer)
}

// TestConcurrentSendClose races Send from many goroutines with Close, the
// worker reading and writing, and the client; OnClose must come once.
func TestConcurrentSendClose(t *testing.T) {
	forEachTransport(t, func(t *testing.T, cfg Config) {
		cfg.MaxOutboundBytes = 1 << 20
		rec := newRecorder()
		rec.echo = true
		ts := startServer(t, cfg, rec)
		for range 5 {
			c := ts.dial(t)
			go func() { // client: write messages, read whatever comes
				for range 100 {
					if _, err := c.Write(text("x")); err != nil {
						return
					}
				}
			}()
			go func() {
				for {
					h, _, err := c.tryReadFrame(10 * time.Second)
					if err != nil {
						return
					}
					if h.OpCode == ws.OpClose {
						c.Write(frameBytes(fin|opCls, nil, false))
					}
				}
			}()
			f := NewTextFrame([]byte("fan-out"))
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 200 {
						err := c.sc.Send(f)
						if err != nil && err != ErrClosed && err != ErrSlowConsumer {
							t.Errorf("Send: %v", err)
						}
						if g == 0 && i == 100 {
							c.sc.Close(ReasonGoingAway, "bye")
						}
					}
					c.sc.Close(ReasonPolicy, "again")
				}()
			}
			wg.Wait()
			waitFor(t, 10*time.Second, "OnClose", func() bool { return len(rec.closeReasons(c.sc.ID())) > 0 })
			switch got := rec.closeReasons(c.sc.ID()); got[0] {
			case ReasonGoingAway, ReasonPolicy, ReasonSlowConsumer: // the first Close wins
			default:
				t.Fatalf("OnClose reasons = %v", got)
			}
		}
		time.Sleep(20 * time.Millisecond) // a second OnClose would show up here
		if n := rec.closeCount(); n != 5 {
			t.Fatalf("OnClose called %d times, want 5", n)
		}
	})
}

// TestSendAllocs guards the fan-out hot path: queueing a shared frame on a
// connection with room does not allocate.
func TestSendAllocs(t *testing.T) {
	ts := startServer(t, testConfig(), nil)
	c := ts.dial(t)
	f := NewTextFrame([]byte("shared frame"))
	for range 512 { // grow the queue and run queue once
		if err := c.sc.Send(f); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "queue drained", func() bool {
		c.sc.mu.Lock()
		defer c.sc.mu.Unlock()
		return c.sc.q.emptyLocked() && c.sc.sched&schedOwed == 0
	})
	allocs := testing.AllocsPerRun(200, func() {
		if err := c.sc.Send(f); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Send allocates %.1f times per call, want 0", allocs)
	}
}

// TestQueueShrinks: a queue starts in its inline slots, grows for a burst,
// keeps the grown room while it is in use, and gives it back when a quiet
// connection is pinged.
func TestQueueShrinks(t *testing.T) {
	var q outQueue
	f := NewTextFrame([]byte("x"))
	q.pushLocked(f)
	if &q.frames[0] != &q.inline[0] {
		t.Fatal("the first frame is not in the inline slots")
	}
	for range 9 {
		q.pushLocked(f)
	}
	grown := cap(q.frames)
	if grown <= len(q.inline) {
		t.Fatalf("cap %d after a burst of 10", grown)
	}
	q.shrinkLocked() // not empty: keeps everything
	if cap(q.frames) != grown || len(q.frames) != 10 {
		t.Fatalf("shrink of a busy queue changed it: len %d cap %d", len(q.frames), cap(q.frames))
	}
	q.advanceLocked(q.bytes)
	if !q.emptyLocked() || cap(q.frames) != grown {
		t.Fatalf("drained queue: empty %v, cap %d, want the grown room kept", q.emptyLocked(), cap(q.frames))
	}
	q.shrinkLocked()
	if q.frames != nil {
		t.Fatalf("idle queue kept cap %d", cap(q.frames))
	}
	q.pushLocked(f)
	if &q.frames[0] != &q.inline[0] || q.bytes != f.Len() {
		t.Fatal("after shrinking, the queue does not start over in its inline slots")
	}
}

// TestQueueDropsFramesWritten: once written, a frame is no longer
// referenced by its queue, also after the queue grew out of its inline
// slots (which once kept the frames they held then).
func TestQueueDropsFramesWritten(t *testing.T) {
	var q outQueue
	frames := []*Frame{NewTextFrame([]byte("a")), NewTextFrame([]byte("b")), NewTextFrame([]byte("c"))}
	for _, f := range frames {
		q.pushLocked(f)
	}
	q.advanceLocked(q.bytes)
	for i, f := range q.inline {
		if f != nil {
			t.Fatalf("inline slot %d still holds a frame after the queue grew", i)
		}
	}
	for i, f := range q.frames[:cap(q.frames)] {
		if f != nil {
			t.Fatalf("slot %d still holds a written frame", i)
		}
	}
}

// TestFlushAllocs guards the write path: once a connection's queue has
// its room, a Send and the worker's writev of it allocate nothing.
func TestFlushAllocs(t *testing.T) {
	ts := startServer(t, testConfig(), nil)
	c := ts.dial(t)
	go func() { _, _ = io.Copy(io.Discard, c.Conn) }()
	f := NewTextFrame([]byte("a message for one device"))
	sendAndFlush := func() {
		if err := c.sc.Send(f); err != nil {
			t.Fatal(err)
		}
		for {
			c.sc.mu.Lock()
			done := c.sc.q.emptyLocked() && c.sc.sched&schedOwed == 0
			c.sc.mu.Unlock()
			if done {
				return
			}
			runtime.Gosched()
		}
	}
	for range 100 {
		sendAndFlush()
	}
	if allocs := testing.AllocsPerRun(200, sendAndFlush); allocs != 0 {
		t.Fatalf("a Send and its flush allocate %.1f times, want 0", allocs)
	}
}
