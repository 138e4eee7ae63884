package presence

import (
	"encoding/json"
	"log/slog"
	"slices"
	"time"

	"github.com/natterchat/natter/node/fanout"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/node/wsconn"
	"github.com/natterchat/natter/subjects"
)

// event is published on subjects.Presence for a device that connects
// (Up) or disconnects on a node, and is the element of a node's device
// list.
type event struct {
	User   string    `json:"user"`
	Name   string    `json:"name"`
	Guest  bool      `json:"guest,omitempty"`
	Device string    `json:"device"`
	Node   string    `json:"node"`
	Up     bool      `json:"up"`
	At     time.Time `json:"at"`
	Chats  []string  `json:"chats,omitempty"`
}

// publishJSON sends v on subject. Presence traffic is best-effort: a lost
// event is repaired by the next heartbeat's count.
func (v *View) publishJSON(subject string, x any) {
	b, err := json.Marshal(x)
	if err != nil {
		v.cfg.Log.Error("encode presence message", slog.String("subject", subject), slog.Any("err", err))
		return
	}
	v.publish(subject, b)
}

// publish sends an encoded presence message.
func (v *View) publish(subject string, b []byte) {
	if err := v.cfg.NC.Publish(subject, b); err != nil {
		v.cfg.Limiter.Warn("publish presence message failed", slog.String("subject", subject), slog.Any("err", err))
	}
}

// Announce publishes a local device's arrival or departure; chats are its
// user's chats. The caller orders the announcements of one device (see
// fanout.Device.SetPresence).
func (v *View) Announce(d *fanout.Device, up bool, chats []string) {
	b, err := json.Marshal(v.event(d, up, chats))
	v.pubMu.Lock()
	defer v.pubMu.Unlock()
	if up {
		v.published.Add(1)
	} else {
		v.published.Add(-1)
	}
	if err != nil {
		// Counted all the same: the peers' next sync repairs the event.
		v.cfg.Log.Error("encode presence message", slog.String("subject", subjects.Presence), slog.Any("err", err))
		return
	}
	v.publish(subjects.Presence, b)
}

func (v *View) event(d *fanout.Device, up bool, chats []string) event {
	u := d.User()
	return event{User: u.ID(), Name: u.Name(), Guest: u.Guest(), Device: d.ID(), Node: v.cfg.NodeID, Up: up, At: time.Now().UTC(), Chats: chats}
}

// Handle applies a presence event. The node calls it, and HandleHeartbeat,
// from one goroutine in the order NATS delivered them.
func (v *View) Handle(data []byte) {
	var ev event
	if err := json.Unmarshal(data, &ev); err != nil || !subjects.ValidID(ev.User) || !subjects.ValidID(ev.Device) || !subjects.ValidID(ev.Node) {
		v.cfg.Limiter.Warn("bad presence event")
		return
	}
	if ev.Up {
		v.share(&ev)
	}
	v.mu.Lock()
	typ, chats := v.applyLocked(ev)
	v.mu.Unlock()
	if typ != "" {
		v.notify(ev.User, ev.Name, typ, chats)
	}
}

// share swaps the strings of an up event, which the view keeps for as
// long as the device is online, for the copies this node already holds:
// those of the local user and device when the device is here, and those
// of chats with local members. JSON decoding gives every event its own
// copies, and there is a view entry per online device of the cluster.
func (v *View) share(ev *event) {
	if ev.Node == v.cfg.NodeID {
		if u := v.cfg.Hub.User(ev.User); u != nil {
			ev.User, ev.Name = u.ID(), u.Name()
			ev.Device = u.SharedDeviceID(ev.Device)
		}
	}
	for i, c := range ev.Chats {
		ev.Chats[i] = v.cfg.Hub.SharedChatID(c)
	}
}

// applyLocked applies one device change and returns the transition it
// made (Online, Offline or none) with the user's chats.
func (v *View) applyLocked(ev event) (typ string, chats []string) {
	u := v.users[ev.User]
	st := v.nodes[ev.Node]
	if ev.Up {
		if st == nil {
			st = &nodeState{id: ev.Node, lastSeen: time.Now()}
			v.nodes[ev.Node] = st
		}
		ev.Node = st.id
		return v.applyUpLocked(ev, u, st)
	}
	// A device going down never brings its node back: dropNode takes a
	// dead node's devices down after forgetting the node.
	if u == nil {
		return "", nil
	}
	i := u.device(ev.Device)
	if i < 0 {
		return "", nil
	}
	u.devices = slices.Delete(u.devices, i, i+1)
	if st != nil {
		st.devices--
	}
	if len(u.devices) > 0 {
		return "", nil
	}
	delete(v.users, ev.User)
	if u.guest {
		for _, c := range u.chats {
			v.unindexGuestLocked(ev.User, c)
		}
	}
	return wire.TypeOffline, u.chatList()
}

// applyUpLocked applies a device's arrival.
func (v *View) applyUpLocked(ev event, u *user, st *nodeState) (typ string, chats []string) {
	if u == nil {
		u = newUser(ev.Name, ev.Guest)
		v.users[ev.User] = u
	}
	for _, c := range ev.Chats {
		v.setChatLocked(ev.User, u, c, true)
	}
	// The event's chats were read when the device connected; joins and
	// leaves announced around then are replayed over them.
	for _, r := range v.cfg.Recent.Of(ev.User) {
		v.setChatLocked(ev.User, u, r.Chat, r.Joined)
	}
	if u.device(ev.Device) >= 0 {
		return "", nil
	}
	u.devices = append(u.devices, newOnlineDevice(ev.Device, ev.Node, ev.At))
	st.devices++
	if len(u.devices) == 1 {
		return wire.TypeOnline, u.chatList()
	}
	return "", nil
}

// applyAll applies changes and sends the transitions they make.
func (v *View) applyAll(changes []event) {
	type transition struct {
		user, name, typ string
		chats           []string
	}
	var ts []transition
	v.mu.Lock()
	for _, ev := range changes {
		if typ, chats := v.applyLocked(ev); typ != "" {
			ts = append(ts, transition{ev.User, ev.Name, typ, chats})
		}
	}
	v.mu.Unlock()
	for _, t := range ts {
		v.notify(t.user, t.name, t.typ, t.chats)
	}
}

// notify sends Online or Offline about a user to the local devices of
// users sharing a chat with it, once per device.
func (v *View) notify(userID, name, typ string, chats []string) {
	frame := wsconn.TextFrameAfter(wire.EncodeAfter(wsconn.TextHeaderRoom, wire.ChannelPresence, typ, wire.PresenceEvent{User: userID, Name: name}))
	seen := make(map[string]struct{})
	var users []*fanout.User
	var devs []*fanout.Device
	for _, chatID := range chats {
		users = v.cfg.Hub.ChatUsers(chatID, users[:0])
		for _, u := range users {
			if u.ID() == userID {
				continue
			}
			if _, ok := seen[u.ID()]; ok {
				continue
			}
			seen[u.ID()] = struct{}{}
			devs = u.Devices(devs[:0])
			for _, d := range devs {
				d.SendNotice(frame)
			}
			v.framesOut.Add(int64(len(devs)))
		}
	}
}
