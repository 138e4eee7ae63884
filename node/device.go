package node

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/node/wsconn"
	"github.com/natterchat/natter/store"
)

// maxQueuedFrames bounds the client frames waiting for a device's runner;
// a client that outruns it (past its rate limit, too) is flooding.
const maxQueuedFrames = 256

// device is one WebSocket connection of a user. It owns no goroutine while
// idle: client frames are queued by the connection layer's worker and run,
// in order, by a runner goroutine that exists only while frames wait.
type device struct {
	// Immutable after the handshake goroutine set it up.
	id   string
	n    *Node
	user *localUser
	// conn is the device's connection, allocated with it: one object
	// per connection rather than two.
	conn wsconn.Conn

	mu      sync.Mutex
	queue   [][]byte // guarded by mu: frames awaiting the runner
	running bool     // guarded by mu: a runner goroutine exists
	live    bool     // guarded by mu: setup done, frames may run
	// registered and closed order attach against OnClose: whichever sees
	// both set runs the device's cleanup.
	registered bool // guarded by mu
	closed     bool // guarded by mu
	presenceUp bool // guarded by mu: an "up" presence event went out
	// hold keeps every live message from a device being set up, until
	// its chats are caught up from the stream position of its Welcome.
	hold bool // guarded by mu
	// skips holds the chats replaying (live delivery skips them) and the
	// ids of this device's echo:false sends; nil while empty. One map
	// for both keeps the device, and its connection, one 320 B object.
	skips map[skipKey]struct{} // guarded by mu
	// special counts the hold and the entries of skips, so that the
	// fan-out skips the lock for the usual device that has none.
	special atomic.Int32

	// Owned by the connection layer's OnMessage calls (never concurrent).
	tokens   float32 // at most the burst: float32 is plenty
	lastFill int64   // monotonic nanoseconds (see monoNow); 0 before the first frame
}

// skipKey is an entry of device.skips.
type skipKey struct {
	echo bool // id is a message id (echo:false), not a resuming chat id
	id   string
}

// addSkipLocked adds k under d.mu.
func (d *device) addSkipLocked(k skipKey) {
	if d.skips == nil {
		d.skips = make(map[skipKey]struct{})
	}
	if _, ok := d.skips[k]; !ok {
		d.skips[k] = struct{}{}
		d.special.Add(1)
	}
}

// dropSkipLocked removes k under d.mu and reports whether it was there.
func (d *device) dropSkipLocked(k skipKey) bool {
	if _, ok := d.skips[k]; !ok {
		return false
	}
	delete(d.skips, k)
	d.special.Add(-1)
	if len(d.skips) == 0 {
		d.skips = nil
	}
	return true
}

// send queues a prepared frame. A full queue closes the connection as a
// slow consumer (the client resumes after reconnecting), so nothing here
// blocks the caller.
func (d *device) send(f *wsconn.Frame) {
	_ = d.conn.Send(f)
	d.n.metrics.framesOut.Add(1)
}

// sendFrame encodes and queues one frame.
func (d *device) sendFrame(channel, typ string, contents any) {
	d.send(wsconn.NewTextFrame(wire.Encode(channel, typ, contents)))
}

// sendError answers a rejected client frame.
func (d *device) sendError(channel, ref, typ string, e *wire.Error) {
	out := *e
	out.Ref, out.Type = ref, typ
	if channel == "" {
		channel = wire.ChannelSession
	}
	d.sendFrame(channel, wire.TypeError, &out)
	d.n.metrics.clientErrors.Add(1)
}

// monoEpoch anchors monoNow.
var monoEpoch = time.Now()

// monoNow is a monotonic clock in nanoseconds, never 0: an int64 where a
// time.Time would cost every device 16 more bytes.
func monoNow() int64 { return int64(time.Since(monoEpoch)) + 1 }

// allow applies the device's token bucket at now (monoNow); it runs on
// OnMessage calls.
func (d *device) allow(now int64, rate float64, burst int) bool {
	if d.lastFill == 0 {
		d.tokens = float32(burst)
	} else {
		d.tokens = float32(min(float64(d.tokens)+time.Duration(now-d.lastFill).Seconds()*rate, float64(burst)))
	}
	d.lastFill = now
	if d.tokens < 1 {
		return false
	}
	d.tokens--
	return true
}

// enqueue hands a client frame to the runner, starting it if needed.
// It reports false when the device is flooding.
func (d *device) enqueue(frame []byte) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.queue) >= maxQueuedFrames {
		return false
	}
	d.queue = append(d.queue, frame)
	d.startRunnerLocked()
	return true
}

// setLive marks setup done and runs frames that arrived during it.
func (d *device) setLive() {
	d.mu.Lock()
	d.live = true
	d.startRunnerLocked()
	d.mu.Unlock()
}

func (d *device) startRunnerLocked() {
	if d.live && !d.running && len(d.queue) > 0 {
		d.running = true
		d.n.runners.Add(1)
		go d.run()
	}
}

// run handles queued frames in order and exits when none are left.
func (d *device) run() {
	defer d.n.runners.Done()
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
		d.n.handleFrame(d, frame)
	}
}

// skipDelivery reports whether live delivery of m in chatID must skip
// this device: it is replaying the chat, or it sent m with echo false.
func (d *device) skipDelivery(chatID string, m *store.Message) bool {
	if d.special.Load() == 0 {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.hold {
		return true
	}
	if _, ok := d.skips[skipKey{id: chatID}]; ok {
		return true
	}
	return m.DeviceID == d.id && d.dropSkipLocked(skipKey{echo: true, id: m.ID})
}

// setHold stops all live delivery to d; releaseHold ends that.
func (d *device) setHold() {
	d.mu.Lock()
	if !d.hold {
		d.hold = true
		d.special.Add(1)
	}
	d.mu.Unlock()
}

func (d *device) releaseHold() {
	d.mu.Lock()
	if d.hold {
		d.hold = false
		d.special.Add(-1)
	}
	d.mu.Unlock()
}

// beginResume stops live delivery of chatID to d until endResume.
func (d *device) beginResume(chatID string) {
	d.mu.Lock()
	d.addSkipLocked(skipKey{id: chatID})
	d.mu.Unlock()
}

func (d *device) endResume(chatID string) {
	d.mu.Lock()
	d.dropSkipLocked(skipKey{id: chatID})
	d.mu.Unlock()
}

// suppressEcho keeps message id from this device's live delivery. It must
// be called before publishing: the RePublish copy can arrive before the
// publish returns.
func (d *device) suppressEcho(id string) {
	d.mu.Lock()
	d.addSkipLocked(skipKey{echo: true, id: id})
	d.mu.Unlock()
}

// unsuppressEcho drops a suppression whose message was never delivered
// (the publish failed, or it was a duplicate that is not re-delivered).
func (d *device) unsuppressEcho(id string) {
	d.mu.Lock()
	d.dropSkipLocked(skipKey{echo: true, id: id})
	d.mu.Unlock()
}
