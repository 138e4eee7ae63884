package wsconn

import (
	"context"
	"log/slog"
	"runtime"
	"time"

	"github.com/gobwas/ws"

	"github.com/natterchat/natter/internal/mono"
)

// worker holds the per-worker scratch space a run uses, so a connection
// needs no buffers of its own between frames.
type worker struct {
	rbuf []byte   // read buffer, Config.ReadBufferSize
	bufs [][]byte // writev scratch, cap maxIov
	sys  workerSys
}

const (
	maxIov          = 64 // frames per writev
	maxReadsPerRun  = 4  // full read buffers per run before yielding
	maxFlushRounds  = 16 // writev calls per run before yielding
	maxRunRounds    = 8  // pending-event rounds per run before going back to the live work (an entry not yet taken keeps its place)
	lingerDrainRead = 4  // reads per run while discarding input of a closing conn
)

// yieldAfter is how long a worker runs connections without a pause
// before it lets the processor's other goroutines run (runtime.Gosched):
// on one processor, the goroutines of a JetStream round trip, each
// readied by the one before, otherwise waited at every step for a whole
// fan-out's writes, and a send's acknowledgement for several of them
// (docs/benchmarks.md).
const yieldAfter = 50 * time.Microsecond

// yieldBelow is the number of the process's goroutines from which a
// busy worker no longer yields. runtime.Gosched puts the worker on the
// global run queue, which a processor with goroutines queued of its own
// looks at once in 61 schedules: with the few dozen goroutines of a node
// sending, the worker is back within microseconds, but in a reconnect
// storm, with hundreds of device setups runnable, a yielding worker
// waited behind all of them, and the live deliveries meanwhile waited
// ten times as long (docs/benchmarks.md).
const yieldBelow = 256

func (s *Server) workerLoop(w *worker) {
	defer s.wg.Done()
	busySince := mono.Now() // since the worker last waited for work or yielded
	for {
		now := mono.Now()
		if now-busySince > yieldAfter {
			if runtime.NumGoroutine() < yieldBelow {
				runtime.Gosched()
				now = mono.Now()
			}
			busySince = now
		}
		if s.poll != nil {
			s.poll.harvest(w, now)
		}
		c, lv, waited := s.runq.pop()
		if c == nil {
			return
		}
		if waited {
			busySince = mono.Now()
		}
		if !c.claim(lv) {
			continue
		}
		s.run(c, w)
	}
}

// run processes c's pending events until there are none. Only one run of a
// connection exists at a time (schedRunning), which is what serializes
// everything done to its socket.
func (s *Server) run(c *Conn, w *worker) {
	for i := 0; ; i++ {
		c.mu.Lock()
		ev := c.pending &^ marks
		if ev == 0 || c.dead {
			c.pending &= marks
			c.sched &^= schedOwed | schedRunning
			c.mu.Unlock()
			return
		}
		if i == maxRunRounds {
			// Busy connection: stay scheduled, let the others have a turn.
			c.sched &^= schedRunning
			push := c.scheduleLocked(0, lvLive)
			c.mu.Unlock()
			c.push(push, lvLive)
			return
		}
		c.pending &= marks
		c.mu.Unlock()
		c.process(ev, w)
	}
}

// process handles one batch of events. Owned by the worker running c.
func (c *Conn) process(ev uint8, w *worker) {
	s := c.srv
	// A transport event disarms a one-shot registration: re-arm at the end.
	rearm := ev&(evRead|evWrite) != 0

	if c.st == stOpen {
		if ev&evTimeout != 0 {
			c.Close(ReasonIdleTimeout, "idle timeout")
		}
		if ev&evPing != 0 {
			c.mu.Lock()
			c.q.shrinkLocked() // a quiet connection gives back its burst room
			c.mu.Unlock()
			c.enqueueControl(pingFrame)
		}
		if ev&evRead != 0 {
			c.readFrames(w)
		}
		c.mu.Lock()
		closing, noFrame := c.closing, c.noFrame
		c.mu.Unlock()
		if closing {
			if noFrame {
				c.finalize()
				return
			}
			c.st = stClosing
			d := s.wheel.now.Load() + s.wheel.ticks(s.cfg.CloseTimeout)
			c.closeDeadline.Store(d)
			s.wheel.add(c, d)
		}
	} else {
		if ev&evTimeout != 0 {
			c.finalize() // close deadline passed: give up on flushing / EOF
			return
		}
		if ev&evRead != 0 && c.discard(w) {
			c.finalize()
			return
		}
	}

	if c.st != stLinger && (ev&evWrite != 0 || !c.wantOut) {
		if err := c.flush(w); err != nil {
			c.fail()
			return
		}
	}
	if c.st == stClosing && !c.wantOut {
		c.mu.Lock()
		empty := c.q.emptyLocked()
		c.mu.Unlock()
		if empty && c.peerClosed {
			// Close handshake complete (RFC 6455 §7.1.1: the server closes
			// the TCP connection first).
			c.finalize()
			return
		}
		if empty {
			// Close frame written. Half-close and wait for the client's EOF
			// (bounded by closeDeadline) instead of closing with unread
			// input, which would reset the connection and could destroy the
			// close frame in flight (RFC 6455 §7.1.1).
			c.tr.shutdownWrite()
			c.st = stLinger
			rearm = true
		}
	}
	if rearm || c.wantOut != c.armedOut {
		if err := c.tr.arm(c.wantOut); err != nil {
			c.fail()
			return
		}
		c.armedOut = c.wantOut
	}
}

// readFrames reads what the socket has and parses it, after the bytes
// the handshake read past the request (AttachConnBuffered).
func (c *Conn) readFrames(w *worker) {
	s := c.srv
	if pre := s.takePreface(c); pre != nil {
		frames, perr := c.p.feed(pre, s.cfg.MaxMessageSize, c)
		if frames > 0 {
			c.lastActive.Store(s.wheel.now.Load())
		}
		if perr != nil {
			pe := perr.(*protoError)
			c.Close(pe.reason, pe.msg)
			return
		}
	}
	for range maxReadsPerRun {
		n, err := c.tr.read(w.rbuf)
		if n > 0 {
			frames, perr := c.p.feed(w.rbuf[:n], s.cfg.MaxMessageSize, c)
			if frames > 0 {
				c.lastActive.Store(s.wheel.now.Load())
			}
			if perr != nil {
				pe := perr.(*protoError)
				c.Close(pe.reason, pe.msg)
				return
			}
			if c.closingFlag.Load() || n < len(w.rbuf) {
				return // drained (a level-triggered re-arm reports anything new)
			}
			continue
		}
		switch err {
		case errWouldBlock:
		case nil: // EOF without a close frame
			c.mu.Lock()
			c.closeLocked(ReasonClientClosed, 0, "", true)
			c.mu.Unlock()
		default:
			c.Close(ReasonIOError, "")
		}
		return
	}
}

// discard reads the input of a closing connection. While the parser is
// healthy it still parses, dropping messages, to see the client's close
// frame; after a protocol error the stream cannot be parsed, and any data
// that arrives after our close frame is taken as the client's reply. It
// reports whether the connection can be torn down now: EOF, a socket error,
// or the close handshake is complete.
func (c *Conn) discard(w *worker) bool {
	gotData := false
	for range lingerDrainRead {
		n, err := c.tr.read(w.rbuf)
		switch {
		case n > 0:
			if c.p.done {
				gotData = true
			} else if _, err := c.p.feed(w.rbuf[:n], c.srv.cfg.MaxMessageSize, lingerSink{c}); err != nil {
				gotData = true
			}
			continue
		case err == errWouldBlock:
		default:
			return true
		}
		break
	}
	return c.st == stLinger && (c.peerClosed || gotData)
}

// lingerSink drops everything but the client's close frame.
type lingerSink struct{ c *Conn }

func (lingerSink) onText([]byte) bool { return true }

func (s lingerSink) onControl(op ws.OpCode, _ []byte) bool {
	if op == ws.OpClose {
		s.c.peerClosed = true
	}
	return true
}

// flush writes queued frames with writev until the queue is empty or the
// socket would block (then writable interest is wanted).
func (c *Conn) flush(w *worker) error {
	for range maxFlushRounds {
		c.mu.Lock()
		bufs := c.q.peekLocked(w.bufs[:0])
		c.mu.Unlock()
		if len(bufs) == 0 {
			c.setWantOut(false)
			return nil
		}
		n, err := c.tr.writev(w, bufs)
		clear(bufs) // do not pin frames from the scratch space
		if n > 0 {
			c.mu.Lock()
			c.q.advanceLocked(n)
			c.mu.Unlock()
		}
		switch {
		case err == errWouldBlock:
			c.setWantOut(true)
			return nil
		case err != nil:
			return err
		}
	}
	// Still more: come back after the others.
	c.mu.Lock()
	c.pending |= evFlush
	c.mu.Unlock()
	return nil
}

func (c *Conn) setWantOut(v bool) {
	if c.wantOut == v {
		return
	}
	c.wantOut = v
	c.mu.Lock()
	c.outBlocked = v
	c.mu.Unlock()
}

// fail ends the connection after a socket error.
func (c *Conn) fail() {
	c.mu.Lock()
	c.closeLocked(ReasonIOError, 0, "", true)
	c.mu.Unlock()
	c.finalize()
}

// finalize closes the socket, releases everything and calls OnClose. It runs
// inside c's run, so no other worker can be using the fd.
func (c *Conn) finalize() {
	s := c.srv
	c.st = stClosed
	c.mu.Lock()
	c.dead = true
	reason := c.reason
	c.q.resetLocked()
	c.pending = 0
	c.mu.Unlock()
	c.tr.close()
	s.takePreface(c) // never read: the connection ended first
	c.p.release()
	s.wheel.remove(c)
	s.unregister(c)
	s.log.LogAttrs(context.Background(), slog.LevelDebug, "wsconn: closed",
		slog.Uint64("conn", c.id), slog.String("reason", reason.String()))
	s.h.OnClose(c, reason)
	s.conns.Done()
}
