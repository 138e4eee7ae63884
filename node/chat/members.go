package chat

import (
	"context"
	"fmt"
	"slices"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// MemberList lists a chat's members with who is online in the cluster:
// stored members, and the online guests. The presence view knows them
// when the chat is delivered here; otherwise the cluster is asked
// (presence.View.Chat).
func (s *Service) MemberList(ctx context.Context, c store.Chat) (wire.MemberList, error) {
	return s.memberList(ctx, c, nil)
}

// JoinerMemberList is MemberList as answered to joiner, who just joined
// c: joiner is in it and online whatever presence knows yet. A guest's
// membership reaches the presence view through its own events a moment
// later, and a list built before the join was announced may not know
// the joiner online (the chat was not delivered here, and the cluster's
// answer came from the nodes delivering it).
func (s *Service) JoinerMemberList(ctx context.Context, c store.Chat, joiner Identity) (wire.MemberList, error) {
	return s.memberList(ctx, c, &joiner)
}

// memberList builds the list, with joiner when not nil. The registered
// members come from the store and go in the lists' slices, built in
// three allocations (the two lists of ids share one array) with room for
// a joining guest; the online guests come from presence already encoded
// (wire.MemberRun): a list is built per join, and filling a room of
// guests would otherwise encode every guest at every join.
func (s *Service) memberList(ctx context.Context, c store.Chat, joiner *Identity) (wire.MemberList, error) {
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
	var joinerID string
	if joiner != nil {
		joinerID = joiner.ID
	}
	run, joinerListed := pv.GuestRun(joinerID)
	n := len(members) + 1
	ids := make([]string, 0, 2*n)
	for _, m := range members {
		ids = append(ids, m.User)
	}
	l := wire.MemberList{Room: c.Name, Chat: c.ID, Users: ids[:len(members):n], Online: ids[n : n : 2*n], Members: members, Run: run}
	for _, m := range members {
		if m.Online {
			l.Online = append(l.Online, m.User)
		}
	}
	if joiner != nil && !joinerListed {
		addJoiner(&l, *joiner)
	}
	return l, nil
}

// addJoiner puts joiner, not among the guests presence knows, in l,
// online: a guest (never a stored member) is added after the registered
// members, and a listed joiner not online is marked online, at the end
// of the online registered members.
func addJoiner(l *wire.MemberList, joiner Identity) {
	if joiner.Guest {
		l.Users = append(l.Users, joiner.ID)
		l.Online = append(l.Online, joiner.ID)
		l.Members = append(l.Members, wire.MemberInfo{User: joiner.ID, Name: joiner.Name, Role: store.RoleMember, Online: true})
		return
	}
	if !slices.Contains(l.Online, joiner.ID) {
		l.Online = append(l.Online, joiner.ID)
	}
	for i := range l.Members {
		if l.Members[i].User == joiner.ID {
			l.Members[i].Online = true
		}
	}
}
