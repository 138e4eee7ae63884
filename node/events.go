package node

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/node/wsconn"
	"github.com/natterchat/natter/subjects"
)

// eventMember is the ChatEvent kind of membership changes.
const eventMember = "member"

// eventsBuffer is the capacity of the events loop's channel.
const eventsBuffer = 1 << 16

// publishEvent sends a core NATS event. Events are best-effort
// notifications; the durable truth is in the store.
func (n *Node) publishEvent(subject string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		n.log.Error("encode event", slog.String("subject", subject), slog.Any("err", err))
		return
	}
	if err := n.nc.Publish(subject, b); err != nil {
		n.logLimited("publish event failed", slog.String("subject", subject), slog.Any("err", err))
	}
}

// runEvents handles the node-wide subscriptions: user events (membership
// changes of users with devices here), presence transitions and
// broadcasts. They may call the store, so they have their own loop rather
// than a fan-out dispatcher's.
func (n *Node) runEvents(ctx context.Context, ch <-chan *nats.Msg) {
	tick := time.NewTicker(n.cfg.HeartbeatInterval)
	defer tick.Stop()
	n.presence.beat(false)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			n.presence.beat(false)
			n.presence.sweep(now)
			n.recent.prune(now)
		case m := <-ch:
			switch {
			case m.Subject == subjects.Broadcast:
				n.deliverBroadcast(m.Data)
			case m.Subject == subjects.Presence:
				n.presence.handle(m.Data)
			case m.Subject == subjects.Heartbeat:
				n.presence.handleHeartbeat(m.Data)
			default:
				if userID, ok := subjects.ParseUserEvents(m.Subject); ok {
					n.handleUserEvent(userID, m.Data)
				}
			}
		}
	}
}

// handleUserEvent applies a membership change of a user with devices here
// and tells its devices.
func (n *Node) handleUserEvent(userID string, data []byte) {
	var ev chatEvent
	if err := json.Unmarshal(data, &ev); err != nil || !subjects.ValidID(ev.Chat) {
		n.logLimited("bad user event", slog.String("user", userID))
		return
	}
	ev.Chat = n.reg.sharedChatID(ev.Chat)
	joined := ev.Type == wire.TypeJoinedRoom
	if !ev.Guest {
		// A guest has one device, here or on its own node, whose presence
		// "up" went out on this connection before any of its joins, and
		// no stored chats: no listing or presence event can trail its
		// membership, so replaying it is never needed. Not remembering
		// guests keeps a connection storm of guests from holding an
		// event per join for the window.
		n.recent.add(userID, recentEvent{at: time.Now(), event: ev})
	}
	n.presence.chatChanged(userID, ev.Chat, joined)
	u := n.reg.user(userID)
	if u == nil {
		return
	}
	u.ready.wait()
	switch ev.Type {
	case wire.TypeJoinedRoom:
		n.linkChat(u, ev.Chat, &ev.Since)
	case wire.TypeLeftRoom:
		n.unlinkChat(u, ev.Chat)
	default:
		return
	}
	frame := wsconn.NewTextFrame(wire.Encode(wire.ChannelChatRoom, ev.Type, ev.MemberEvent))
	for _, d := range u.devicesCopy(nil) {
		d.send(frame)
	}
}

// linkChat adds chatID to u's cached chats and, if u is its first local
// member, subscribes this node to it, delivering from since (nil: from
// now).
func (n *Node) linkChat(u *localUser, chatID string, since *uint64) {
	chatID = n.reg.sharedChatID(chatID)
	u.mu.Lock()
	added := u.chats.add(chatID)
	u.mu.Unlock()
	if !added {
		return
	}
	c, created := n.reg.addChatUser(chatID, u)
	if created {
		n.subscribeChat(c, since)
	}
}

// unlinkChat removes chatID from u's cached chats and unsubscribes when u
// was its last local member.
func (n *Node) unlinkChat(u *localUser, chatID string) {
	u.mu.Lock()
	had := u.chats.remove(chatID)
	u.mu.Unlock()
	if !had {
		return
	}
	if c, removed := n.reg.removeChatUser(chatID, u); removed {
		n.unsubscribeChat(c)
	}
}

// subscribeChat starts fan-out of c from since (nil: the chat's current
// last sequence): hand the cursor to the chat's dispatcher, then
// subscribe (the dispatcher runs the track op before the subscription's
// first message). Whatever is stored after the cursor is delivered live
// or repaired from the stream.
func (n *Node) subscribeChat(c *localChat, since *uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var name string
	chat, err := n.store.Chat(ctx, c.id)
	if err == nil {
		name = chat.Name
	}
	var baseline uint64
	if since != nil {
		baseline = *since
	} else if baseline, err = n.store.LastSeq(ctx, c.id); err != nil {
		// Without a cursor the recheck would replay the chat's whole
		// history; deliver from the first live message instead.
		n.log.Warn("read chat cursor", slog.String("chat", c.id), slog.Any("err", err))
		baseline = noCursor
	}
	d := n.dispatch.of(c.id)
	n.reg.activate(c, func() subscription {
		d.track(c, name, baseline)
		subj := subjects.LiveChat(c.id)
		s, err := n.nc.ChanSubscribe(subj, d.msgs)
		if err != nil {
			n.log.Error("subscribe chat", slog.String("subject", subj), slog.Any("err", err))
			return nil
		}
		return s
	})
}

// routeChatEvent hands a chat event to the chat's dispatcher when the chat
// has local members. Chat events come through one node-wide subscription
// (subjects.ChatEventWildcard) rather than one per chat: they are the
// joins and leaves every node already receives as user events, and a
// subscription per chat cost ~1 KiB in the client and the server, about
// 100 B per connection in rooms of 10. The handler runs on the
// subscription's own goroutine and never blocks: if the dispatcher is
// that far behind, the notice is dropped as NATS would drop it for a slow
// consumer.
func (n *Node) routeChatEvent(m *nats.Msg) {
	chatID, _, ok := subjects.ParseChatEvent(m.Subject)
	if !ok || n.reg.chat(chatID) == nil {
		return
	}
	select {
	case n.dispatch.of(chatID).msgs <- m:
	default:
		n.logLimited("fanout: dispatcher full, chat event dropped", slog.String("chat", chatID))
	}
}

func (n *Node) unsubscribeChat(c *localChat) {
	if c.sub != nil {
		_ = c.sub.Unsubscribe()
	}
	n.dispatch.of(c.id).untrack(c)
}

// deliverBroadcast sends a broadcast frame, encoded once, to every device.
func (n *Node) deliverBroadcast(frame []byte) {
	f := wsconn.NewTextFrame(frame)
	n.conns.Range(func(c *wsconn.Conn) bool {
		_ = c.Send(f)
		return true
	})
}
