package node

import (
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/node/wsconn"
	"github.com/natterchat/natter/subjects"
)

// presenceEvent is published on subjects.Presence for every device that
// connects (Up) or disconnects on a node. Chats are the user's chats, so
// that receivers can tell co-members without a store lookup.
type presenceEvent struct {
	User   string    `json:"user"`
	Name   string    `json:"name"`
	Device string    `json:"device"`
	Node   string    `json:"node"`
	Up     bool      `json:"up"`
	At     time.Time `json:"at"`
	Chats  []string  `json:"chats,omitempty"`
}

// deviceInfo is one online device in the presence view.
type deviceInfo struct {
	Device      string    `json:"device"`
	Node        string    `json:"node"`
	ConnectedAt time.Time `json:"connectedAt"`
}

// presenceView is this node's picture of which users are online anywhere
// in the cluster, built from presence events. Every node derives the
// Online/Offline transitions itself, so a user's first device anywhere
// yields exactly one Online per receiving device.
type presenceView struct {
	n *Node

	mu    sync.Mutex
	users map[string]map[string]deviceInfo // guarded by mu: user -> device -> info
}

func newPresenceView(n *Node) *presenceView {
	return &presenceView{n: n, users: make(map[string]map[string]deviceInfo)}
}

// online reports whether userID has a device anywhere.
func (p *presenceView) online(userID string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.users[userID]) > 0
}

// devices lists userID's online devices.
func (p *presenceView) devices(userID string) []deviceInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]deviceInfo, 0, len(p.users[userID]))
	for _, d := range p.users[userID] {
		out = append(out, d)
	}
	return out
}

// publish announces a local device's arrival or departure; chats are its
// user's chats (read by the caller before it takes d.mu: lock order).
func (p *presenceView) publish(d *device, up bool, chats []string) {
	p.n.publishEvent(subjects.Presence, presenceEvent{
		User: d.user.id, Name: d.user.name, Device: d.id, Node: p.n.id, Up: up, At: time.Now().UTC(), Chats: chats,
	})
}

// handle applies a presence event and, on a user's transition between
// offline and online, tells the local devices of its co-members.
func (p *presenceView) handle(data []byte) {
	var ev presenceEvent
	if err := json.Unmarshal(data, &ev); err != nil || !subjects.ValidID(ev.User) || !subjects.ValidID(ev.Device) {
		p.n.logLimited("bad presence event")
		return
	}
	p.mu.Lock()
	devs := p.users[ev.User]
	before := len(devs)
	if ev.Up {
		if devs == nil {
			devs = make(map[string]deviceInfo, 1)
			p.users[ev.User] = devs
		}
		devs[ev.Device] = deviceInfo{Device: ev.Device, Node: ev.Node, ConnectedAt: ev.At}
	} else {
		delete(devs, ev.Device)
		if len(devs) == 0 {
			delete(p.users, ev.User)
		}
	}
	after := len(p.users[ev.User])
	p.mu.Unlock()

	switch {
	case before == 0 && after > 0:
		p.notify(ev, wire.TypeOnline)
	case before > 0 && after == 0:
		p.notify(ev, wire.TypeOffline)
	}
}

// notify sends Online or Offline about ev.User to the local devices of
// users sharing a chat with it, once per device.
func (p *presenceView) notify(ev presenceEvent, typ string) {
	frame := wsconn.NewTextFrame(wire.Encode(wire.ChannelPresence, typ, wire.PresenceEvent{User: ev.User, Name: ev.Name}))
	seen := make(map[string]struct{})
	var users []*localUser
	var devs []*device
	for _, chatID := range ev.Chats {
		users = p.n.reg.chatUsers(chatID, users[:0])
		for _, u := range users {
			if u.id == ev.User {
				continue
			}
			if _, ok := seen[u.id]; ok {
				continue
			}
			seen[u.id] = struct{}{}
			devs = u.devicesCopy(devs[:0])
			for _, d := range devs {
				d.send(frame)
			}
		}
	}
	if len(seen) > 0 {
		p.n.log.Debug("presence", slog.String("user", ev.User), slog.String("type", typ), slog.Int("notified", len(seen)))
	}
}
