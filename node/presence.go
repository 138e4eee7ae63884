package node

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/node/wsconn"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/subjects"
)

// Presence is a view every node keeps of which users are online anywhere
// in the cluster (docs/cluster.md):
//
//   - a node publishes a presenceEvent for every device that comes or
//     goes; every node applies them in order and derives a user's
//     offline<->online transitions itself, telling its local co-members;
//   - every node beats once per HeartbeatInterval with its device count;
//     a count that disagrees with the view (missed events, a node that
//     just started) makes the receiver fetch that node's device list;
//   - a node silent for NodeDeadAfter is dead: its devices go offline in
//     every view, and its guests' memberships end; a draining node says
//     goodbye and goes at once.

// presenceEvent is published on subjects.Presence for a device that
// connects (Up) or disconnects on a node, and is the element of a
// node's device list.
type presenceEvent struct {
	User   string    `json:"user"`
	Name   string    `json:"name"`
	Guest  bool      `json:"guest,omitempty"`
	Device string    `json:"device"`
	Node   string    `json:"node"`
	Up     bool      `json:"up"`
	At     time.Time `json:"at"`
	Chats  []string  `json:"chats,omitempty"`
}

// heartbeat is published on subjects.Heartbeat.
type heartbeat struct {
	Node    string `json:"node"`
	Devices int64  `json:"devices"`
	Gone    bool   `json:"gone,omitempty"` // the node drained and left
}

// deviceInfo is one online device, as the presence API shows it.
type deviceInfo struct {
	Device      string    `json:"device"`
	Node        string    `json:"node"`
	ConnectedAt time.Time `json:"connectedAt"`
}

// onlineDevice is one online device in the presence view: a deviceInfo
// with the time as Unix nanoseconds, 40 B instead of 56, which keeps a
// presenceUser at 128 B.
type onlineDevice struct {
	Device string
	Node   string
	at     int64 // 0: unknown
}

func newOnlineDevice(device, node string, at time.Time) onlineDevice {
	d := onlineDevice{Device: device, Node: node}
	if !at.IsZero() {
		d.at = at.UnixNano()
	}
	return d
}

func (d onlineDevice) info() deviceInfo {
	i := deviceInfo{Device: d.Device, Node: d.Node}
	if d.at != 0 {
		i.ConnectedAt = time.Unix(0, d.at).UTC()
	}
	return i
}

// presenceUser is one online user in the view. Slices, not maps: a user
// has a few devices and chats, and there is one of these per online user
// of the whole cluster on every node.
type presenceUser struct {
	name    string
	guest   bool
	devices []onlineDevice
	chats   chatSet
	// Room for the usual one device and one chat, so that an online user
	// is one allocation rather than three (newPresenceUser).
	devBuf  [1]onlineDevice
	chatBuf [1]string
}

func newPresenceUser(name string, guest bool) *presenceUser {
	u := &presenceUser{name: name, guest: guest}
	u.devices, u.chats = u.devBuf[:0], u.chatBuf[:0]
	return u
}

func (u *presenceUser) device(id string) int {
	for i := range u.devices {
		if u.devices[i].Device == id {
			return i
		}
	}
	return -1
}

type nodeState struct {
	id       string // the one copy of the node's id its devices share
	lastSeen time.Time
	devices  int64 // devices of that node in this view
}

// presenceView is this node's picture of the cluster's online devices.
type presenceView struct {
	n *Node
	// published counts this node's devices announced up and not yet
	// down; heartbeats carry it.
	published atomic.Int64

	mu    sync.Mutex
	users map[string]*presenceUser // guarded by mu
	nodes map[string]*nodeState    // guarded by mu
	// guests indexes online guests by chat (guarded by mu): a guest's
	// memberships live only here and in its node's cache, never in the
	// store, because they end with its connection.
	guests map[string]*smallMap[struct{}]
}

func newPresenceView(n *Node) *presenceView {
	return &presenceView{n: n, users: make(map[string]*presenceUser), nodes: make(map[string]*nodeState), guests: make(map[string]*smallMap[struct{}])}
}

// online reports whether userID has a device anywhere.
func (p *presenceView) online(userID string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.users[userID]
	return u != nil && len(u.devices) > 0
}

// devices lists userID's online devices.
func (p *presenceView) devices(userID string) []deviceInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.users[userID]
	if u == nil {
		return nil
	}
	out := make([]deviceInfo, len(u.devices))
	for i, d := range u.devices {
		out[i] = d.info()
	}
	return out
}

// onlineUsers is the number of users online in the view.
func (p *presenceView) onlineUsers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.users)
}

// publish announces a local device's arrival or departure; chats are its
// user's chats (read by the caller before it takes d.mu: lock order).
func (p *presenceView) publish(d *device, up bool, chats []string) {
	if up {
		p.published.Add(1)
	} else {
		p.published.Add(-1)
	}
	p.n.publishEvent(subjects.Presence, p.event(d, up, chats))
}

func (p *presenceView) event(d *device, up bool, chats []string) presenceEvent {
	u := d.user
	return presenceEvent{User: u.id, Name: u.name, Guest: u.guest, Device: d.id, Node: p.n.id, Up: up, At: time.Now().UTC(), Chats: chats}
}

// handle applies a presence event from the events loop.
func (p *presenceView) handle(data []byte) {
	var ev presenceEvent
	if err := json.Unmarshal(data, &ev); err != nil || !subjects.ValidID(ev.User) || !subjects.ValidID(ev.Device) || !subjects.ValidID(ev.Node) {
		p.n.logLimited("bad presence event")
		return
	}
	if ev.Up {
		p.share(&ev)
	}
	p.mu.Lock()
	typ, chats := p.applyLocked(ev)
	p.mu.Unlock()
	if typ != "" {
		p.notify(ev.User, ev.Name, typ, chats)
	}
}

// share swaps the strings of an up event, which the view keeps for as
// long as the device is online, for the copies this node already holds:
// those of the local user and device when the device is here, and those
// of chats with local members. JSON decoding gives every event its own
// copies, and there is a view entry per online device of the cluster.
func (p *presenceView) share(ev *presenceEvent) {
	if ev.Node == p.n.id {
		if u := p.n.reg.user(ev.User); u != nil {
			ev.User, ev.Name = u.id, u.name
			ev.Device = u.sharedDeviceID(ev.Device)
		}
	}
	for i, c := range ev.Chats {
		ev.Chats[i] = p.n.reg.sharedChatID(c)
	}
}

// applyLocked applies one device change and returns the transition it
// made (Online, Offline or none) with the user's chats.
func (p *presenceView) applyLocked(ev presenceEvent) (typ string, chats []string) {
	u := p.users[ev.User]
	st := p.nodes[ev.Node]
	if st == nil {
		st = &nodeState{id: ev.Node, lastSeen: time.Now()}
		p.nodes[ev.Node] = st
	}
	ev.Node = st.id
	if ev.Up {
		if u == nil {
			u = newPresenceUser(ev.Name, ev.Guest)
			p.users[ev.User] = u
		}
		for _, c := range ev.Chats {
			p.setChatLocked(ev.User, u, c, true)
		}
		// The event's chats were read when the device connected; joins
		// and leaves announced around then are replayed over them.
		for _, r := range p.n.recent.of(ev.User) {
			p.setChatLocked(ev.User, u, r.chat(), r.joined())
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
	if u == nil {
		return "", nil
	}
	i := u.device(ev.Device)
	if i < 0 {
		return "", nil
	}
	u.devices = slices.Delete(u.devices, i, i+1)
	st.devices--
	if len(u.devices) > 0 {
		return "", nil
	}
	delete(p.users, ev.User)
	if u.guest {
		for _, c := range u.chats {
			p.unindexGuestLocked(ev.User, c)
		}
	}
	return wire.TypeOffline, u.chatList()
}

// setChatLocked adds or removes a chat of an online user, keeping the
// guest index.
func (p *presenceView) setChatLocked(userID string, u *presenceUser, chatID string, joined bool) {
	if joined {
		if u.chats.add(chatID) && u.guest {
			g := p.guests[chatID]
			if g == nil {
				g = new(smallMap[struct{}])
				p.guests[chatID] = g
			}
			g.set(userID, struct{}{})
		}
		return
	}
	if u.chats.remove(chatID) && u.guest {
		p.unindexGuestLocked(userID, chatID)
	}
}

func (p *presenceView) unindexGuestLocked(userID, chatID string) {
	if g := p.guests[chatID]; g != nil {
		g.delete(userID)
		if g.len() == 0 {
			delete(p.guests, chatID)
		}
	}
}

// guestMembers lists the online guests that are members of chatID.
func (p *presenceView) guestMembers(chatID string) []wire.MemberInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	g := p.guests[chatID]
	if g == nil {
		return nil
	}
	out := make([]wire.MemberInfo, 0, g.len())
	for id := range g.all() {
		if u := p.users[id]; u != nil {
			out = append(out, wire.MemberInfo{User: id, Name: u.name, Role: store.RoleMember, Online: true})
		}
	}
	return out
}

func (u *presenceUser) chatList() []string { return slices.Clone(u.chats) }

// chatChanged keeps an online user's chats current, so that its
// Online/Offline reach the right co-members; every node sees every user
// event.
func (p *presenceView) chatChanged(userID, chatID string, joined bool) {
	// The view keeps the chat id for as long as the user is online: keep
	// the node's own copy rather than the caller's (often a decoder's).
	chatID = p.n.reg.sharedChatID(chatID)
	p.mu.Lock()
	defer p.mu.Unlock()
	if u := p.users[userID]; u != nil {
		p.setChatLocked(userID, u, chatID, joined)
	}
}

// notify sends Online or Offline about a user to the local devices of
// users sharing a chat with it, once per device.
func (p *presenceView) notify(userID, name, typ string, chats []string) {
	frame := wsconn.NewTextFrame(wire.Encode(wire.ChannelPresence, typ, wire.PresenceEvent{User: userID, Name: name}))
	seen := make(map[string]struct{})
	var users []*localUser
	var devs []*device
	for _, chatID := range chats {
		users = p.n.reg.chatUsers(chatID, users[:0])
		for _, u := range users {
			if u.id == userID {
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
}

// beat publishes this node's heartbeat.
func (p *presenceView) beat(gone bool) {
	p.n.publishEvent(subjects.Heartbeat, heartbeat{Node: p.n.id, Devices: p.published.Load(), Gone: gone})
}

// handleHeartbeat notes a node alive and repairs this view of its devices
// when the counts disagree. It runs on the events loop, which also
// applies presence events in publication order, so a disagreement is
// real, not a race.
func (p *presenceView) handleHeartbeat(data []byte) {
	var hb heartbeat
	if err := json.Unmarshal(data, &hb); err != nil || !subjects.ValidID(hb.Node) {
		p.n.logLimited("bad heartbeat")
		return
	}
	if hb.Node == p.n.id {
		// This node's own devices reach its view through its own events,
		// in order; a beat may race an event it counted, so no self-sync.
		return
	}
	if hb.Gone {
		p.dropNode(hb.Node, "drained")
		return
	}
	p.mu.Lock()
	st := p.nodes[hb.Node]
	if st == nil {
		st = &nodeState{id: hb.Node}
		p.nodes[hb.Node] = st
	}
	st.lastSeen = time.Now()
	mismatch := st.devices != hb.Devices
	p.mu.Unlock()
	if mismatch {
		p.sync(hb.Node)
	}
}

// sync replaces this view's devices of a node with the node's own list.
func (p *presenceView) sync(nodeID string) {
	list, err := p.fetchDevices(nodeID)
	if err != nil {
		p.n.logLimited("presence sync failed", slog.String("peer", nodeID), slog.Any("err", err))
		return
	}
	have := make(map[string]bool, len(list))
	for _, ev := range list {
		have[ev.Device] = true
	}
	var changes []presenceEvent
	p.mu.Lock()
	for userID, u := range p.users {
		for _, d := range u.devices {
			if d.Node == nodeID && !have[d.Device] {
				changes = append(changes, presenceEvent{User: userID, Name: u.name, Device: d.Device, Node: nodeID})
			}
		}
	}
	p.mu.Unlock()
	for _, ev := range list {
		if ev.Node == nodeID && subjects.ValidID(ev.User) && subjects.ValidID(ev.Device) {
			ev.Up = true
			changes = append(changes, ev)
		}
	}
	p.applyAll(changes)
	p.n.log.Debug("presence synced", slog.String("peer", nodeID), slog.Int("devices", len(list)))
}

// applyAll applies changes and sends the transitions they make.
func (p *presenceView) applyAll(changes []presenceEvent) {
	type transition struct {
		user, name, typ string
		chats           []string
	}
	var ts []transition
	p.mu.Lock()
	for _, ev := range changes {
		if typ, chats := p.applyLocked(ev); typ != "" {
			ts = append(ts, transition{ev.User, ev.Name, typ, chats})
		}
	}
	p.mu.Unlock()
	for _, t := range ts {
		p.notify(t.user, t.name, t.typ, t.chats)
	}
}

// sweep counts nodes silent for NodeDeadAfter as dead.
func (p *presenceView) sweep(now time.Time) {
	var dead []string
	p.mu.Lock()
	for id, st := range p.nodes {
		if id != p.n.id && now.Sub(st.lastSeen) > p.n.cfg.NodeDeadAfter {
			dead = append(dead, id)
		}
	}
	p.mu.Unlock()
	for _, id := range dead {
		p.dropNode(id, "silent")
	}
}

// dropNode takes every device of a dead or departed node offline. Guests
// end with their connection, so the guests of a node that died are ended
// here, by one surviving node (the lowest id) to announce it once.
func (p *presenceView) dropNode(nodeID, why string) {
	if nodeID == p.n.id {
		return
	}
	type guest struct {
		who   identity
		chats []string
	}
	var changes []presenceEvent
	var guests []guest
	p.mu.Lock()
	for userID, u := range p.users {
		for _, d := range u.devices {
			if d.Node == nodeID {
				changes = append(changes, presenceEvent{User: userID, Name: u.name, Device: d.Device, Node: nodeID})
				if u.guest && !slices.ContainsFunc(guests, func(g guest) bool { return g.who.id == userID }) {
					guests = append(guests, guest{identity{id: userID, name: u.name, guest: true}, u.chatList()})
				}
			}
		}
	}
	delete(p.nodes, nodeID)
	cleaner := p.n.id
	for id := range p.nodes {
		if id < cleaner {
			cleaner = id
		}
	}
	p.mu.Unlock()
	p.applyAll(changes)
	p.n.log.Info("node left the cluster", slog.String("peer", nodeID), slog.String("why", why), slog.Int("devices", len(changes)))
	if why == "silent" && cleaner == p.n.id && len(guests) > 0 {
		p.n.cleanups.Add(1)
		go func() {
			defer p.n.cleanups.Done()
			for _, g := range guests {
				p.n.endGuest(g.who, g.chats)
			}
		}()
	}
}

// devicePage is one message of a node's answer to a presence sync; a
// node's list is split so that no message nears NATS's payload limit.
type devicePage struct {
	Devices []presenceEvent `json:"devices"`
	Last    bool            `json:"last"`
}

// devicePageBytes is the size a page is cut at.
const devicePageBytes = 256 << 10

// fetchDevices asks a node for its devices and reads its pages.
func (p *presenceView) fetchDevices(nodeID string) ([]presenceEvent, error) {
	inbox := p.n.nc.NewRespInbox()
	sub, err := p.n.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, err
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := p.n.nc.PublishRequest(subjects.NodeRequest(nodeID, subjects.NodeOpPresence), inbox, nil); err != nil {
		return nil, err
	}
	var list []presenceEvent
	deadline := time.Now().Add(5 * time.Second)
	for {
		m, err := sub.NextMsg(time.Until(deadline))
		if err != nil {
			return nil, fmt.Errorf("read device page: %w", err)
		}
		var page devicePage
		if err := json.Unmarshal(m.Data, &page); err != nil {
			return nil, fmt.Errorf("decode device page: %w", err)
		}
		list = append(list, page.Devices...)
		if page.Last {
			return list, nil
		}
	}
}

// serveDevices answers a peer's request for this node's device list, in
// pages of about devicePageBytes.
func (p *presenceView) serveDevices(m *nats.Msg) {
	var page devicePage
	size := 0
	flush := func(last bool) error {
		page.Last = last
		b, err := json.Marshal(page)
		if err != nil {
			return err
		}
		page.Devices, size = page.Devices[:0], 0
		return p.n.nc.Publish(m.Reply, b)
	}
	var err error
	p.n.reg.rangeDevices(func(d *device, chats []string) {
		if err != nil {
			return
		}
		ev := p.event(d, true, chats)
		page.Devices = append(page.Devices, ev)
		size += 150 + 40*len(chats)
		if size >= devicePageBytes {
			err = flush(false)
		}
	})
	if err == nil {
		err = flush(true)
	}
	if err != nil {
		p.n.logLimited("answer presence sync", slog.Any("err", err))
	}
}
