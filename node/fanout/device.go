package fanout

import (
	"sync"
	"sync/atomic"

	"github.com/natterchat/natter/node/wsconn"
	"github.com/natterchat/natter/store"
)

// Device is the delivery half of one WebSocket connection of a user: its
// connection, and what live delivery must skip for it (a hold while it is
// set up, chats it is replaying, its own echo:false sends). The session
// embeds it in its per-connection object, so that a connection, its
// delivery state and its request state are one allocation.
type Device struct {
	// Immutable once registered (Init, then Hub.AddDevice).
	id   string
	user *User
	// conn is the device's connection, allocated with it.
	conn wsconn.Conn

	// skips holds the chats replaying (live delivery skips them), the
	// ids of this device's echo:false sends and the frames kept back by
	// the hold (see Hold), the value of its entry; nil while empty. One
	// map for all three keeps the device, and its connection, small: a
	// hold lasts the milliseconds of a setup, and a field for its frames
	// would cost every connection a size class (guarded by mu).
	skips map[skipKey][]*wsconn.Frame

	mu sync.Mutex
	// special counts the hold and the entries of skips but the hold's
	// frames (holdKey), so that the fan-out skips the lock for the usual
	// device that has none.
	special atomic.Int32
	// presenceUp says an "up" presence event went out (guarded by mu).
	presenceUp bool
	// hold keeps every live message from a device being set up, and
	// every other frame waits, until its chats are caught up (guarded
	// by mu; counted in special).
	hold bool
	// The fields are ordered to leave no padding: the session's device
	// adds its own after them and must stay in the 320 B size class.
}

// skipKey is an entry of Device.skips.
type skipKey struct {
	kind skipKind
	id   string // a chat id (skipChat) or a message id (skipEcho)
}

// skipKind says what a Device.skips entry is.
type skipKind uint8

const (
	skipChat skipKind = iota // a chat replaying
	skipEcho                 // a message sent with echo:false
	skipHold                 // the frames the hold keeps back, its value
)

// holdKey is the entry of the hold's frames in Device.skips, there only
// once a frame was kept back: a device whose setup gets none allocates
// no map for its hold.
var holdKey = skipKey{kind: skipHold}

// Init sets the device's id; it must be called once, before the device
// is attached or registered.
func (d *Device) Init(id string) { d.id = id }

// ID returns the device id.
func (d *Device) ID() string { return d.id }

// User returns the device's user; nil before Hub.AddDevice.
func (d *Device) User() *User { return d.user }

// Conn returns the device's connection.
func (d *Device) Conn() *wsconn.Conn { return &d.conn }

// Send queues a prepared frame. A full queue closes the connection as a
// slow consumer (the client resumes after reconnecting), and a closed
// connection drops it, so nothing here blocks or fails the caller. While
// the device is held, the frame waits for Release (see Hold).
func (d *Device) Send(f *wsconn.Frame) {
	if !d.keptBack(f) {
		_ = d.conn.Send(f)
	}
}

// SendReply is Send for the answer to the device's own request: its
// connection runs ahead of those that only have fan-out to write
// (wsconn.Conn.SendReply).
func (d *Device) SendReply(f *wsconn.Frame) {
	if !d.keptBack(f) {
		_ = d.conn.SendReply(f)
	}
}

// SendNotice queues a notice that nobody waits for (a member joined or
// left, came online or went): it may wait up to wsconn.Config.DeferDelay
// to leave in one write with the device's other frames, which in a storm
// of joins saves most of the writes. Order with other frames is kept, and
// while the device is held the notice waits for Release like Send's.
func (d *Device) SendNotice(f *wsconn.Frame) {
	if !d.keptBack(f) {
		_ = d.conn.SendDeferred(f)
	}
}

// SendSetup queues a frame of the device's setup even while the device is
// held: the frames held back follow it.
func (d *Device) SendSetup(f *wsconn.Frame) { _ = d.conn.Send(f) }

// keptBack appends f to the hold's frames if the device is held.
func (d *Device) keptBack(f *wsconn.Frame) bool {
	if d.special.Load() == 0 {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.hold {
		return false
	}
	if d.skips == nil {
		d.skips = make(map[skipKey][]*wsconn.Frame)
	}
	d.skips[holdKey] = append(d.skips[holdKey], f)
	return true
}

// SetPresence records whether the device is announced online and, when
// that changes, calls announce under the device's lock, so that a "down"
// can never overtake the "up" it follows.
func (d *Device) SetPresence(up bool, announce func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.presenceUp != up {
		d.presenceUp = up
		announce()
	}
}

// IfPresent calls announce under the device's lock if the device is
// announced online, so that a repeated "up" cannot overtake its "down".
func (d *Device) IfPresent(announce func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.presenceUp {
		announce()
	}
}

// presence reports whether the device is announced online.
func (d *Device) presence() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.presenceUp
}

// Hold stops all live delivery to d until Release, while the device is
// set up: live messages skip it (its catch-up sends them), and every
// other frame sent with Send or SendNotice (a member's notice, its own
// user's membership change, a presence change, a broadcast) waits, so
// that the setup's frames sent with SendSetup (its Unread, the changes
// it missed) come first, as the protocol says.
func (d *Device) Hold() {
	d.mu.Lock()
	if !d.hold {
		d.hold = true
		d.special.Add(1)
	}
	d.mu.Unlock()
}

// Release ends a Hold and queues the frames it kept back, in their order
// and ahead of any sent later.
func (d *Device) Release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.hold {
		return
	}
	if held, ok := d.skips[holdKey]; ok {
		// Queued under the lock, so that a frame sent meanwhile waits
		// for them; conn.Send only queues. A closed connection takes no
		// more.
		for _, f := range held {
			if d.conn.Send(f) != nil {
				break
			}
		}
		delete(d.skips, holdKey)
		if len(d.skips) == 0 {
			d.skips = nil
		}
	}
	d.hold = false
	// Last: until special says so, senders take the lock (keptBack) and
	// so come after the frames queued above.
	d.special.Add(-1)
}

// BeginResume stops live delivery of chatID to d until EndResume.
func (d *Device) BeginResume(chatID string) {
	d.mu.Lock()
	d.addSkipLocked(skipKey{kind: skipChat, id: chatID})
	d.mu.Unlock()
}

// EndResume lets live delivery of chatID to d resume.
func (d *Device) EndResume(chatID string) {
	d.mu.Lock()
	d.dropSkipLocked(skipKey{kind: skipChat, id: chatID})
	d.mu.Unlock()
}

// SuppressEcho keeps message id from this device's live delivery. It must
// be called before publishing: the RePublish copy can arrive before the
// publish returns.
func (d *Device) SuppressEcho(id string) {
	d.mu.Lock()
	d.addSkipLocked(skipKey{kind: skipEcho, id: id})
	d.mu.Unlock()
}

// UnsuppressEcho drops a suppression whose message was never delivered
// (the publish failed, or it was a duplicate that is not re-delivered).
func (d *Device) UnsuppressEcho(id string) {
	d.mu.Lock()
	d.dropSkipLocked(skipKey{kind: skipEcho, id: id})
	d.mu.Unlock()
}

// skipDelivery reports whether live delivery of m in chatID must skip
// this device: it is held, replaying the chat, or it sent m with echo
// false.
func (d *Device) skipDelivery(chatID string, m *store.Message) bool {
	if d.special.Load() == 0 {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.hold {
		return true
	}
	if _, ok := d.skips[skipKey{kind: skipChat, id: chatID}]; ok {
		return true
	}
	return m.DeviceID == d.id && d.dropSkipLocked(skipKey{kind: skipEcho, id: m.ID})
}

// addSkipLocked adds k under d.mu.
func (d *Device) addSkipLocked(k skipKey) {
	if d.skips == nil {
		d.skips = make(map[skipKey][]*wsconn.Frame)
	}
	if _, ok := d.skips[k]; !ok {
		d.skips[k] = nil
		d.special.Add(1)
	}
}

// dropSkipLocked removes k under d.mu and reports whether it was there.
func (d *Device) dropSkipLocked(k skipKey) bool {
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

// setUser ties d to its user when it is registered.
func (d *Device) setUser(u *User) { d.user = u }
