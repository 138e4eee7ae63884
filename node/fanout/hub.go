package fanout

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/node/internal/loglimit"
	"github.com/natterchat/natter/store"
)

// Config configures a Hub. Zero values are the documented defaults,
// applied by New; NC, Store, Recent and Render are required.
type Config struct {
	// NodeID names this node's readiness canary subjects.
	NodeID string
	// NC is the node's NATS connection: live chat subscriptions, chat
	// events and canaries.
	NC *nats.Conn
	// Store reads chats, cursors and pages of messages (gap repair,
	// catch-up, resume).
	Store store.Store
	// Recent holds the membership changes of the last RecentWindow; a
	// user's first device replays them over the listing of its chats.
	Recent *Recent
	// Render encodes a stored message of the chat named room as the
	// client frame every local recipient gets.
	Render func(room string, m *store.Message) []byte

	// Loops is the number of dispatcher loops chats are spread over.
	// Default 4.
	Loops int
	// Buffer is how many NATS messages a loop's channel holds; past it
	// NATS drops messages for this node (a slow consumer) and the gap
	// logic refills them from the store. Default 65536.
	Buffer int
	// RecheckDelay is how long after subscribing a chat is checked once
	// more for messages stored before the subscription was visible
	// cluster-wide. Default 2s.
	RecheckDelay time.Duration
	// Relist, when positive, lists a user's chats once more this long
	// after its first device connected: with replicas, the first listing
	// may trail a join made a moment ago on another node. Default 0: no
	// second listing (one replica).
	Relist time.Duration
	// RequestTimeout bounds one store call made for a device. Default 15s.
	RequestTimeout time.Duration
	// OnChatStart is called when this node starts delivering a chat (its
	// first local member linked it), before its subscription and outside
	// the registry's locks; the presence view asks the cluster for the
	// chat's online members. Default: nothing.
	OnChatStart func(chatID string)
	// OnChatStop is called when this node stops delivering a chat (its
	// last local member unlinked it), outside the registry's locks; the
	// presence view looks again at the users it kept for that chat.
	// Default: nothing.
	OnChatStop func(chatID string)
	// OnUserGone is called when a user's last local device is
	// unregistered (RemoveDevice), outside the registry's locks; the
	// presence view looks again at that user. Default: nothing.
	OnUserGone func(userID string)

	// Log receives what an operator must see; Limiter what clients or
	// the network can trigger. Defaults: slog.Default() and a limiter
	// on it.
	Log     *slog.Logger
	Limiter *loglimit.Limiter
}

func (c *Config) setDefaults() error {
	if c.NC == nil || c.Store == nil || c.Recent == nil || c.Render == nil {
		return errors.New("fanout: NC, Store, Recent and Render are required")
	}
	if c.Loops <= 0 {
		c.Loops = 4
	}
	if c.Buffer <= 0 {
		c.Buffer = 1 << 16
	}
	if c.RecheckDelay <= 0 {
		c.RecheckDelay = 2 * time.Second
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 15 * time.Second
	}
	c.Log, c.Limiter = loglimit.Defaults(c.Log, c.Limiter)
	return nil
}

// Hub is the node's fan-out: the registry of local users, devices and
// chats, and the dispatcher loops that deliver chats to them. Build it
// with New, start it with Start, end it with Close.
type Hub struct {
	// Static after New.
	cfg     Config
	reg     *registry
	loops   []*dispatcher
	seed    maphash.Seed
	metrics *Metrics

	canarySeq atomic.Uint64 // the last readiness canary sent
	// noticeBatch is how long chat events may wait on their loop to
	// leave together (nanoseconds; 0: not at all), SetNoticeBatch's.
	noticeBatch atomic.Int64
	closed      atomic.Bool

	mu     sync.Mutex
	cancel context.CancelFunc   // guarded by mu; set by Start
	subs   []*nats.Subscription // guarded by mu: node-wide subscriptions
	wg     sync.WaitGroup       // the loops
	// handOvers are the catch-ups' store reads in flight off the loops
	// (catchup.go); Close waits for them.
	handOvers sync.WaitGroup
}

// New builds a hub; it subscribes to nothing and starts no goroutine.
func New(cfg Config) (*Hub, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	h := &Hub{cfg: cfg, reg: newRegistry(), seed: maphash.MakeSeed(), metrics: newMetrics()}
	for range cfg.Loops {
		h.loops = append(h.loops, newDispatcher(h, cfg.Buffer))
	}
	return h, nil
}

// Start runs the dispatcher loops and subscribes to this node's
// readiness canaries (a chat's messages and events come on its own
// subscription, made when a local member links it).
func (h *Hub) Start() error {
	ctx, cancel := context.WithCancel(context.Background())
	h.mu.Lock()
	h.cancel = cancel
	h.mu.Unlock()
	for _, d := range h.loops {
		h.wg.Add(1)
		go func() { defer h.wg.Done(); d.run(ctx) }()
	}
	for k, d := range h.loops {
		s, err := h.cfg.NC.ChanSubscribe(h.canarySubject(k), d.msgs)
		if err != nil {
			return fmt.Errorf("fanout: subscribe canary: %w", err)
		}
		h.keep(s)
	}
	return nil
}

func (h *Hub) keep(s *nats.Subscription) {
	h.mu.Lock()
	h.subs = append(h.subs, s)
	h.mu.Unlock()
}

// Close ends the hub's node-wide subscriptions and its loops and waits for
// them. Chats' live subscriptions end with their last local member.
func (h *Hub) Close() {
	h.closed.Store(true)
	h.mu.Lock()
	subs, cancel := h.subs, h.cancel
	h.subs = nil
	h.mu.Unlock()
	for _, s := range subs {
		_ = s.Unsubscribe()
	}
	if cancel != nil {
		cancel()
	}
	h.wg.Wait()
	h.handOvers.Wait()
}

// Metrics returns the hub's counters.
func (h *Hub) Metrics() *Metrics { return h.metrics }

// loop returns the dispatcher loop of chatID.
func (h *Hub) loop(chatID string) *dispatcher {
	return h.loops[maphash.String(h.seed, chatID)%uint64(len(h.loops))]
}

// AddDevice registers d for its user, creating the local user if d is its
// first device here (first reports that: the caller then calls Ready with
// first set, which loads the user's chats). It fails with ok=false when
// the user already has max devices here.
//
// told is a mark of the registry (a Seq of Recent, perhaps another
// user's change): every membership change numbered up to it was told
// before d was registered, so d missed those of its user; every later
// one includes d (TellDevices).
func (h *Hub) AddDevice(d *Device, userID, name string, guest bool, max int) (u *User, first bool, told uint64, ok bool) {
	return h.reg.addDevice(userID, name, guest, d, max)
}

// TellDevices appends to buf the local devices to tell of the user's
// membership change seq (its Seq in Recent), and marks the change told: a
// device registered later counts it among those it missed (AddDevice).
// The caller must tell every change it records in Recent exactly once,
// in Seq order, one at a time (the node applies user events on one
// goroutine), even when the user has no device here and nothing is
// appended: a mark raised past a change not yet told would have a device
// registering meanwhile miss it for good (a change told after a later
// one is logged). A change not recorded in Recent
// (a guest's) is told with seq 0 and leaves the mark alone; no device
// registering later hears of it.
func (h *Hub) TellDevices(userID string, seq uint64, buf []*Device) []*Device {
	buf, inOrder := h.reg.tellDevices(userID, seq, buf)
	if !inOrder {
		// A bug, not a condition of the cluster: say so, once in a while.
		h.cfg.Limiter.Warn("fanout: membership change told out of order; a device set up meanwhile may miss it",
			slog.String("user", userID), slog.Uint64("seq", seq))
	}
	return buf
}

// RemoveDevice unregisters d; last reports that it was its user's last
// device here, and the user is then gone from the registry.
func (h *Hub) RemoveDevice(d *Device) (last bool) {
	last = h.reg.removeDevice(d)
	if last && h.cfg.OnUserGone != nil {
		h.cfg.OnUserGone(d.user.id)
	}
	return last
}

// User returns the local user with this id, or nil.
func (h *Hub) User(userID string) *User { return h.reg.user(userID) }

// ChatUsers appends the local member users of chatID to buf.
func (h *Hub) ChatUsers(chatID string, buf []*User) []*User { return h.reg.chatUsers(chatID, buf) }

// RangeDevices calls f for every local device announced online, with its
// user's chats, outside the registry's locks.
func (h *Hub) RangeDevices(f func(d *Device, chats []string)) { h.reg.rangeDevices(f) }

// SharedChatID returns the registry's copy of chatID if the chat has local
// members (chatID itself otherwise), so that structures that keep a chat
// id for long share one string.
func (h *Hub) SharedChatID(chatID string) string { return h.reg.sharedChatID(chatID) }

// Delivers reports whether this node delivers chatID now: a local user
// is a member of it.
func (h *Hub) Delivers(chatID string) bool { return h.reg.chat(chatID) != nil }

// ChatCount is the number of chats this node is subscribed to.
func (h *Hub) ChatCount() int { return h.reg.chatCount() }

// ChatIDs appends the ids of the chats delivered here to buf.
func (h *Hub) ChatIDs(buf []string) []string { return h.reg.chatIDs(buf) }
