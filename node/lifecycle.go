package node

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/node/wsconn"
)

// connHandler receives the connection layer's callbacks.
type connHandler struct{ n *Node }

// OnMessage runs on a connection-layer worker: it rate-limits and queues
// the frame for the device's runner, never blocking the worker on
// storage or NATS.
func (h connHandler) OnMessage(c *wsconn.Conn, msg []byte) {
	d := c.Data().(*device)
	n := h.n
	if !d.allow(monoNow(), n.cfg.RateLimit, n.cfg.RateBurst) {
		n.metrics.rateLimited.Add(1)
		_ = c.Send(wsconn.NewTextFrame(wire.Encode(wire.ChannelSession, wire.TypeError,
			wire.Errorf(wire.CodeRateLimited, "more than %g frames per second; frame dropped", n.cfg.RateLimit))))
		return
	}
	if !d.enqueue(append([]byte(nil), msg...)) {
		c.Close(wsconn.ReasonPolicy, "too many frames waiting")
	}
}

// OnClose hands the device's cleanup (presence, guest memberships, store
// calls) to a goroutine so the worker moves on.
func (h connHandler) OnClose(c *wsconn.Conn, reason wsconn.CloseReason) {
	d := c.Data().(*device)
	h.n.metrics.closeReason(reason)
	d.mu.Lock()
	d.closed = true
	registered := d.registered
	d.mu.Unlock()
	if registered {
		h.n.queueCleanup(d)
	}
}

// maxCleaners bounds the goroutines that handle closed devices: when a
// node drains or thousands of clients drop at once, the closes queue up
// instead of starting a goroutine (and a stack) each.
const maxCleaners = 64

// queueCleanup hands a closed device to the cleaners, starting one if
// fewer than maxCleaners run.
func (n *Node) queueCleanup(d *device) {
	n.cleanMu.Lock()
	n.cleanQueue = append(n.cleanQueue, d)
	start := n.cleaners < maxCleaners
	if start {
		n.cleaners++
		n.cleanups.Add(1)
	}
	n.cleanMu.Unlock()
	if start {
		go n.cleanLoop()
	}
}

// cleanLoop handles queued closed devices until none are left.
func (n *Node) cleanLoop() {
	defer n.cleanups.Done()
	for {
		n.cleanMu.Lock()
		if len(n.cleanQueue) == 0 {
			n.cleaners--
			n.cleanQueue = nil
			n.cleanMu.Unlock()
			return
		}
		d := n.cleanQueue[0]
		n.cleanQueue[0] = nil
		n.cleanQueue = n.cleanQueue[1:]
		n.cleanMu.Unlock()
		n.deviceGone(d)
	}
}

// attach takes an upgraded connection into the connection layer and
// registers its device: welcome first, then the user's chats (loaded once
// per user per node), presence, the URL's room, and only then the
// client's own frames.
func (n *Node) attach(conn net.Conn, h *handshake) {
	_ = conn.SetDeadline(time.Time{})
	who := h.who
	d := &device{id: who.device, n: n}
	if d.id == "" {
		d.id = newID()
	}
	// Chats resumed at connect get no live delivery until their replay
	// is done, so the device sees each as one ordered sequence.
	resumed := make(map[string]bool, len(h.resume))
	for _, r := range h.resume {
		d.beginResume(r.Chat)
		resumed[r.Chat] = true
	}
	c := &d.conn
	if err := n.conns.AttachConn(c, conn, d); err != nil {
		conn.Close()
		return
	}
	n.metrics.handshakes.Add(1)
	// Every message stored after the Welcome reaches the device: its
	// chats are caught up from the stream's position before the Welcome
	// (their subscriptions may only begin during the setup below), and
	// until then the hold keeps live messages from overtaking them.
	pctx, pcancel := context.WithTimeout(context.Background(), 2*time.Second)
	pos, posErr := n.store.Position(pctx)
	pcancel()
	welcomeAt := time.Now()
	d.sendFrame(wire.ChannelSession, wire.TypeWelcome, wire.Welcome{User: who.id, Name: who.name, Device: d.id, Node: n.id})
	d.setHold()
	u, first, ok := n.reg.addDevice(who.id, who.name, who.guest, d, n.cfg.MaxDevicesPerUser)
	registeredAt := time.Now()
	if !ok {
		c.Close(wsconn.ReasonPolicy, fmt.Sprintf("more than %d devices of this user on this node", n.cfg.MaxDevicesPerUser))
		return
	}
	d.mu.Lock()
	closedEarly := d.closed
	d.registered = !closedEarly
	d.mu.Unlock()
	// The first device loads the user's chats even if it already left, so
	// that later devices waiting on ready see a consistent user.
	if first {
		u.loadErr = n.loadUserChats(u)
		u.ready.open()
	} else {
		u.ready.wait()
	}
	if closedEarly {
		// OnClose ran before registration and left the cleanup to us.
		n.cleanups.Add(1)
		defer n.cleanups.Done()
		n.deviceGone(d)
		return
	}
	if u.loadErr != nil {
		n.log.Warn("load user chats", slog.String("user", u.id), slog.Any("err", u.loadErr))
		c.Close(wsconn.ReasonTryAgain, "storage unavailable; try again")
		return
	}
	// Membership events that came between the Welcome and the device's
	// registration found no device to tell; tell it now.
	for _, ev := range n.recent.of(u.id) {
		if !ev.at.Before(welcomeAt) && ev.at.Before(registeredAt) {
			d.sendFrame(wire.ChannelChatRoom, ev.event.Type, ev.event.MemberEvent)
		}
	}
	chats := u.chatIDs()
	n.catchUpDevice(d, chats, resumed, pos, posErr)
	d.mu.Lock()
	if !d.closed {
		// Under d.mu, so that deviceGone's "down" can never overtake it.
		d.presenceUp = true
		n.presence.publish(d, true, chats)
	}
	d.mu.Unlock()
	for _, r := range h.resume {
		d.enqueue(wire.Encode(wire.ChannelChatRoom, wire.TypeResume, r))
	}
	if h.room != "" {
		d.enqueue(wire.Encode(wire.ChannelChatRoom, wire.TypeJoinRoom, wire.ChatRef{Room: h.room}))
	}
	d.setLive()
}

// loadUserChats fills a user's membership cache and subscribes this node
// to its chats.
func (n *Node) loadUserChats(u *localUser) error {
	if u.guest {
		return nil // a guest starts with no chats
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.RequestTimeout)
	defer cancel()
	ms, err := n.store.UserChats(ctx, u.id)
	if err != nil {
		return fmt.Errorf("list chats: %w", err)
	}
	for _, m := range ms {
		n.linkChat(u, m.ChatID, nil)
	}
	// The listing may trail a join or leave announced a moment ago.
	for _, ev := range n.recent.of(u.id) {
		if ev.joined() {
			n.linkChat(u, ev.chat(), &ev.event.Since)
		} else {
			n.unlinkChat(u, ev.chat())
		}
	}
	if n.cfg.Store.Replicas > 1 {
		// With replicas, the listing came from any replica and may trail
		// a join made a moment ago on another node; list once more when
		// the replicas have caught up. A join after the first listing
		// arrives as a user event anyway.
		// Not counted in n.cleanups: a first device may still be loading
		// while Shutdown already waits, and the relist gives up by
		// itself once the node is closed.
		time.AfterFunc(relistDelay, func() { n.relinkUserChats(u) })
	}
	return nil
}

// relistDelay is how long after a user's first device connected its
// chats are listed once more in a replicated store.
const relistDelay = 2 * time.Second

// relinkUserChats links chats that the first listing missed, delivering
// each from the point its membership began.
func (n *Node) relinkUserChats(u *localUser) {
	if n.isClosed() || n.reg.user(u.id) != u {
		return // shutting down, or the user's devices are gone
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.RequestTimeout)
	defer cancel()
	ms, err := n.store.UserChats(ctx, u.id)
	if err != nil {
		n.logLimited("relist user chats", slog.String("user", u.id), slog.Any("err", err))
		return
	}
	for _, m := range ms {
		if !u.isMember(m.ChatID) {
			n.linkChat(u, m.ChatID, &m.Since)
		}
	}
}

// deviceGone unregisters a closed device. A user's last device here ends
// this node's interest in its chats; a guest's last device ends the guest:
// its memberships go (members get LeftRoom) and nothing of it stays.
func (n *Node) deviceGone(d *device) {
	u := d.user
	chats := u.chatIDs()
	d.mu.Lock()
	if d.presenceUp {
		d.presenceUp = false
		n.presence.publish(d, false, chats)
	}
	d.mu.Unlock()
	last := n.reg.removeDevice(d)
	u.ready.wait()
	if !last {
		return
	}
	if u.guest {
		n.endGuest(identity{id: u.id, name: u.name, guest: true}, u.chatIDs())
	}
	for _, chatID := range u.chatIDs() {
		n.unlinkChat(u, chatID)
	}
}

// endGuest ends a guest's memberships: members hear LeftRoom. A guest's
// chats are known from its node's cache, or from the presence view when
// its node died.
func (n *Node) endGuest(who identity, chats []string) {
	// Thousands of guests leave at once when a node drains or dies;
	// bounding the cleanups keeps each within its deadline instead of all
	// timing out together.
	n.guestCleanups <- struct{}{}
	defer func() { <-n.guestCleanups }()
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.RequestTimeout)
	defer cancel()
	for _, chatID := range chats {
		c, err := n.store.Chat(ctx, chatID)
		if err == nil {
			_, err = n.removeMember(ctx, c, who)
		}
		if err != nil {
			n.log.Warn("end guest membership", slog.String("user", who.id), slog.String("chat", chatID), slog.Any("err", err))
		}
	}
}

// catchUpDevice ends a new device's hold: each chat is marked resuming
// first, so that releasing the hold lets no live message through before
// the chat's catch-up from pos, which then runs on the chat's dispatcher.
func (n *Node) catchUpDevice(d *device, chats []string, resumed map[string]bool, pos uint64, posErr error) {
	if posErr != nil {
		n.logLimited("read stream position", slog.Any("err", posErr))
		d.releaseHold()
		return
	}
	var todo []string
	for _, chat := range chats {
		if !resumed[chat] {
			d.beginResume(chat)
			todo = append(todo, chat)
		}
	}
	d.releaseHold()
	for _, chat := range todo {
		n.dispatch.of(chat).catchUp(d, chat, pos)
	}
}
