package presence

import (
	"context"
	"fmt"
	"slices"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/subjects"
)

// ChatView answers who of one chat's members is online: from the view
// when the chat is delivered here, or from a snapshot the cluster gave
// for this one query (Chat).
type ChatView struct {
	v      *View
	chatID string
	// users holds a snapshot's users when the chat is not delivered
	// here; nil reads the view.
	users map[string]*snapUser
}

// snapUser is one online user of a snapshot.
type snapUser struct {
	name    string
	guest   bool
	member  bool // a guest that is a member of the chat
	devices []DeviceInfo
}

// Chat returns the presence of chatID's members. If the chat is delivered
// here it waits, within ctx, for the chat's snapshot to be merged if one
// is still coming (ChatStarted) and reads the view. If not, the view holds
// nothing of the chat: it asks every node for its devices in the chat,
// waiting up to snapshotWait for the answers, and keeps none of them.
func (v *View) Chat(ctx context.Context, chatID string) (ChatView, error) {
	if v.cfg.Hub.Delivers(chatID) {
		v.settle(ctx, chatID)
		return ChatView{v: v, chatID: chatID}, nil
	}
	users, err := v.askChat(ctx, chatID)
	if err != nil {
		return ChatView{}, err
	}
	return ChatView{v: v, chatID: chatID, users: users}, nil
}

// settle waits for chatID's snapshot in flight, if any.
func (v *View) settle(ctx context.Context, chatID string) {
	v.mu.Lock()
	p := v.pending[chatID]
	v.mu.Unlock()
	if p == nil {
		return
	}
	select {
	case <-p.done:
	case <-ctx.Done():
	}
}

// askChat gathers every node's devices in chatID, this one's included.
func (v *View) askChat(ctx context.Context, chatID string) (map[string]*snapUser, error) {
	users := make(map[string]*snapUser)
	_, err := v.gather(ctx, chatID, func(s snapshot) {
		for _, ev := range s.Devices {
			if !subjects.ValidID(ev.User) || !subjects.ValidID(ev.Device) {
				continue
			}
			u := users[ev.User]
			if u == nil {
				u = &snapUser{name: ev.Name, guest: ev.Guest, member: ev.Guest && slices.Contains(ev.Chats, chatID)}
				users[ev.User] = u
			}
			u.devices = append(u.devices, newOnlineDevice(ev.Device, s.Node, ev.At).info())
		}
	})
	if err != nil {
		return nil, fmt.Errorf("presence: ask the cluster for a chat's presence: %w", err)
	}
	return users, nil
}

// Online reports whether userID has a device anywhere.
func (c ChatView) Online(userID string) bool {
	if c.users == nil {
		return c.v.Online(userID)
	}
	return c.users[userID] != nil
}

// Devices lists userID's online devices.
func (c ChatView) Devices(userID string) []DeviceInfo {
	if c.users == nil {
		return c.v.Devices(userID)
	}
	if u := c.users[userID]; u != nil {
		return u.devices
	}
	return nil
}

// GuestRun returns the online guests that are members of the chat,
// encoded for a member list (wire.MemberList.Run), and whether joinerID
// is one of them. The run is the caller's to encode, not to append to.
func (c ChatView) GuestRun(joinerID string) (run wire.MemberRun, listed bool) {
	if c.users == nil {
		return c.v.GuestRun(c.chatID, joinerID)
	}
	ids := make([]string, 0, len(c.users))
	for id, u := range c.users {
		if u.member {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		run.AppendOnline(id, c.users[id].name, store.RoleMember)
	}
	u := c.users[joinerID]
	return run, u != nil && u.member
}
