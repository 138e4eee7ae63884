package node

import (
	"net"
	"time"
)

// A connection's handshake (serveConn: the head, the upgrade, the
// device's setup, a join's store calls) grows its goroutine's stack to
// several times the size a new goroutine starts with, copying it at each
// doubling, and an ended goroutine gives a grown stack back: a goroutine
// per connection paid the growth every time, 4 % of a connection storm's
// CPU (docs/benchmarks.md). Handshakers are goroutines kept from one
// connection to the next instead. An idle one waits on a deep frame
// (handshakerRoom): the collector halves the stack of a goroutine that
// uses less than a quarter of it, and a handshaker waiting at the top of
// its stack would lose its size at every collection of a storm.

// handshakerIdle is how long a handshaker waits for another connection
// before it ends: a storm's keep serving, a quiet node's go away.
const handshakerIdle = 2 * time.Second

// handshakerRoom is the depth an idle handshaker waits at: stacks up to
// four times this keep their size while it waits.
const handshakerRoom = 8 << 10

// handshakeJob is an accepted connection for serveConn.
type handshakeJob struct {
	conn     net.Conn
	accepted time.Time
	hl       *connListener
	release  func()
}

// handshakers hands Serve's connections to idle handshakers, or to new
// ones when none is idle. Only Serve's goroutine calls serve and close.
type handshakers struct {
	handle func(handshakeJob) // serveConn
	idle   time.Duration      // handshakerIdle
	jobs   chan handshakeJob
}

func newHandshakers(handle func(handshakeJob), idle time.Duration) *handshakers {
	return &handshakers{handle: handle, idle: idle, jobs: make(chan handshakeJob)}
}

// serve has j served by an idle handshaker, or by a new one.
func (h *handshakers) serve(j handshakeJob) {
	select {
	case h.jobs <- j:
	default:
		go h.run(j)
	}
}

// close ends the idle handshakers; a busy one ends after its connection.
func (h *handshakers) close() { close(h.jobs) }

// run serves j, then whatever comes within the idle time of each end.
func (h *handshakers) run(j handshakeJob) {
	idle := time.NewTimer(h.idle)
	defer idle.Stop()
	for ok := true; ok; j, ok = h.next(idle) {
		h.handle(j)
	}
}

// next waits up to the idle time for a connection, handshakerRoom deep.
//
//go:noinline
func (h *handshakers) next(idle *time.Timer) (j handshakeJob, ok bool) {
	var room [handshakerRoom]byte
	occupy(room[:])
	idle.Reset(h.idle)
	select {
	case j, ok = <-h.jobs:
	case <-idle.C:
	}
	return j, ok
}

// occupy keeps b, a frame's array, from being optimised away.
//
//go:noinline
func occupy(b []byte) { b[0] = 0 }
