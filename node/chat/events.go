package chat

import (
	"log/slog"
	"slices"
	"time"

	"github.com/natterchat/natter/node/fanout"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/node/wsconn"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/subjects"
)

// eventMember is the chat event kind of membership notices.
const eventMember = "member"

// userEvent is the payload of user.<id>.evt: a membership change of the
// user or a revocation of its tokens, applied by every node
// (ApplyUserEvent).
type userEvent struct {
	Type string `json:"type"` // wire.TypeJoinedRoom, wire.TypeLeftRoom or eventRevoked
	wire.MemberEvent
	// Since is the chat's last sequence when a membership began.
	Since uint64 `json:"since,omitempty"`
	// Guest marks a guest's membership, which no listing or later device
	// can trail (see ApplyUserEvent).
	Guest bool `json:"guest,omitempty"`
	// Told is the token of the request that made the join or leave (its
	// device's id and a number), which waits for its node to have told
	// the user's devices (told.go). On other nodes it matches no wait.
	Told string `json:"told,omitempty"`
	// Sent is the id of the device that made the join and was sent its
	// JoinedRoom at once (AnnounceJoinSent): its node does not send it
	// again. On other nodes it names no device.
	Sent string `json:"sent,omitempty"`
	// Version is a revocation's new token version.
	Version uint32 `json:"version,omitempty"`
}

// Announce updates this node's cache at once (so a send right after a
// join is authorized) and tells every node: the user's nodes through its
// user event (they update their caches and tell the user's devices), the
// chat's nodes through a chat event (they tell the other members). since
// is the chat's cursor when a membership began (see Joined).
func (s *Service) Announce(c store.Chat, who Identity, join bool, since uint64) {
	s.announce(c, who, join, since, ownDevice{})
}

// ownDevice says how the device that made a membership change hears of
// it, when it is this node's: told, the token of a request that waits
// for the user event (told.go), or sent, the device's id when it was
// sent its frame at once (AnnounceJoinSent); zero for neither.
type ownDevice struct{ told, sent string }

// announce is Announce carrying own in the user event; it reports
// whether the user event went out.
func (s *Service) announce(c store.Chat, who Identity, join bool, since uint64, own ownDevice) bool {
	from := &since
	if since == sinceNow {
		from, since = nil, 0
	}
	if u := s.cfg.Hub.User(who.ID); u != nil {
		if join {
			s.cfg.Hub.Link(u, c.ID, from)
		} else {
			s.cfg.Hub.Unlink(u, c.ID)
		}
	}
	typ := MemberType(join)
	me := who.MemberEvent(c)
	// The user's own devices hear of it from the user event. The chat
	// event goes first: both leave on one connection, in order, so once
	// a device of the user has its JoinedRoom, the other members' copy
	// is ahead of whatever this node publishes next (a member who joins
	// the chat after that does not hear of an earlier join).
	if err := s.cfg.Hub.PublishEvent(c.ID, eventMember, wire.Encode(wire.ChannelChatRoom, typ, me), who.ID); err != nil {
		s.cfg.Limiter.Warn("publish chat event failed", slog.String("chat", c.ID), slog.Any("err", err))
	}
	ev := userEvent{Type: typ, MemberEvent: me, Since: since, Guest: who.Guest, Told: own.told, Sent: own.sent}
	if err := s.cfg.NC.Publish(subjects.UserEvents(who.ID), ev.encode()); err != nil {
		s.cfg.Limiter.Warn("publish user event failed", slog.String("user", who.ID), slog.Any("err", err))
		return false
	}
	return true
}

// ApplyUserEvent applies a user event from any node, this one included: a
// revocation of the user's tokens (see RevokeTokens), or a membership
// change: the recent changes, the presence
// view and, when the user has devices here, its cache and subscriptions;
// then it tells those devices. The node calls it on one goroutine, in the
// events' order, which fanout.Hub.TellDevices requires.
func (s *Service) ApplyUserEvent(userID string, data []byte) {
	if s.applyUserNotice(userID, data) { // read.go
		return
	}
	var ev userEvent
	err := decodeUserEvent(data, &ev)
	if err == nil && ev.Type == eventRevoked {
		s.applyRevoked(userID, ev.Version)
		return
	}
	if err != nil || !subjects.ValidID(ev.Chat) ||
		(ev.Type != wire.TypeJoinedRoom && ev.Type != wire.TypeLeftRoom) {
		s.cfg.Limiter.Warn("bad user event", slog.String("user", userID))
		return
	}
	ev.Chat = s.cfg.Hub.SharedChatID(ev.Chat)
	if ev.Told != "" {
		// After the devices are told, or found none to tell.
		defer s.toldWaits.told(ev.Told)
	}
	joined := ev.Type == wire.TypeJoinedRoom
	var seq uint64
	if !ev.Guest {
		s.members.changed(ev.Chat)
		// A guest has one device, here or on its own node, whose presence
		// "up" went out on this connection before any of its joins, and
		// no stored chats: no listing or presence event can trail its
		// membership, so replaying it is never needed. Not remembering
		// guests keeps a connection storm of guests from holding an
		// event per join for the window.
		seq = s.cfg.Recent.Add(userID, fanout.Change{MemberEvent: ev.MemberEvent, Joined: joined, Since: ev.Since, At: time.Now()})
	}
	s.cfg.Presence.ChatChanged(userID, ev.Chat, joined)
	if u := s.cfg.Hub.User(userID); u != nil {
		_ = u.Wait() // a failed load closes the device; nothing to tell then
		if joined {
			s.cfg.Hub.Link(u, ev.Chat, &ev.Since)
			// The chat's other nodes may share no chat with the user yet.
			s.cfg.Presence.AnnounceJoin(u)
		} else {
			s.cfg.Hub.Unlink(u, ev.Chat)
		}
	}
	// Told even when the user has no device here: one that registers
	// after this counts the change among those it missed (Hub.AddDevice),
	// one that registered before it is in devs, never both.
	devs := s.cfg.Hub.TellDevices(userID, seq, nil)
	if ev.Sent != "" {
		devs = slices.DeleteFunc(devs, func(d *fanout.Device) bool { return d.ID() == ev.Sent })
	}
	if len(devs) == 0 {
		return
	}
	frame := memberFrame(ev.Type, ev.MemberEvent)
	for _, d := range devs {
		d.Send(frame)
	}
	s.metrics.FramesOut.Add(int64(len(devs)))
}

// MemberType is the type of the frame that tells of a join (JoinedRoom)
// or a leave (LeftRoom).
func MemberType(join bool) string {
	if join {
		return wire.TypeJoinedRoom
	}
	return wire.TypeLeftRoom
}

// memberFrame is the frame that tells a user's device of its membership
// change (typ JoinedRoom or LeftRoom).
func memberFrame(typ string, me wire.MemberEvent) *wsconn.Frame {
	return wsconn.TextFrameAfter(wire.EncodeAfter(wsconn.TextHeaderRoom, wire.ChannelChatRoom, typ, me))
}
