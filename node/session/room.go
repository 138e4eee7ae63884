package session

import (
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// processJoin handles JoinRoom: it joins and answers MemberList then
// JoinedRoom, in one write (a storm of joins is counted in writes), before
// the membership is announced and the chat's live messages reach the
// device: the joiner sees them in that order, and the answers to its next
// frames after them. The other members, and the user's other devices,
// hear JoinedRoom through the membership's events. A join of a chat the
// user is already in is answered the same and announced to nobody, so
// the seed's exchange works with durable memberships.
func (s *Server) processJoin(r *request) error {
	var in wire.ChatRef
	if err := r.decode(&in); err != nil {
		return err
	}
	who := r.d.who()
	c, j, err := s.cfg.Chat.Join(r.ctx, who, in)
	if err != nil {
		return err
	}
	l, listErr := s.cfg.Chat.JoinerMemberList(r.ctx, c, who)
	if listErr == nil {
		r.d.sendFrameAhead(&s.metrics, wire.ChannelChatRoom, wire.TypeMemberList, l)
		r.d.sendFrame(&s.metrics, wire.ChannelChatRoom, wire.TypeJoinedRoom, wire.MemberEvent{Room: c.Name, Chat: c.ID, User: who.ID, Name: who.Name})
	}
	switch {
	case j.Added && listErr == nil:
		s.cfg.Chat.AnnounceJoinTold(c, who, j.Since, r.d.ID())
	case j.Added:
		// No answer went out: the device hears of its join with the
		// user's other devices.
		s.cfg.Chat.Announce(c, who, true, j.Since)
	}
	return listErr
}

// processLeave handles LeaveRoom: the membership ends and the remaining
// members and the user's devices hear LeftRoom.
func (s *Server) processLeave(r *request) error {
	c, err := s.chatOf(r, false)
	if err != nil {
		return err
	}
	_, err = s.cfg.Chat.RemoveMember(r.ctx, c, r.d.who())
	return err
}

// processGetMembers handles GetMembers with a MemberList; members of the
// chat and anyone for a public room may ask.
func (s *Server) processGetMembers(r *request) error {
	c, err := s.chatOf(r, true)
	if err != nil {
		return err
	}
	l, err := s.cfg.Chat.MemberList(r.ctx, c)
	if err != nil {
		return err
	}
	r.d.sendFrame(&s.metrics, wire.ChannelChatRoom, wire.TypeMemberList, l)
	return nil
}

// chatOf reads a frame whose contents name a chat and returns the chat,
// requiring the device's user to be a member unless publicOK and the
// chat is public.
func (s *Server) chatOf(r *request, publicOK bool) (store.Chat, error) {
	var in wire.ChatRef
	if err := r.decode(&in); err != nil {
		return store.Chat{}, err
	}
	c, err := s.cfg.Chat.Resolve(r.ctx, in)
	if err != nil {
		return c, err
	}
	if publicOK && c.Kind == store.Public {
		return c, nil
	}
	return c, s.cfg.Chat.RequireMember(r.ctx, r.d.User().ID(), c.ID)
}
