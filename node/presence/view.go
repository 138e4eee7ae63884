// Package presence is a node's view of which users are online, kept by
// events between the nodes (docs/cluster.md). The view holds the node's
// own devices and the online members of the chats it delivers, nothing
// of users it shares no chat with:
//
//   - a node publishes a numbered event for every device that comes or
//     goes, with its user's chats; a node keeps an event if the device is
//     its own or one of the chats is delivered here, derives the user's
//     offline<->online transitions itself and tells its local co-members;
//   - a node that starts delivering a chat asks every node for its
//     devices in the chat (a snapshot), unless it knows no other live
//     node; a user that joins a delivered chat is announced again by its
//     own node;
//   - every node beats once per heartbeat interval with its device count
//     and the number of its last event; a receiver that missed a number
//     asks that node again for its devices in the chats it delivers;
//   - a node silent for NodeDeadAfter is dead: its devices go offline in
//     every view, and each survivor hands the guests it knew of to
//     Config.OnOrphans; a draining node says goodbye and goes at once;
//   - users sharing no delivered chat with a local device any more are
//     forgotten at the next heartbeat (forget.go).
//
// It also indexes online guests by chat: a guest's memberships are never
// stored, so the views are where the cluster keeps them.
//
// It is not the local registry (fanout) and not the membership store: it
// learns chats and devices from events, and never calls the store.
package presence

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/node/fanout"
	"github.com/natterchat/natter/node/internal/chatset"
	"github.com/natterchat/natter/node/internal/loglimit"
)

// Config configures a View. NodeID, NC, Hub and Recent are required;
// zero values of the others are the documented defaults.
type Config struct {
	// NodeID is this node's id in the cluster.
	NodeID string
	// NC carries presence events, heartbeats and device-list requests.
	NC *nats.Conn
	// Hub is the local registry: the devices this node announces and
	// the local co-members it tells of transitions.
	Hub *fanout.Hub
	// Recent replays membership changes over the chats an "up" event
	// was sent with.
	Recent *fanout.Recent
	// HeartbeatInterval is how often every node beats (the view does not
	// beat by itself: see Beat). Default 1s.
	HeartbeatInterval time.Duration
	// NodeDeadAfter is how long a silent node counts as alive. Default 5s.
	NodeDeadAfter time.Duration
	// OnOrphans receives the guests of a node that died that this view
	// knew of, on every surviving node: each ends them for its own
	// devices. It runs on the caller of Sweep and should hand the work
	// off. Default: nothing is done.
	OnOrphans func([]Guest)
	// Log and Limiter receive logs; defaults slog.Default() and a
	// limiter on it.
	Log     *slog.Logger
	Limiter *loglimit.Limiter
}

// Guest is an online guest of a node that died: its memberships must end.
type Guest struct {
	ID    string
	Name  string
	Chats []string
}

// DeviceInfo is one online device, as the presence API shows it.
type DeviceInfo struct {
	Device      string    `json:"device"`
	Node        string    `json:"node"`
	ConnectedAt time.Time `json:"connectedAt"`
}

// onlineDevice is one online device in the view: a DeviceInfo with the
// time as Unix nanoseconds, 40 B instead of 56, which keeps a user at 128 B.
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

func (d onlineDevice) info() DeviceInfo {
	i := DeviceInfo{Device: d.Device, Node: d.Node}
	if d.at != 0 {
		i.ConnectedAt = time.Unix(0, d.at).UTC()
	}
	return i
}

// user is one online user in the view. Slices, not maps: a user has a few
// devices and chats, and there is one of these per online user a node
// shares a chat with.
type user struct {
	name    string
	guest   bool
	devices []onlineDevice
	chats   chatset.Set
	// Room for the usual one device and one chat, so that an online user
	// is one allocation rather than three (newUser).
	devBuf  [1]onlineDevice
	chatBuf [1]string
}

func newUser(name string, guest bool) *user {
	u := &user{name: name, guest: guest}
	u.devices, u.chats = u.devBuf[:0], u.chatBuf[:0]
	return u
}

func (u *user) device(id string) int {
	for i := range u.devices {
		if u.devices[i].Device == id {
			return i
		}
	}
	return -1
}

func (u *user) chatList() []string { return slices.Clone(u.chats) }

// nodeState is what a view knows of another node.
type nodeState struct {
	id       string // the one copy of the node's id its devices share
	lastSeen time.Time
	// epoch and seq are the node's start and the number of its last
	// presence event this view applied or synced past; known is false
	// until a heartbeat or a sync set them, and gap says a number was
	// missed: the next heartbeat repairs (see HandleHeartbeat).
	epoch int64
	seq   uint64
	known bool
	gap   bool
	// run is the epoch of the node's last heartbeat, event or answer,
	// known or not: the run remembered when the node is dropped, and
	// the one whose older runs are ignored (gone.go). It never goes back.
	run int64
	// downs are the devices the node's events numbered above downsFrom
	// took down, for snapshots listed before them (downs.go).
	downs     []recentDown
	downsFrom uint64
}

// View is this node's picture of the cluster's online devices.
type View struct {
	cfg Config
	// published counts this node's devices announced up and not yet
	// down, and seq numbers its presence events (the last one); heartbeats
	// carry both. pubMu orders their changes with the publications
	// (publishEvent, Beat): events leave in the order of their numbers,
	// and a beat carries exactly the count and number of the events
	// published before it on the same connection, so a peer that applied
	// those events agrees with it. Without the order, a beat taken between
	// another goroutine's count and its publication disagrees with every
	// view, and every peer asks this node for its devices again: during a
	// connection storm, several times, each pages to encode, decode and
	// collect. pubMu is never held with mu; publishEvent takes it under
	// the device's lock.
	pubMu     sync.Mutex
	published atomic.Int64
	seq       atomic.Uint64
	// saidGoodbye (guarded by pubMu) is set by the goodbye beat, after
	// which the node beats no more.
	saidGoodbye bool
	// eventBuf (guarded by pubMu) is the buffer publishEvent encodes
	// its events in.
	eventBuf []byte
	// epoch tells this run of the node from an earlier one of the same id.
	epoch int64
	// snapshots counts chat snapshots in flight (Close waits for them);
	// closed (guarded by mu) stops new ones.
	snapshots sync.WaitGroup
	closed    bool
	// stop ends the snapshots in flight at Close.
	stopCtx context.Context
	stop    context.CancelFunc
	// knowsPeers (Unix nanoseconds) is when this view has surely heard
	// every live node's heartbeat: peerAnswerWait after its first beat,
	// which the others answer at once (HandleHeartbeat), and at the
	// latest two heartbeat intervals after it was made.
	knowsPeers atomic.Int64
	// beaten (guarded by pubMu) is set by the first beat.
	beaten bool
	// pending holds the chats whose snapshot is in flight (guarded by
	// mu); their channel closes when it is merged.
	pending map[string]*pendingSnapshot
	// framesOut counts the Online/Offline frames queued to local devices.
	framesOut atomic.Int64

	mu    sync.Mutex
	users map[string]*user      // guarded by mu
	nodes map[string]*nodeState // guarded by mu
	// gone holds the runs of nodes dropped a moment ago (guarded by mu):
	// late messages of theirs are ignored (gone.go).
	gone map[string]goneRun
	// guests indexes online guests by chat (guarded by mu): a guest's
	// memberships live only here and in its node's cache, never in the
	// store, because they end with its connection. An entry holds the
	// guest's user, which is in users for as long as the entry exists
	// (a user leaves users and the index together): a member list of a
	// room of guests, built per join, reads no other map.
	guests map[string]*guestIndex
	// unsure holds the users whose interest to this node may have ended
	// since the last sweep, and rescan says a chat stopped being
	// delivered: the sweep looks at these alone (forget.go). unsure is
	// guarded by mu; forgetLooks (guarded by mu) counts the users the
	// sweeps looked at, for the tests.
	unsure      map[string]struct{}
	rescan      atomic.Bool
	forgetLooks int
}

// New builds a view; it subscribes to nothing (see Serve).
func New(cfg Config) (*View, error) {
	if cfg.NodeID == "" || cfg.NC == nil || cfg.Hub == nil || cfg.Recent == nil {
		return nil, errors.New("presence: NodeID, NC, Hub and Recent are required")
	}
	if cfg.NodeDeadAfter <= 0 {
		cfg.NodeDeadAfter = 5 * time.Second
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = time.Second
	}
	cfg.Log, cfg.Limiter = loglimit.Defaults(cfg.Log, cfg.Limiter)
	if cfg.OnOrphans == nil {
		cfg.OnOrphans = func([]Guest) {}
	}
	now := time.Now()
	stopCtx, stop := context.WithCancel(context.Background())
	v := &View{cfg: cfg, epoch: now.UnixNano(), stopCtx: stopCtx, stop: stop, users: make(map[string]*user), nodes: make(map[string]*nodeState),
		pending: make(map[string]*pendingSnapshot), gone: make(map[string]goneRun),
		guests: make(map[string]*guestIndex)}
	v.knowsPeers.Store(now.Add(2 * cfg.HeartbeatInterval).UnixNano())
	return v, nil
}

// peerAnswerWait is how long after its first heartbeat a view waits for
// the other nodes' answers (HandleHeartbeat answers a node's first beat
// at once) before it counts the nodes it heard as all there are. A node
// heard later is still taken in: a chat snapshot that missed it marks it
// for a sync at its next heartbeat.
const peerAnswerWait = 250 * time.Millisecond

// peersKnown reports when this view has heard every live node's beat.
func (v *View) peersKnown() time.Time { return time.Unix(0, v.knowsPeers.Load()) }

// PeersKnown reports whether this view has surely heard every live
// node's beat. Until it has, a chat's presence asked of the cluster (the
// member list of a chat not delivered here yet, as every first join of a
// chat on a node is) waits for it: up to peerAnswerWait after the view's
// first beat.
func (v *View) PeersKnown() bool { return !time.Now().Before(v.peersKnown()) }

// Close ends the chat snapshots in flight, waits for them and starts no
// more.
func (v *View) Close() {
	v.mu.Lock()
	v.closed = true
	v.mu.Unlock()
	v.stop()
	v.snapshots.Wait()
}

// Online reports whether userID has a device anywhere.
func (v *View) Online(userID string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	u := v.users[userID]
	return u != nil && len(u.devices) > 0
}

// Devices lists userID's online devices.
func (v *View) Devices(userID string) []DeviceInfo {
	v.mu.Lock()
	defer v.mu.Unlock()
	u := v.users[userID]
	if u == nil {
		return nil
	}
	out := make([]DeviceInfo, len(u.devices))
	for i, d := range u.devices {
		out[i] = d.info()
	}
	return out
}

// OnlineUsers is the number of online users in the view: this node's own
// and those sharing a chat it delivers.
func (v *View) OnlineUsers() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.users)
}

// FramesOut is the number of Online and Offline frames queued to local
// devices so far.
func (v *View) FramesOut() int64 { return v.framesOut.Load() }

// ChatChanged keeps an online user's chats current, so that its
// Online/Offline reach the right co-members; every node sees every user
// event. A user the view does not hold is announced again by its own node
// when it joins (AnnounceJoin).
func (v *View) ChatChanged(userID, chatID string, joined bool) {
	// The view keeps the chat id for as long as the user is online: keep
	// the node's own copy rather than the caller's (often a decoder's).
	chatID = v.cfg.Hub.SharedChatID(chatID)
	v.mu.Lock()
	defer v.mu.Unlock()
	if u := v.users[userID]; u != nil {
		v.setChatLocked(userID, u, chatID, joined)
	}
}

// setChatLocked adds or removes a chat of an online user, keeping the
// guest index.
func (v *View) setChatLocked(userID string, u *user, chatID string, joined bool) {
	if joined {
		if u.chats.Add(chatID) && u.guest {
			v.indexGuestLocked(userID, u, chatID)
		}
		return
	}
	if !u.chats.Remove(chatID) {
		return
	}
	v.markUnsureLocked(userID)
	if u.guest {
		v.unindexGuestLocked(userID, chatID)
	}
}

// Seq is the number of this node's last presence event.
func (v *View) Seq() uint64 { return v.lastSeq() }

// SeqOf is the number of the last presence event of nodeID this view
// applied or synced past, and whether it knows that node's numbering:
// once it reaches a node's Seq, the view has heard all of that node's
// events so far.
func (v *View) SeqOf(nodeID string) (uint64, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	st := v.nodes[nodeID]
	if st == nil || !st.known || st.gap {
		return 0, false
	}
	return st.seq, true
}
