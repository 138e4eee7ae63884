package chat

import (
	"context"
	"fmt"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// MemberList lists a chat's members with who is online in the cluster:
// stored members, and the online guests. The presence view knows them
// when the chat is delivered here; otherwise the cluster is asked
// (presence.View.Chat). The lists have room for one more member without
// growing (a joining guest, see session's processJoin): a list is built
// per join, so it is built in three allocations, the members first and
// the two lists of ids sharing one array.
func (s *Service) MemberList(ctx context.Context, c store.Chat) (wire.MemberList, error) {
	ms, err := s.storedMembers(ctx, c.ID)
	if err != nil {
		return wire.MemberList{}, fmt.Errorf("list members: %w", err)
	}
	pv, err := s.cfg.Presence.Chat(ctx, c.ID)
	if err != nil {
		return wire.MemberList{}, fmt.Errorf("read members' presence: %w", err)
	}
	members := make([]wire.MemberInfo, 0, len(ms)+1)
	for _, m := range ms {
		members = append(members, wire.MemberInfo{User: m.UserID, Name: m.Name, Role: m.Role, Online: pv.Online(m.UserID)})
	}
	members = pv.AppendGuests(members, 1)
	n := len(members) + 1
	ids := make([]string, 0, 2*n)
	for _, m := range members {
		ids = append(ids, m.User)
	}
	users := ids[:len(members):n]
	online := ids[n : n : 2*n]
	for _, m := range members {
		if m.Online {
			online = append(online, m.User)
		}
	}
	return wire.MemberList{Room: c.Name, Chat: c.ID, Users: users, Online: online, Members: members}, nil
}
