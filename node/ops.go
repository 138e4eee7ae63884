package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/subjects"
)

// The chat operations below are shared by the WebSocket protocol
// (session.go) and the HTTP API (api_chats.go), so both enforce the same
// rules and report the same coded errors.

// identity is an authenticated user: from a token, or a guest.
type identity struct {
	id    string
	name  string
	guest bool
	// device is a guest's device id, made with its user id (identify);
	// empty for a token's user, whose device gets a fresh id.
	device string
}

// maxRoomNameLen is the longest chat name in characters.
const maxRoomNameLen = 100

// msgIDSpace namespaces message ids derived from client message ids.
var msgIDSpace = uuid.MustParse("6f1c2b1e-8d4b-4c57-9d8e-2f4a3c1b7e90")

// messageID returns the id a send is stored under. A client message id is
// scoped to its sender and chat, so a retry after a reconnect is deduped
// while two clients that both count from 1 never collide.
func messageID(userID, chatID, clientMsgID string) string {
	if clientMsgID == "" {
		return uuid.NewString()
	}
	return uuid.NewSHA1(msgIDSpace, []byte(userID+"/"+chatID+"/"+clientMsgID)).String()
}

// validName checks user-data names (rooms): non-empty after trimming, not
// too long, no control characters.
func validName(field, s string, max int) error {
	if strings.TrimSpace(s) == "" {
		return wire.Errorf(wire.CodeMissingField, "%s is empty", field)
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return wire.Errorf(wire.CodeInvalidField, "%s must be at most %d characters of valid UTF-8", field, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return wire.Errorf(wire.CodeInvalidField, "%s must not contain control characters", field)
		}
	}
	return nil
}

// resolveChat finds the chat a frame names: a public room by name or any
// chat by id.
func (n *Node) resolveChat(ctx context.Context, ref wire.ChatRef) (store.Chat, error) {
	switch {
	case ref.Chat != "":
		if !subjects.ValidID(ref.Chat) {
			return store.Chat{}, wire.Errorf(wire.CodeInvalidField, "chat must be 1-64 characters of [A-Za-z0-9_-]")
		}
		c, err := n.store.Chat(ctx, ref.Chat)
		if errors.Is(err, store.ErrNotFound) {
			return c, wire.Errorf(wire.CodeChatNotFound, "no chat with id %q", ref.Chat)
		}
		return c, err
	case ref.Room != "":
		if err := validName("room", ref.Room, maxRoomNameLen); err != nil {
			return store.Chat{}, err
		}
		c, err := n.store.PublicRoom(ctx, ref.Room)
		if errors.Is(err, store.ErrNotFound) {
			return c, wire.Errorf(wire.CodeChatNotFound, "no room named %q", ref.Room)
		}
		return c, err
	default:
		return store.Chat{}, wire.Errorf(wire.CodeMissingField, "room or chat is required")
	}
}

// isMember answers from the local cache when the user has a device here,
// and from the store otherwise (HTTP callers).
func (n *Node) isMember(ctx context.Context, userID, chatID string) (bool, error) {
	if u := n.reg.user(userID); u != nil && u.loaded() {
		return u.isMember(chatID), nil
	}
	_, err := n.store.Member(ctx, chatID, userID)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrNotMember), errors.Is(err, store.ErrNotFound):
		return false, nil
	default:
		return false, err
	}
}

func (n *Node) requireMember(ctx context.Context, userID, chatID string) error {
	ok, err := n.isMember(ctx, userID, chatID)
	if err != nil {
		return err
	}
	if !ok {
		return wire.Errorf(wire.CodeNotMember, "you are not a member of this chat")
	}
	return nil
}

// joinChat makes who a member of the chat that ref names, creating a
// public room on its first join. Joining a private or direct chat only
// works for its members (it then just reports added=false). The caller
// announces a new membership with membershipChanged.
func (n *Node) joinChat(ctx context.Context, who identity, ref wire.ChatRef) (c store.Chat, j joined, err error) {
	role := store.RoleMember
	if ref.Chat == "" && ref.Room != "" {
		if err := validName("room", ref.Room, maxRoomNameLen); err != nil {
			return c, j, err
		}
		var created bool
		c, created, err = n.store.EnsurePublicRoom(ctx, ref.Room, who.id)
		if created {
			role = store.RoleOwner
		}
	} else {
		c, err = n.resolveChat(ctx, ref)
	}
	if err != nil {
		return c, j, err
	}
	if c.Kind != store.Public {
		member, err := n.isMember(ctx, who.id, c.ID)
		if err != nil {
			return c, j, err
		}
		if !member {
			return c, j, wire.Errorf(wire.CodeForbidden, "chat %q is %s: only its members can open it", c.ID, c.Kind)
		}
		return c, j, nil
	}
	j, err = n.addMember(ctx, c, who, role)
	return c, j, err
}

// joined is the outcome of a join: whether it made a new membership, and
// the chat's last sequence just before it did. Nodes that start
// delivering the chat to the new member deliver from there, so a message
// sent right after the join reaches the member even if its node hears of
// the join later.
type joined struct {
	added bool
	since uint64
}

// addMember adds who to c, enforcing the room limit; the caller announces
// a new membership with membershipChanged once it has answered.
func (n *Node) addMember(ctx context.Context, c store.Chat, who identity, role string) (joined, error) {
	if who.guest {
		return n.addGuest(ctx, c, who)
	}
	if member, err := n.isMember(ctx, who.id, c.ID); err != nil {
		return joined{}, err
	} else if member {
		return joined{}, nil
	}
	if mine, err := n.store.UserChats(ctx, who.id); err != nil {
		return joined{}, err
	} else if len(mine) >= n.cfg.MaxRoomsPerUser {
		return joined{}, wire.Errorf(wire.CodeTooManyRooms, "you are in %d chats, the most allowed", len(mine))
	}
	since, err := n.store.LastSeq(ctx, c.ID)
	if err != nil {
		return joined{}, fmt.Errorf("read chat cursor: %w", err)
	}
	added, err := n.store.AddMember(ctx, store.Member{ChatID: c.ID, UserID: who.id, Name: who.name, Role: role, JoinedAt: time.Now().UTC(), Since: since})
	if err != nil {
		return joined{}, fmt.Errorf("add member: %w", err)
	}
	return joined{added: added, since: since}, nil
}

// addGuest makes a guest a member of c. A guest's memberships end with
// its connection, so they are not stored: its node's cache and every
// node's presence view (through the membership events) hold them.
func (n *Node) addGuest(ctx context.Context, c store.Chat, who identity) (joined, error) {
	u := n.reg.user(who.id)
	if u == nil {
		return joined{}, wire.Errorf(wire.CodeForbidden, "guests join over their WebSocket")
	}
	u.mu.Lock()
	member, count := u.chats.has(c.ID), len(u.chats)
	u.mu.Unlock()
	if member {
		return joined{}, nil
	}
	if count >= n.cfg.MaxRoomsPerUser {
		return joined{}, wire.Errorf(wire.CodeTooManyRooms, "you are in %d chats, the most allowed", count)
	}
	since, err := n.store.LastSeq(ctx, c.ID)
	if err != nil {
		return joined{}, fmt.Errorf("read chat cursor: %w", err)
	}
	// The member list answered next must show the guest already.
	n.presence.chatChanged(who.id, c.ID, true)
	return joined{added: true, since: since}, nil
}

// removeMember ends who's membership of c and announces it.
func (n *Node) removeMember(ctx context.Context, c store.Chat, who identity) (bool, error) {
	if who.guest {
		n.presence.chatChanged(who.id, c.ID, false)
		n.membershipChanged(c, who, false, 0)
		return true, nil
	}
	removed, err := n.store.RemoveMember(ctx, c.ID, who.id)
	if err != nil {
		return false, fmt.Errorf("remove member: %w", err)
	}
	if removed {
		n.membershipChanged(c, who, false, 0)
	}
	return removed, nil
}

// membershipChanged updates this node's cache at once (so a send right
// after a join is authorized) and tells every node: the user's nodes
// through its user event (they update their caches and tell the user's
// devices), the chat's nodes through the chat event (they tell the other
// members).
// since is the chat's cursor when a membership began (see joined).
func (n *Node) membershipChanged(c store.Chat, who identity, join bool, since uint64) {
	if u := n.reg.user(who.id); u != nil {
		if join {
			n.linkChat(u, c.ID, &since)
		} else {
			n.unlinkChat(u, c.ID)
		}
	}
	typ := wire.TypeLeftRoom
	if join {
		typ = wire.TypeJoinedRoom
	}
	ev := chatEvent{Type: typ, MemberEvent: wire.MemberEvent{Room: c.Name, Chat: c.ID, User: who.id, Name: who.name}, Since: since, Guest: who.guest}
	n.publishEvent(subjects.UserEvents(who.id), ev)
	n.publishEvent(subjects.ChatEvent(c.ID, eventMember), ev)
}

// sendMessage validates and stores a message; the fan-out path delivers
// it. The returned message carries its sequence.
func (n *Node) sendMessage(ctx context.Context, who identity, dev *device, c store.Chat, text, clientMsgID string, echo bool) (m store.Message, dup bool, err error) {
	if text == "" {
		return m, false, wire.Errorf(wire.CodeMissingField, "message is empty")
	}
	if l := utf8.RuneCountInString(text); l > n.cfg.MaxMessageLen {
		return m, false, wire.Errorf(wire.CodeMessageTooLong, "message has %d characters, the limit is %d", l, n.cfg.MaxMessageLen)
	}
	if clientMsgID != "" && !subjects.ValidID(clientMsgID) {
		return m, false, wire.Errorf(wire.CodeInvalidField, "clientMsgId must be 1-64 characters of [A-Za-z0-9_-]")
	}
	if err := n.requireMember(ctx, who.id, c.ID); err != nil {
		return m, false, err
	}
	m = store.Message{
		ChatID: c.ID, ID: messageID(who.id, c.ID, clientMsgID), UserID: who.id, UserName: who.name,
		Text: text, PostedAt: time.Now().UTC(),
	}
	if dev != nil {
		m.DeviceID = dev.id
		if !echo {
			dev.suppressEcho(m.ID)
		}
	}
	start := time.Now()
	seq, dup, err := n.store.PublishMessage(ctx, m)
	if err != nil || dup {
		if dev != nil && !echo {
			dev.unsuppressEcho(m.ID)
		}
	}
	if err != nil {
		n.metrics.publishErrors.Add(1)
		return m, false, fmt.Errorf("publish: %w", err)
	}
	n.metrics.messagesAccepted.Add(1)
	n.metrics.observePublish(time.Since(start))
	m.Seq = seq
	return m, dup, nil
}

// history reads a page of a chat's messages for a member.
func (n *Node) history(ctx context.Context, who identity, chatID string, p store.Page) ([]store.Message, error) {
	if p.Before != 0 && p.After != 0 {
		return nil, wire.Errorf(wire.CodeInvalidField, "give before or after, not both")
	}
	if p.Limit < 0 || p.Limit > store.MaxPageLimit {
		return nil, wire.Errorf(wire.CodeInvalidField, "limit must be between 1 and %d", store.MaxPageLimit)
	}
	if err := n.requireMember(ctx, who.id, chatID); err != nil {
		return nil, err
	}
	return n.store.Messages(ctx, chatID, p)
}

// memberList lists a chat's members with who is online in the cluster.
func (n *Node) memberList(ctx context.Context, c store.Chat) (wire.MemberList, error) {
	ms, err := n.store.Members(ctx, c.ID)
	if err != nil {
		return wire.MemberList{}, fmt.Errorf("list members: %w", err)
	}
	l := wire.MemberList{Room: c.Name, Chat: c.ID, Users: make([]string, 0, len(ms)), Online: []string{}, Members: make([]wire.MemberInfo, 0, len(ms))}
	for _, m := range ms {
		online := n.presence.online(m.UserID)
		l.Users = append(l.Users, m.UserID)
		if online {
			l.Online = append(l.Online, m.UserID)
		}
		l.Members = append(l.Members, wire.MemberInfo{User: m.UserID, Name: m.Name, Role: m.Role, Online: online})
	}
	for _, g := range n.presence.guestMembers(c.ID) {
		l.Users = append(l.Users, g.User)
		l.Online = append(l.Online, g.User)
		l.Members = append(l.Members, g)
	}
	return l, nil
}
