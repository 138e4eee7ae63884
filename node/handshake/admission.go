package handshake

import (
	"net"
	"sync"
)

// Admission counts the connections whose request head is still being
// read, per source address and in all: a client that opens connections
// and stalls in the middle of their heads holds at most PerSource of
// them, and all clients together at most Total, so new clients and health
// checks are never queued behind stalled handshakes. The zero value admits
// nothing; build it with NewAdmission.
type Admission struct {
	perSource, total int

	mu      sync.Mutex
	sources map[string]int // guarded by mu
	pending int            // guarded by mu
}

// NewAdmission admits at most perSource pending heads per source address
// (0: no per-source limit) and total in all.
func NewAdmission(perSource, total int) *Admission {
	return &Admission{perSource: perSource, total: total, sources: make(map[string]int)}
}

// Admit counts a connection from addr while its head is read. It reports
// false, counting nothing, when a limit is reached; otherwise the caller
// calls release once the head is read (or the connection gave up).
func (a *Admission) Admit(addr net.Addr) (release func(), ok bool) {
	src := sourceOf(addr)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pending >= a.total || (a.perSource > 0 && a.sources[src] >= a.perSource) {
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
