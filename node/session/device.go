package session

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/natterchat/natter/internal/mono"
	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/fanout"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/node/wsconn"
)

// maxQueuedFrames bounds the client frames waiting for a device's runner;
// a client that outruns it (past its rate limit, too) is flooding.
const maxQueuedFrames = 256

// device is one WebSocket connection of a user: its delivery state (the
// embedded fanout.Device, with the connection itself) and its request
// state. It owns no goroutine while idle: client frames are queued by the
// connection layer's worker and run, in order, by a runner goroutine that
// exists only while frames wait. One object per connection: its size is
// guarded by TestConnectionStateSizes.
type device struct {
	fanout.Device

	mu    sync.Mutex
	queue [][]byte // guarded by mu: frames awaiting the runner

	// Owned by the connection layer's OnMessage calls (never concurrent).
	lastFill uint32  // monoMillis of the last frame
	tokens   float32 // at most the burst: float32 is plenty; -1 before the first frame

	// expiry is when the device's token expires, in Unix seconds (0: a
	// guest, never): set by Attach and Refresh (expiries.extend), read
	// by CloseExpired.
	// Seconds in 32 bits last until 2106 and keep the device in its size
	// class.
	expiry atomic.Uint32

	running bool // guarded by mu: a runner goroutine exists
	live    bool // guarded by mu: setup done, frames may run
	// registered and closed order Attach against OnClose: whichever sees
	// both set runs the device's cleanup.
	registered bool // guarded by mu
	closed     bool // guarded by mu
}

// who is the device's user as the chat operations take it.
func (d *device) who() chat.Identity {
	u := d.User()
	return chat.Identity{ID: u.ID(), Name: u.Name(), Guest: u.Guest()}
}

// sendFrame encodes and queues one frame, the answer to a request of
// the device (fanout.Device.SendReply).
func (d *device) sendFrame(m *Metrics, channel, typ string, contents any) {
	d.SendReply(frameOf(channel, typ, contents))
	m.FramesOut.Add(1)
}

// sendFrameAhead is sendFrame for a frame that another one follows at
// once: it waits for that one (SendNotice), and both leave in one write.
func (d *device) sendFrameAhead(m *Metrics, channel, typ string, contents any) {
	d.SendNotice(frameOf(channel, typ, contents))
	m.FramesOut.Add(1)
}

// sendSetupFrame is sendFrame for a frame of the device's setup, sent
// while it is held (fanout.Device.SendSetup).
func (d *device) sendSetupFrame(m *Metrics, channel, typ string, contents any) {
	d.SendSetup(frameOf(channel, typ, contents))
	m.FramesOut.Add(1)
}

// frameOf encodes contents as a frame for one device. A member list's
// guests, kept encoded by presence (wire.MemberRun), are written from
// where they are, not copied into the frame (wire.EncodeListParts).
func frameOf(channel, typ string, contents any) *wsconn.Frame {
	if l, ok := contents.(wire.MemberList); ok && l.Run.Len() > 0 {
		return wsconn.TextFrameOfParts(wire.EncodeListParts(wsconn.TextHeaderRoom, channel, typ, l))
	}
	return wsconn.TextFrameAfter(wire.EncodeAfter(wsconn.TextHeaderRoom, channel, typ, contents))
}

// sendError answers a rejected client frame.
func (d *device) sendError(m *Metrics, channel, ref, typ string, e *wire.Error) {
	out := *e
	out.Ref, out.Type = ref, typ
	if channel == "" {
		channel = wire.ChannelSession
	}
	d.sendFrame(m, channel, wire.TypeError, &out)
	m.ClientErrors.Add(1)
}

// monoMillis is a monotonic clock in milliseconds: 32 bits where a
// time.Time would cost every device 16 more bytes. It wraps every 49.7
// days; differences of two readings are right modulo that, which is all
// the rate limiter needs (a device silent for a multiple of 49.7 days may
// find its bucket less than full, once).
func monoMillis() uint32 { return uint32(mono.Now() / time.Millisecond) }

// allow applies the device's token bucket at now (monoMillis); it runs on
// OnMessage calls. A new device's bucket is full.
func (d *device) allow(now uint32, rate float64, burst int) bool {
	if d.tokens < 0 {
		d.tokens = float32(burst)
	} else {
		elapsed := float64(now-d.lastFill) / 1000
		d.tokens = float32(min(float64(d.tokens)+elapsed*rate, float64(burst)))
	}
	d.lastFill = now
	if d.tokens < 1 {
		return false
	}
	d.tokens--
	return true
}

// retryAfter is how long, in whole milliseconds (at least 1), until the
// bucket that allow just found empty holds a frame again.
func (d *device) retryAfter(rate float64) int64 {
	return max(int64(math.Ceil((1-float64(d.tokens))/rate*1000)), 1)
}

// enqueue hands a client frame to the runner, starting it if needed.
// It reports false when the device is flooding.
func (d *device) enqueue(s *Server, frame []byte) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.queue) >= maxQueuedFrames {
		return false
	}
	d.queue = append(d.queue, frame)
	d.startRunnerLocked(s)
	return true
}

// setLive marks setup done and runs frames that arrived during it.
func (d *device) setLive(s *Server) {
	d.mu.Lock()
	d.live = true
	d.startRunnerLocked(s)
	d.mu.Unlock()
}

func (d *device) startRunnerLocked(s *Server) {
	if d.live && !d.running && len(d.queue) > 0 {
		d.running = true
		s.runners.Add(1)
		go d.run(s)
	}
}

// run handles queued frames in order and exits when none are left.
func (d *device) run(s *Server) {
	defer s.runners.Done()
	for {
		d.mu.Lock()
		if len(d.queue) == 0 {
			d.running = false
			d.queue = nil // an idle device keeps no buffer
			d.mu.Unlock()
			return
		}
		frame := d.queue[0]
		d.queue[0] = nil
		d.queue = d.queue[1:]
		d.mu.Unlock()
		s.handleFrame(d, frame)
	}
}

// markRegistered records that the device is in the registry, and in the
// index of expiries if it is open, and reports whether it closed before
// that (its OnClose then left the cleanup to the caller).
func (d *device) markRegistered(e *expiries) (closedEarly bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.registered = !d.closed
	if d.registered {
		e.add(d)
	}
	return d.closed
}

// markClosed records the connection's end and reports whether the device
// was registered (its cleanup is then the caller's).
func (d *device) markClosed() (registered bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return d.registered
}

// ifOpen runs f under the device's lock unless the connection has
// closed, so that f's effect is ordered before the cleanup's.
func (d *device) ifOpen(f func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		f()
	}
}
