package wsconn

import "sync"

// runQueue holds the connections with work, consumed by the worker pool,
// in two FIFOs: live work (a frame sent, a read, a timer) and later work
// (the deferred notices' flush, see Conn.SendDeferred). Workers take live
// work first and later work when there is no live work, or once every
// laterEvery live runs so that it is never starved: a deferred flush
// lists every connection with a notice waiting, thousands in a
// connection storm, and a live message queued behind all of them waited
// for all of their writes.
//
// A connection is in each FIFO at most once (Conn.scheduled, and the
// inLater mark of Conn.pending), so they never hold more entries than there are
// connections, and pushing never blocks: Send may be called from a NATS
// callback that must not wait on sockets.
type runQueue struct {
	mu     sync.Mutex
	cond   sync.Cond
	live   fifo // guarded by mu
	later  fifo // guarded by mu
	since  int  // live runs since later work was taken; guarded by mu
	closed bool // guarded by mu
}

// laterEvery is how many live runs may pass later work by in a row.
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

// pushLater queues later work.
func (r *runQueue) pushLater(c *Conn) {
	r.mu.Lock()
	r.later.push(c)
	r.mu.Unlock()
	r.cond.Signal()
}

// pop blocks until a connection is queued and returns it, with later set
// if it came from the later FIFO (the worker must then check that no
// other run of it exists, Conn.takeLater); it returns nil once the queue
// is closed and empty.
func (r *runQueue) pop() (c *Conn, later bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.live.empty() && r.later.empty() {
		if r.closed {
			return nil, false
		}
		r.cond.Wait()
	}
	if !r.later.empty() && (r.live.empty() || r.since >= laterEvery) {
		r.since = 0
		return r.later.pop(), true
	}
	r.since++
	return r.live.pop(), false
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
