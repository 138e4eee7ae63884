package wsconn

// outQueue is a connection's byte-bounded outbound queue: shared, immutable
// frames in order, the first possibly partly written. Data frames, pongs,
// pings and the close frame all go through it, so frames never interleave on
// the wire. Its slice starts in the queue's own two slots, which are all an
// idle or lightly used connection needs, and grows to the connection's
// burst size once and is then reused, so queueing a frame does not allocate
// in steady state.
//
// All fields are guarded by Conn.mu.
type outQueue struct {
	frames []*Frame
	inline [2]*Frame // frames' first backing array
	head   int       // index of the first unwritten frame
	off    int       // bytes of frames[head] already written
	bytes  int       // unwritten bytes in the queue
}

func (q *outQueue) pushLocked(f *Frame) {
	if q.frames == nil {
		q.frames = q.inline[:0]
	}
	if q.head > 0 && q.head == len(q.frames) {
		q.frames, q.head = q.frames[:0], 0
	}
	if len(q.frames) == cap(q.frames) && q.head > len(q.frames)/2 {
		// Mostly consumed: slide down instead of growing.
		n := copy(q.frames, q.frames[q.head:])
		clear(q.frames[n:])
		q.frames, q.head = q.frames[:n], 0
	}
	leaving := len(q.frames) == cap(q.frames) && cap(q.frames) == len(q.inline)
	q.frames = append(q.frames, f)
	if leaving {
		// The queue grew out of its inline slots into a new array: the
		// slots must not keep the frames they held, or every connection
		// that ever had a burst pins two old frames for good.
		clear(q.inline[:])
	}
	q.bytes += f.Len()
}

// emptyLocked reports whether everything queued has been written.
func (q *outQueue) emptyLocked() bool { return q.head == len(q.frames) }

// peekLocked appends to bufs the unwritten bytes of the frames, a
// frame of parts (TextFrameOfParts) taking one buffer per part, up to
// cap(bufs) buffers: the last frame may be cut short.
func (q *outQueue) peekLocked(bufs [][]byte) [][]byte {
	skip := q.off
	for i := q.head; i < len(q.frames) && len(bufs) < cap(bufs); i++ {
		f := q.frames[i]
		bufs, skip = appendUnwritten(bufs, f.b, skip)
		for _, p := range f.more {
			if len(bufs) == cap(bufs) {
				return bufs
			}
			bufs, skip = appendUnwritten(bufs, p, skip)
		}
	}
	return bufs
}

// appendUnwritten appends what is left of p after skip written bytes,
// and returns the bytes still to skip in the parts after p.
func appendUnwritten(bufs [][]byte, p []byte, skip int) ([][]byte, int) {
	if skip >= len(p) {
		return bufs, skip - len(p)
	}
	return append(bufs, p[skip:]), 0
}

// advanceLocked drops n written bytes from the front.
func (q *outQueue) advanceLocked(n int) {
	q.bytes -= n
	for n > 0 {
		rest := q.frames[q.head].Len() - q.off
		if n < rest {
			q.off += n
			return
		}
		n -= rest
		q.frames[q.head] = nil
		q.head++
		q.off = 0
	}
	if q.head == len(q.frames) {
		q.frames, q.head = q.frames[:0], 0
		if cap(q.frames) > 1024 {
			q.frames = nil // a burst is over; do not pin a large slice on an idle conn
		}
	}
}

// shrinkLocked goes back to the inline slots if the queue is empty and
// had grown past them.
func (q *outQueue) shrinkLocked() {
	if q.emptyLocked() && cap(q.frames) > len(q.inline) {
		q.frames, q.head, q.off = nil, 0, 0
	}
}

// resetLocked drops everything (the socket is gone).
func (q *outQueue) resetLocked() {
	*q = outQueue{}
}
