package wsconn

import "sync"

// runQueue is the FIFO of connections with work, consumed by the worker
// pool. A connection is in it at most once (Conn.scheduled), so it never
// holds more entries than there are connections, and pushing never blocks:
// Send may be called from a NATS callback that must not wait on sockets.
type runQueue struct {
	mu     sync.Mutex
	cond   sync.Cond
	q      []*Conn // guarded by mu
	head   int     // guarded by mu
	closed bool    // guarded by mu
}

func newRunQueue() *runQueue {
	r := &runQueue{}
	r.cond.L = &r.mu
	return r
}

func (r *runQueue) push(c *Conn) {
	r.mu.Lock()
	if r.head > 0 && r.head >= len(r.q)/2 && len(r.q) == cap(r.q) {
		n := copy(r.q, r.q[r.head:])
		clear(r.q[n:])
		r.q, r.head = r.q[:n], 0
	}
	r.q = append(r.q, c)
	r.mu.Unlock()
	r.cond.Signal()
}

// pop blocks until a connection is queued; it returns nil once the queue is
// closed and empty.
func (r *runQueue) pop() *Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.head == len(r.q) {
		if r.closed {
			return nil
		}
		r.cond.Wait()
	}
	c := r.q[r.head]
	r.q[r.head] = nil
	r.head++
	if r.head == len(r.q) {
		r.q, r.head = r.q[:0], 0
	}
	return c
}

// close wakes every worker; they exit once the queue is empty.
func (r *runQueue) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cond.Broadcast()
}
