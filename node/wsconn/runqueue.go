package wsconn

import "sync"

// runQueue holds the connections with work, consumed by the worker pool,
// in three FIFOs: urgent work (a client's frame to read, a reply to its
// request), live work (frames fanned out, a timer) and later work (the
// deferred notices' flush, see Conn.SendDeferred).
//
// Workers take urgent work first, live work next and later work when
// there is no other, or after laterEvery entries of the others so that
// it is never starved: a deferred flush lists every connection with a notice
// waiting, thousands in a connection storm, and a live message queued
// behind all of them waited for all of their writes. Urgent work passes
// live work by at most urgentEvery entries in a row.
//
// Urgent work is what a client waits on: its request read, then the
// answer written. It is a few runs for each message sent, against a
// hundred writes of the same message to the members of a room of 100:
// on one processor a send whose read and acknowledgement waited in
// line behind the fan-out of the messages before it waited for all of
// their writes (docs/benchmarks.md), while passing them costs the
// fan-out only the few runs of the requests.
//
// A connection has at most one entry in each FIFO (Conn.sched), so they
// never hold more entries than there are connections, and pushing never
// blocks: Send may be called from a NATS callback that must not wait on
// sockets. Work for a connection already queued goes where the connection
// is, unless it is more urgent: then the connection gets a second entry,
// in the more urgent FIFO, and whichever entry a worker takes first runs
// it (Conn.claim). A room's sender is a member of its room, so its
// connection was often queued as live work, for its own message's
// fan-out, when the acknowledgement of that message came; the
// acknowledgement then waited in line behind the fan-out.
type runQueue struct {
	mu     sync.Mutex
	cond   sync.Cond
	q      [levels]fifo // guarded by mu
	since  int          // urgent and live entries taken since later work was; guarded by mu
	ahead  int          // urgent entries taken in a row while live work waited; guarded by mu
	closed bool         // guarded by mu
}

// A level names one of the run queue's FIFOs, the most urgent first.
type level uint8

const (
	lvUrgent level = iota // a client's frame to read, the answer to its request
	lvLive                // frames fanned out, a timer, a busy connection's next turn
	lvLater               // the deferred notices' flush
	levels
)

// bit is lv's bit in Conn.sched; upTo is the bits of lv and of the
// levels more urgent.
func (lv level) bit() uint8  { return 1 << lv }
func (lv level) upTo() uint8 { return 1<<(lv+1) - 1 }

// urgentEvery is how many urgent entries may pass live work by in a
// row. An entry counts whether or not its claim runs the connection: the
// queue does not know, and a skipped entry costs a worker next to nothing.
const urgentEvery = 8

// laterEvery is how many urgent and live entries may pass later work by
// in a row.
const laterEvery = 8

func newRunQueue() *runQueue {
	r := &runQueue{}
	r.cond.L = &r.mu
	return r
}

// push queues c at level lv.
func (r *runQueue) push(c *Conn, lv level) {
	r.mu.Lock()
	r.q[lv].push(c)
	r.mu.Unlock()
	r.cond.Signal()
}

// pop blocks until a connection is queued and returns it, with the level
// it was queued at (the worker must claim it there, Conn.claim) and
// waited set if the queue was empty when the worker came for it; it
// returns nil once the queue is closed and empty.
func (r *runQueue) pop() (c *Conn, lv level, waited bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	urgent, live, later := &r.q[lvUrgent], &r.q[lvLive], &r.q[lvLater]
	for urgent.empty() && live.empty() && later.empty() {
		if r.closed {
			return nil, 0, waited
		}
		waited = true
		r.cond.Wait()
	}
	if !later.empty() && ((urgent.empty() && live.empty()) || r.since >= laterEvery) {
		r.since = 0
		return later.pop(), lvLater, waited
	}
	r.since++
	if !urgent.empty() && (live.empty() || r.ahead < urgentEvery) {
		if !live.empty() {
			r.ahead++
		}
		return urgent.pop(), lvUrgent, waited
	}
	r.ahead = 0
	return live.pop(), lvLive, waited
}

// close wakes every worker; they exit once the queue is empty.
func (r *runQueue) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cond.Broadcast()
}

// fifo is a queue of connections in a slice that is reused: consumed
// entries are slid down instead of the slice growing.
type fifo struct {
	q    []*Conn
	head int
}

func (f *fifo) empty() bool { return f.head == len(f.q) }

func (f *fifo) push(c *Conn) {
	if f.head > 0 && f.head >= len(f.q)/2 && len(f.q) == cap(f.q) {
		n := copy(f.q, f.q[f.head:])
		clear(f.q[n:])
		f.q, f.head = f.q[:n], 0
	}
	f.q = append(f.q, c)
}

func (f *fifo) pop() *Conn {
	c := f.q[f.head]
	f.q[f.head] = nil
	f.head++
	if f.head == len(f.q) {
		f.q, f.head = f.q[:0], 0
	}
	return c
}
