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
	// Epoch and Seq number a published event per run of its node (not
	// set in device lists); a receiver that misses a number repairs.
	Epoch int64  `json:"epoch,omitempty"`
	Seq   uint64 `json:"seq,omitempty"`
	// Again marks a device announced once more because its user joined
	// a chat: nodes delivering the chat learn of it, nobody is told.
	Again bool `json:"again,omitempty"`
}

// publishJSON sends v on subject. Presence traffic is best-effort: a lost
// event is repaired after the next heartbeat's number.
func (v *View) publishJSON(subject string, x any) {
	b, err := json.Marshal(x)
	if err != nil {
		v.encodeFailed(subject, err)
		return
	}
	v.publish(subject, b)
}

// encodeFailed logs a presence message that could not be encoded.
func (v *View) encodeFailed(subject string, err error) {
	v.cfg.Log.Error("encode presence message", slog.String("subject", subject), slog.Any("err", err))
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
	delta := int64(1)
	if !up {
		delta = -1
	}
	v.publishEvent(v.event(d, up, chats, time.Now().UTC()), delta)
}

// AnnounceJoin announces u's online devices once more after u joined a
// chat, with its chats and their connect times, so that the nodes
// delivering the chat, which may share no other chat with u, learn that u
// is online.
func (v *View) AnnounceJoin(u *fanout.User) {
	chats := u.ChatIDs()
	for _, d := range u.Devices(nil) {
		at := v.connectedAt(u.ID(), d.ID())
		d.IfPresent(func() {
			ev := v.event(d, true, chats, at)
			ev.Again = true
			v.publishEvent(ev, 0)
		})
	}
}

// publishEvent changes the published device count by devices, numbers ev
// and publishes it, all under pubMu: events leave in the order of their
// numbers, and a heartbeat carries the count and number of exactly the
// events published before it (see View.pubMu); the events are encoded
// in one buffer. An event that fails to encode is counted all the same:
// the gap in the numbers repairs it.
func (v *View) publishEvent(ev event, devices int64) {
	v.pubMu.Lock()
	defer v.pubMu.Unlock()
	v.published.Add(devices)
	ev.Epoch, ev.Seq = v.epoch, v.seq.Add(1)
	b, err := ev.appendJSON(v.eventBuf[:0])
	if err != nil {
		v.encodeFailed(subjects.Presence, err)
		return
	}
	// Publish copies the bytes into the connection's buffer: the next
	// event can reuse them.
	v.eventBuf = b
	v.publish(subjects.Presence, b)
}

// event is local device d's event at time at.
func (v *View) event(d *fanout.Device, up bool, chats []string, at time.Time) event {
	u := d.User()
	return event{User: u.ID(), Name: u.Name(), Guest: u.Guest(), Device: d.ID(), Node: v.cfg.NodeID, Up: up, At: at, Chats: chats}
}

// connectedAt is when this node's device of userID connected, as this
// node's view has it from the device's own "up" event, or now if that
// event is not back from NATS yet (it left a moment ago). Answers and
// repeated announcements list a device with it, so that every view shows
// the connect time the device's own node shows, not when it heard of the
// device. It takes the view's lock: the caller holds no device's.
func (v *View) connectedAt(userID, deviceID string) time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	if u := v.users[userID]; u != nil {
		if i := u.device(deviceID); i >= 0 && u.devices[i].Node == v.cfg.NodeID && u.devices[i].at != 0 {
			return time.Unix(0, u.devices[i].at).UTC()
		}
	}
	return time.Now().UTC()
}

// Handle applies a presence event. The node calls it, and HandleHeartbeat,
// from one goroutine in the order NATS delivered them. Every event counts
// towards its node's numbering; an "up" is kept only if the device is
// this node's or one of its chats is delivered here (a "down" only
// matters to a view that holds the device).
func (v *View) Handle(data []byte) {
	var ev event
	if err := decodeEvent(data, &ev); err != nil || !subjects.ValidID(ev.User) || !subjects.ValidID(ev.Device) || !subjects.ValidID(ev.Node) {
		v.cfg.Limiter.Warn("bad presence event")
		return
	}
	if !v.countEvent(ev) {
		return
	}
	if ev.Up {
		if ev.Node != v.cfg.NodeID && !v.interested(ev.Chats) && !v.joinedHere(ev.User) {
			return
		}
		v.share(&ev)
	}
	v.mu.Lock()
	typ, chats := v.applyLocked(ev)
	v.mu.Unlock()
	if typ != "" && !ev.Again {
		v.notify(ev.User, ev.Name, typ, chats)
	}
}

// countEvent notes ev's number in its node's state and reports whether to
// apply it: not if a sync already covered it, nor if its node's run was
// dropped or followed by a later one (a late event: its devices are down
// already, or the later run's sync lists them).
func (v *View) countEvent(ev event) bool {
	if ev.Node == v.cfg.NodeID {
		return true
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.staleLocked(ev.Node, ev.Epoch) {
		return false
	}
	st := v.nodeLocked(ev.Node)
	st.run = ev.Epoch
	if st.epoch != ev.Epoch {
		// The node restarted, or this view never heard of it: whatever
		// came before this event is unknown, unless it is the node's
		// first.
		st.epoch, st.seq, st.known, st.gap = ev.Epoch, ev.Seq, true, ev.Seq != 1
		st.resetDowns(max(ev.Seq, 1) - 1)
		st.noteDown(ev)
		return true
	}
	if ev.Seq <= st.seq {
		return false
	}
	if ev.Seq != st.seq+1 {
		st.gap = true
	}
	st.seq = ev.Seq
	st.noteDown(ev)
	return true
}

// nodeLocked returns the state of a node, made if new.
func (v *View) nodeLocked(id string) *nodeState {
	st := v.nodes[id]
	if st == nil {
		st = &nodeState{id: id, lastSeen: time.Now()}
		v.nodes[id] = st
	}
	return st
}

// joinedHere reports whether userID joined a chat delivered here a moment
// ago: an "up" event's chats were listed when the device connected, and
// the listing may trail a join (see applyUpLocked).
func (v *View) joinedHere(userID string) bool {
	for _, r := range v.cfg.Recent.Of(userID) {
		if r.Joined && v.cfg.Hub.Delivers(r.Chat) {
			return true
		}
	}
	return false
}

// interested reports whether one of chats is delivered here.
func (v *View) interested(chats []string) bool {
	for _, c := range chats {
		if v.cfg.Hub.Delivers(c) {
			return true
		}
	}
	return false
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
	if ev.Up {
		ev.Node = v.nodeLocked(ev.Node).id
		return v.applyUpLocked(ev, u)
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
	if len(u.devices) > 0 {
		// The device may have been this node's last of the user.
		v.markUnsureLocked(ev.User)
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
func (v *View) applyUpLocked(ev event, u *user) (typ string, chats []string) {
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
	if i := u.device(ev.Device); i >= 0 {
		if ev.Seq != 0 && !ev.Again && !ev.At.IsZero() {
			// The device's own "up", after an answer listed it: the
			// answer's time was now if the device's node had not heard
			// the event yet itself (connectedAt); the event's is exact.
			u.devices[i].at = ev.At.UnixNano()
		}
		return "", nil
	}
	u.devices = append(u.devices, newOnlineDevice(ev.Device, ev.Node, ev.At))
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
