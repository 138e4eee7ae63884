package wsconn

import "sync"

// runQueue holds the connections with work, consumed by the worker pool,
// in three FIFOs: urgent work (a client's frame to read, a reply to its
// request), live work (frames fanned out, a timer) and later work (the
// deferred notices' flush, see Conn.SendDeferred).
//
// Workers take urgent work first, live work next and later work when
// there is no other, or once every laterEvery runs of the others so that
// it is never starved: a deferred flush lists every connection with a notice
// waiting, thousands in a connection storm, and a live message queued
// behind all of them waited for all of their writes. Urgent work passes
// live work by at most urgentEvery runs in a row.
//
// Urgent work is what a client waits on: its request read, then the
// answer written. It is a few runs for each message sent, against a
// hundred writes of the same message to the members of a room of 100:
// on one processor a send whose read and acknowledgement waited in
// line behind the fan-out of the messages before it waited for all of
// their writes (docs/benchmarks.md), while passing them costs the
// fan-out only the few runs of the requests.
//
// A connection is in the urgent and live FIFOs at most once together
// (Conn.scheduled), and in the later one at most once (the inLater mark
// of Conn.pending), so they never hold more entries than there are
// connections, and pushing never blocks: Send may be called from a NATS
// callback that must not wait on sockets. A connection already queued
// as live work stays where it is when urgent work comes for it.
type runQueue struct {
	mu     sync.Mutex
	cond   sync.Cond
	urgent fifo // guarded by mu
	live   fifo // guarded by mu
	later  fifo // guarded by mu
	since  int  // urgent and live runs since later work was taken; guarded by mu
	ahead  int  // urgent runs in a row while live work waited; guarded by mu
	closed bool // guarded by mu
}

// urgentEvery is how many urgent runs may pass live work by in a row.
const urgentEvery = 8

// laterEvery is how many urgent and live runs may pass later work by in
// a row.
const laterEvery = 8

func newRunQueue() *runQueue {
	r := &runQueue{}
	r.cond.L = &r.mu
	return r
}

// push queues live work.
func (r *runQueue) push(c *Conn) {
	r.mu.Lock()
	r.live.push(c)
	r.mu.Unlock()
	r.cond.Signal()
}

// pushUrgent queues urgent work.
func (r *runQueue) pushUrgent(c *Conn) {
	r.mu.Lock()
	r.urgent.push(c)
	r.mu.Unlock()
	r.cond.Signal()
}

// pushLater queues later work.
func (r *runQueue) pushLater(c *Conn) {
	r.mu.Lock()
	r.later.push(c)
	r.mu.Unlock()
	r.cond.Signal()
}

// pop blocks until a connection is queued and returns it, with later set
// if it came from the later FIFO (the worker must then check that no
// other run of it exists, Conn.takeLater) and waited set if the queue was
// empty when the worker came for it; it returns nil once the queue is
// closed and empty.
func (r *runQueue) pop() (c *Conn, later, waited bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.urgent.empty() && r.live.empty() && r.later.empty() {
		if r.closed {
			return nil, false, waited
		}
		waited = true
		r.cond.Wait()
	}
	if !r.later.empty() && ((r.urgent.empty() && r.live.empty()) || r.since >= laterEvery) {
		r.since = 0
		return r.later.pop(), true, waited
	}
	r.since++
	if !r.urgent.empty() && (r.live.empty() || r.ahead < urgentEvery) {
		if !r.live.empty() {
			r.ahead++
		}
		return r.urgent.pop(), false, waited
	}
	r.ahead = 0
	return r.live.pop(), false, waited
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
