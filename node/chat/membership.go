package chat

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/natterchat/natter/node/fanout"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// Joined is the outcome of a join: whether it made a new membership, and
// the chat's last sequence just before it did. Nodes that start
// delivering the chat to the new member deliver from there, so a message
// sent right after the join reaches the member even if its node hears of
// the join later.
type Joined struct {
	Added bool
	Since uint64
}

// sinceNow is a Joined.Since that was not read: the member receives what
// is stored from the moment this node starts to deliver the chat to it.
// A guest's join of a chat this node already delivers needs no more (a
// guest has no other node), and saves a storage round trip per join.
const sinceNow = ^uint64(0)

// Join makes who a member of the chat that ref names, creating a public
// room on its first join. Joining a private or direct chat only works for
// its members (it then just reports Added false). The caller announces a
// new membership with Announce once it has answered.
func (s *Service) Join(ctx context.Context, who Identity, ref wire.ChatRef) (c store.Chat, j Joined, err error) {
	role := store.RoleMember
	if ref.Chat == "" && ref.Room != "" {
		if err := ValidName("room", ref.Room, MaxRoomNameLen); err != nil {
			return c, j, err
		}
		var created bool
		c, created, err = s.ensureRoom(ctx, ref.Room, who.ID)
		if created {
			role = store.RoleOwner
		}
	} else {
		c, err = s.Resolve(ctx, ref)
	}
	if err != nil {
		return c, j, err
	}
	if c.Kind != store.Public {
		member, err := s.IsMember(ctx, who.ID, c.ID)
		if err != nil {
			return c, j, err
		}
		if !member {
			return c, j, wire.Errorf(wire.CodeForbidden, "chat %q is %s: only its members can open it", c.ID, c.Kind)
		}
		return c, j, nil
	}
	j, err = s.AddMember(ctx, c, who, role)
	return c, j, err
}

// AddMember adds who to c, enforcing the room limit; the caller announces
// a new membership with Announce once it has answered.
func (s *Service) AddMember(ctx context.Context, c store.Chat, who Identity, role string) (Joined, error) {
	if who.Guest {
		return s.addGuest(ctx, c, who)
	}
	if member, err := s.IsMember(ctx, who.ID, c.ID); err != nil {
		return Joined{}, err
	} else if member {
		return Joined{}, nil
	}
	if mine, err := s.cfg.Store.UserChats(ctx, who.ID); err != nil {
		return Joined{}, fmt.Errorf("list chats: %w", err)
	} else if len(mine) >= s.cfg.MaxRoomsPerUser {
		return Joined{}, wire.Errorf(wire.CodeTooManyRooms, "you are in %d chats, the most allowed", len(mine))
	}
	since, err := s.cfg.Store.LastSeq(ctx, c.ID)
	if err != nil {
		return Joined{}, fmt.Errorf("read chat cursor: %w", err)
	}
	added, err := s.cfg.Store.AddMember(ctx, store.Member{ChatID: c.ID, UserID: who.ID, Name: who.Name, Role: role, JoinedAt: time.Now().UTC(), Since: since})
	s.members.changed(c.ID) // before the member list the joiner gets next
	if err != nil {
		return Joined{}, fmt.Errorf("add member: %w", err)
	}
	return Joined{Added: added, Since: since}, nil
}

// addGuest makes a guest a member of c. A guest's memberships end with
// its connection, so they are not stored: its node's cache and every
// node's presence view (through the membership events) hold them.
func (s *Service) addGuest(ctx context.Context, c store.Chat, who Identity) (Joined, error) {
	u := s.cfg.Hub.User(who.ID)
	if u == nil {
		return Joined{}, wire.Errorf(wire.CodeForbidden, "guests join over their WebSocket")
	}
	member, count := u.Membership(c.ID)
	if member {
		return Joined{}, nil
	}
	if count >= s.cfg.MaxRoomsPerUser {
		return Joined{}, wire.Errorf(wire.CodeTooManyRooms, "you are in %d chats, the most allowed", count)
	}
	since := sinceNow
	if !s.cfg.Hub.Delivers(c.ID) {
		var err error
		if since, err = s.cfg.Store.LastSeq(ctx, c.ID); err != nil {
			return Joined{}, fmt.Errorf("read chat cursor: %w", err)
		}
	}
	// The member list answered next must show the guest already.
	s.cfg.Presence.ChatChanged(who.ID, c.ID, true)
	return Joined{Added: true, Since: since}, nil
}

// RemoveMember ends who's membership of c and announces it.
func (s *Service) RemoveMember(ctx context.Context, c store.Chat, who Identity) (bool, error) {
	return s.removeMember(ctx, c, who, nil)
}

// LeaveTold is RemoveMember for device d's own leave: when it removed the
// membership, it returns once d has been sent its LeftRoom (see
// announceTold), so that the answers to its next frames follow it.
func (s *Service) LeaveTold(ctx context.Context, c store.Chat, who Identity, d *fanout.Device) (bool, error) {
	return s.removeMember(ctx, c, who, d)
}

// removeMember is RemoveMember, waiting for device d, if not nil, to be
// told of the leave.
func (s *Service) removeMember(ctx context.Context, c store.Chat, who Identity, d *fanout.Device) (bool, error) {
	if who.Guest {
		s.cfg.Presence.ChatChanged(who.ID, c.ID, false)
		s.announceTold(ctx, c, who, false, 0, d)
		return true, nil
	}
	removed, err := s.cfg.Store.RemoveMember(ctx, c.ID, who.ID)
	s.members.changed(c.ID)
	if err != nil {
		return false, fmt.Errorf("remove member: %w", err)
	}
	if removed {
		s.announceTold(ctx, c, who, false, 0, d)
	}
	return removed, nil
}

// EndGuestHere ends, for this node's devices, the memberships of a guest
// whose node died: the local members of those chats delivered here hear
// LeftRoom. Every node that delivers one of the chats knew of the guest
// and does the same for its own devices, so each member hears it once;
// a guest's memberships are kept nowhere else.
func (s *Service) EndGuestHere(who Identity, chats []string) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
	defer cancel()
	for _, chatID := range chats {
		if !s.cfg.Hub.Delivers(chatID) {
			continue
		}
		s.cfg.Presence.ChatChanged(who.ID, chatID, false)
		c, err := s.storedChat(ctx, chatID)
		if err != nil {
			s.cfg.Log.Warn("end guest membership", slog.String("user", who.ID), slog.String("chat", chatID), slog.Any("err", err))
			continue
		}
		me := who.MemberEvent(c)
		s.cfg.Hub.DeliverEventHere(c.ID, wire.Encode(wire.ChannelChatRoom, wire.TypeLeftRoom, me), who.ID)
	}
}

// EndGuest ends a guest's memberships of chats: members hear LeftRoom. A
// guest's chats are known from its node's cache (a draining node ends its
// own guests; EndGuestHere ends those of a node that died).
func (s *Service) EndGuest(who Identity, chats []string) {
	// Thousands of guests leave at once when a node drains or dies;
	// bounding the cleanups keeps each within its deadline instead of all
	// timing out together.
	s.guestEnds <- struct{}{}
	defer func() { <-s.guestEnds }()
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
	defer cancel()
	for _, chatID := range chats {
		c, err := s.storedChat(ctx, chatID)
		if err == nil {
			_, err = s.RemoveMember(ctx, c, who)
		}
		if err != nil {
			s.cfg.Log.Warn("end guest membership", slog.String("user", who.ID), slog.String("chat", chatID), slog.Any("err", err))
		}
	}
}
