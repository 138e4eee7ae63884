package handshake

import (
	"net"
	"sync"
)

// Admission counts the connections whose request head is still being
// read, per source address and in all: all clients together hold at most
// Total, and once a quarter of that is in use (the node is under
// pressure) a source past PerSource gets no more, so a client that opens
// connections and stalls in the middle of their heads cannot take the
// rest: new clients and health checks are never queued behind stalled
// handshakes. Below that pressure a source may have more: many users
// behind one NAT reconnect at once after a node drains, and a loaded node
// reads their heads a little late. The zero value admits nothing; build
// it with NewAdmission.
type Admission struct {
	perSource, total int

	mu      sync.Mutex
	sources map[string]int // guarded by mu
	pending int            // guarded by mu
}

// NewAdmission admits at most total pending heads in all and, once a
// quarter of total is pending, at most perSource per source address (0:
// no per-source limit).
func NewAdmission(perSource, total int) *Admission {
	return &Admission{perSource: perSource, total: total, sources: make(map[string]int)}
}

// pressured reports whether a quarter of the total is in use. a.mu is
// held.
func (a *Admission) pressured() bool { return a.pending*4 >= a.total }

// Admit counts a connection from addr while its head is read. It reports
// false, counting nothing, when a limit is reached; otherwise the caller
// calls release once the head is read (or the connection gave up).
func (a *Admission) Admit(addr net.Addr) (release func(), ok bool) {
	src := sourceOf(addr)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pending >= a.total || (a.perSource > 0 && a.sources[src] >= a.perSource && a.pressured()) {
		return nil, false
	}
	a.pending++
	a.sources[src]++
	var once sync.Once
	return func() { once.Do(func() { a.release(src) }) }, true
}

func (a *Admission) release(src string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pending--
	if a.sources[src] <= 1 {
		delete(a.sources, src)
	} else {
		a.sources[src]--
	}
}

// Pending is the number of connections admitted and not released.
func (a *Admission) Pending() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pending
}

// sourceOf is the address's host: the port changes with every connection.
func sourceOf(addr net.Addr) string {
	if tcp, ok := addr.(*net.TCPAddr); ok {
		return string(tcp.IP.To16())
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host
}
