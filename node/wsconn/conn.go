package wsconn

import (
	"net"
	"sync"
	"sync/atomic"

	"github.com/gobwas/ws"
)

// Events a run of a connection handles; OR-ed into Conn.pending.
const (
	evRead    uint8 = 1 << iota // transport: readable, EOF or error (epoll: disarmed)
	evWrite                     // transport: writable (epoll: disarmed)
	evFlush                     // data was queued
	evClose                     // Close was called
	evPing                      // wheel: silent for PingInterval
	evTimeout                   // wheel: idle timeout or close deadline passed

	// inDeferred is not an event: it marks a connection in the server's
	// list of connections with deferred frames (SendDeferred), and a run
	// leaves it set.
	inDeferred

	// marks are the bits of Conn.pending that are not events.
	marks = inDeferred
)

// Bits of Conn.sched besides the run queue's levels (level.bit). They
// share a byte because the Conn's size is counted (see its fields).
const (
	schedOwed    uint8 = 1 << (uint8(levels) + iota) // a run is owed: c is queued for its events, or running
	schedRunning                                     // a worker runs c
)

// Run states, owned by the worker processing the connection.
const (
	stOpen    uint8 = iota
	stClosing       // flushing the queue and close frame; inbound data discarded
	stLinger        // close frame written and write side shut down; waiting for EOF
	stClosed        // socket closed, OnClose called
)

// Conn is one attached WebSocket connection. Its methods are safe for
// concurrent use.
type Conn struct {
	// Immutable after Attach.
	id   uint64
	srv  *Server
	data any
	tr   transport
	sys  connSys // the platform's per-connection transport state, kept inline

	// The fields are ordered to leave no padding: the Conn lives inside
	// the application's per-connection object (see AttachConn), which
	// should stay in a small size class.

	// Owned by the worker processing the conn (see Server.run).
	p          parser
	st         uint8
	wantOut    bool // a write hit EAGAIN: writable interest wanted
	armedOut   bool // writable interest currently armed
	peerClosed bool // the client's close frame was received

	// Shared with the timer wheel without locks.
	closingFlag   atomic.Bool  // mirror of closing for the parse loop
	lastActive    atomic.Int64 // wheel tick of the last complete inbound frame
	pingedAt      atomic.Int64 // the lastActive value a ping was sent for
	closeDeadline atomic.Int64 // tick after which a closing conn is torn down; 0 if not closing

	// Guarded by srv.wheel.mu.
	wNext, wPrev *Conn
	wDue         int64

	mu  sync.Mutex
	wIn bool // guarded by srv.wheel.mu: in the wheel
	// Guarded by mu.
	pending    uint8       // events for the next run
	sched      uint8       // the run queue's FIFOs with an entry of c not yet claimed (level.bit), schedOwed, schedRunning
	closing    bool        // Close was called or the conn ended: Send fails
	noFrame    bool        // close without a close frame (EOF, I/O error)
	dead       bool        // finalized; never run again
	outBlocked bool        // the worker waits for writability: Send need not schedule a flush
	reason     CloseReason // why it closes, valid once closing
	q          outQueue
}

// ID returns the connection's id, unique per Server.
func (c *Conn) ID() uint64 { return c.id }

// Data returns the value given to Attach.
func (c *Conn) Data() any { return c.data }

// RemoteAddr returns the client's address, or nil once the socket is
// closed. It asks the kernel rather than keeping the address: nothing on
// the hot path needs it, and an idle connection should hold no more than
// it must.
func (c *Conn) RemoteAddr() net.Addr { return c.tr.remoteAddr() }

// Send queues f for the connection without blocking; a worker writes it.
// It is safe from any goroutine. It returns ErrClosed once the connection is
// closing. If f would take the queued bytes over Config.MaxOutboundBytes,
// Send closes the connection with ReasonSlowConsumer and returns
// ErrSlowConsumer. f is shared, not copied: it must not change.
func (c *Conn) Send(f *Frame) error { return c.send(f, false) }

// SendReply is Send for the answer to a client's request: the
// connection's run is urgent work (see runQueue), ahead of connections
// that only have fan-out to write.
func (c *Conn) SendReply(f *Frame) error { return c.send(f, true) }

func (c *Conn) send(f *Frame, reply bool) error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return ErrClosed
	}
	if c.q.bytes+f.Len() > c.srv.cfg.MaxOutboundBytes {
		push := c.closeLocked(ReasonSlowConsumer, StatusSlowConsumer, "slow consumer", false)
		c.mu.Unlock()
		c.push(push, lvLive)
		return ErrSlowConsumer
	}
	c.q.pushLocked(f)
	lv := lvLive
	if reply {
		lv = lvUrgent
	}
	push := false
	if !c.outBlocked {
		push = c.scheduleLocked(evFlush, lv)
	}
	c.mu.Unlock()
	c.push(push, lv)
	return nil
}

// SendDeferred queues f like Send, but does not have it written at once:
// it leaves with the next frame sent with Send, or at the latest
// Config.DeferDelay later. Notices that nobody waits for (a member joined
// or went offline) are sent this way: in a storm of joins, a member's
// notices leave in one write instead of one write each, and the kernel's
// cost is per write. Frames keep their order either way.
func (c *Conn) SendDeferred(f *Frame) error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return ErrClosed
	}
	if c.q.bytes+f.Len() > c.srv.cfg.MaxOutboundBytes {
		push := c.closeLocked(ReasonSlowConsumer, StatusSlowConsumer, "slow consumer", false)
		c.mu.Unlock()
		c.push(push, lvLive)
		return ErrSlowConsumer
	}
	c.q.pushLocked(f)
	// A wait for writability takes it along. A run that is on its way
	// may not (it may have flushed already), so a scheduled connection
	// is listed too.
	list := !c.outBlocked && !c.dead && c.pending&inDeferred == 0
	if list {
		c.pending |= inDeferred
	}
	c.mu.Unlock()
	if list {
		c.srv.deferFlush(c)
	}
	return nil
}

// flushDeferred has c's deferred frames written: the server's deferred
// list calls it when their delay is up. The flush is later work (see
// runQueue), unless c is already queued or running, whose run takes it
// along.
func (c *Conn) flushDeferred() {
	c.mu.Lock()
	c.pending &^= inDeferred
	push := c.scheduleLocked(evFlush, lvLater)
	c.mu.Unlock()
	c.push(push, lvLater)
}

// claim is a worker's claim on c, taken from the run queue at level lv:
// false if c owes no run (an entry of c at another level ran it), runs
// on another worker (which takes the events along) or is dead; otherwise
// c runs on this worker.
func (c *Conn) claim(lv level) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sched &^= lv.bit()
	if c.sched&(schedOwed|schedRunning) != schedOwed || c.dead {
		return false
	}
	c.sched |= schedRunning
	return true
}

// SendText is NewTextFrame(payload) then Send; payload must be valid UTF-8.
// For a fan-out, build the Frame once and Send it to every connection.
func (c *Conn) SendText(payload []byte) error {
	return c.Send(NewTextFrame(payload))
}

// Close closes the connection with reason. It queues a close frame with
// reason.Code() and text (cut to 123 bytes) after the pending data, flushes
// what it can within a bounded time (1s), closes the socket and calls
// Handler.OnClose(reason) once. ReasonIOError closes without a close frame.
// Close does not wait; it is idempotent and only the first reason counts.
func (c *Conn) Close(reason CloseReason, text string) {
	c.mu.Lock()
	push := c.closeLocked(reason, reason.Code(), text, reason == ReasonIOError)
	c.mu.Unlock()
	c.push(push, lvLive)
}

// closeLocked marks the connection closing and queues its close frame
// (unless noFrame). It reports whether the caller must push c on the run
// queue after releasing mu.
func (c *Conn) closeLocked(reason CloseReason, code ws.StatusCode, text string, noFrame bool) bool {
	if c.closing {
		return false
	}
	c.closing, c.reason, c.noFrame = true, reason, noFrame
	c.closingFlag.Store(true)
	if !noFrame {
		// Past MaxOutboundBytes on purpose: the close frame must follow.
		c.q.pushLocked(newCloseFrame(code, text))
	}
	return c.scheduleLocked(evClose, lvLive)
}

// scheduleLocked records ev, work at level lv, and reports whether the
// caller must push c on the run queue at lv after releasing mu: c is
// neither running nor queued at lv or a more urgent level.
func (c *Conn) scheduleLocked(ev uint8, lv level) bool {
	if c.dead {
		return false
	}
	c.pending |= ev
	if c.sched&schedRunning != 0 {
		return false // the run loop picks ev up
	}
	c.sched |= schedOwed
	if c.sched&lv.upTo() != 0 {
		return false
	}
	c.sched |= lv.bit()
	return true
}

// push queues c at level lv if push is set (scheduleLocked said so).
func (c *Conn) push(push bool, lv level) {
	if push {
		c.srv.runq.push(c, lv)
	}
}

// schedule records ev and makes sure a worker will run c; input to read
// is urgent work.
func (c *Conn) schedule(ev uint8) {
	lv := lvLive
	if ev&evRead != 0 {
		lv = lvUrgent
	}
	c.mu.Lock()
	push := c.scheduleLocked(ev, lv)
	c.mu.Unlock()
	c.push(push, lv)
}

// enqueueControl queues a pong or ping regardless of MaxOutboundBytes.
func (c *Conn) enqueueControl(f *Frame) {
	c.mu.Lock()
	if !c.closing {
		c.q.pushLocked(f)
		c.pending |= evFlush // we are running: the run loop picks it up
	}
	c.mu.Unlock()
}

// timerCheck is called by the wheel (under wheel.mu) at c's due tick. It
// returns the events to schedule and the next due tick (0: leave the wheel).
func (c *Conn) timerCheck(now int64) (ev uint8, due int64) {
	if d := c.closeDeadline.Load(); d != 0 {
		if now >= d {
			return evTimeout, 0
		}
		return 0, d
	}
	w, cfg := c.srv.wheel, &c.srv.cfg
	last := c.lastActive.Load()
	idle := last + w.ticks(cfg.IdleTimeout)
	if now >= idle {
		return evTimeout, 0 // closing re-adds c with its close deadline
	}
	ping := last + w.ticks(cfg.PingInterval)
	if ping >= idle || c.pingedAt.Load() == last {
		return 0, idle
	}
	if now >= ping {
		c.pingedAt.Store(last)
		return evPing, idle
	}
	return 0, ping
}

// onText implements parseSink.
func (c *Conn) onText(msg []byte) bool {
	if c.closingFlag.Load() {
		return false
	}
	c.srv.h.OnMessage(c, msg)
	return !c.closingFlag.Load()
}

// onControl implements parseSink.
func (c *Conn) onControl(op ws.OpCode, payload []byte) bool {
	switch op {
	case ws.OpPing:
		c.enqueueControl(newFrame(ws.OpPong, payload))
	case ws.OpClose:
		// Echo the client's code (RFC 6455 §5.5.1), 1000 if it sent none.
		code := ws.StatusNormalClosure
		if len(payload) >= 2 {
			code = ws.StatusCode(uint16(payload[0])<<8 | uint16(payload[1]))
		}
		c.peerClosed = true
		c.mu.Lock()
		push := c.closeLocked(ReasonClientClosed, code, "", false)
		c.mu.Unlock()
		c.push(push, lvLive)
		return false
	}
	return !c.closingFlag.Load()
}

// QueuedBytes is the number of bytes queued for c and not yet written.
func (c *Conn) QueuedBytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.q.bytes
}
