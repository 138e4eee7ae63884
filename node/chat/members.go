package chat

import (
	"context"
	"fmt"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// MemberList lists a chat's members with who is online in the cluster:
// stored members, and the online guests the presence view knows of.
func (s *Service) MemberList(ctx context.Context, c store.Chat) (wire.MemberList, error) {
	ms, err := s.storedMembers(ctx, c.ID)
	if err != nil {
		return wire.MemberList{}, fmt.Errorf("list members: %w", err)
	}
	l := wire.MemberList{Room: c.Name, Chat: c.ID, Users: make([]string, 0, len(ms)), Online: []string{}, Members: make([]wire.MemberInfo, 0, len(ms))}
	for _, m := range ms {
		online := s.cfg.Presence.Online(m.UserID)
		l.Users = append(l.Users, m.UserID)
		if online {
			l.Online = append(l.Online, m.UserID)
		}
		l.Members = append(l.Members, wire.MemberInfo{User: m.UserID, Name: m.Name, Role: m.Role, Online: online})
	}
	for _, g := range s.cfg.Presence.GuestMembers(c.ID) {
		l.Users = append(l.Users, g.User)
		l.Online = append(l.Online, g.User)
		l.Members = append(l.Members, g)
	}
	return l, nil
}
