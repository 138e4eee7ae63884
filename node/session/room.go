package session

import (
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// processJoin handles JoinRoom: it joins and answers MemberList then
// JoinedRoom. A new membership is announced only after the MemberList
// went out, so the joiner sees them in that order; JoinedRoom then
// reaches every member's devices (this one included) through the
// membership events, and the request ends once this device has it, so
// that the answers to its next frames follow it. A join of a chat the
// user is already in answers JoinedRoom to this device only, so the
// seed's exchange works with durable memberships.
//
// The room of a handshake's URL waits only when frames of the client may
// run right after it (request.followed, always true of a client's
// frame). Otherwise the client has sent nothing yet (a guest's 101 and
// Welcome have not left): the device is sent its JoinedRoom at once
// (chat.Service.AnnounceJoinSent), and the 101, Welcome and MemberList
// leave with it in one write. A storm of guests' joins so neither holds
// its handshake slots (7 % more CPU per join when it did) nor has its
// handshakes wait for the events to cross NATS and the node
// (docs/benchmarks.md).
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
		if j.Added {
			// The JoinedRoom that the membership event brings this
			// device follows at once: one write for both, not two (a
			// storm of joins is counted in writes).
			r.d.sendFrameAhead(&s.metrics, wire.ChannelChatRoom, wire.TypeMemberList, l)
		} else {
			r.d.sendFrame(&s.metrics, wire.ChannelChatRoom, wire.TypeMemberList, l)
		}
	}
	switch {
	case j.Added && r.followed:
		s.cfg.Chat.AnnounceJoinTold(r.ctx, c, who, j.Since, &r.d.Device)
	case j.Added:
		s.cfg.Chat.AnnounceJoinSent(c, who, j.Since, &r.d.Device)
	case listErr == nil:
		r.d.sendFrame(&s.metrics, wire.ChannelChatRoom, wire.TypeJoinedRoom, who.MemberEvent(c))
	}
	return listErr
}

// processLeave handles LeaveRoom: the membership ends and the remaining
// members and the user's devices hear LeftRoom, this one before the
// answers to its next frames.
func (s *Server) processLeave(r *request) error {
	c, err := s.chatOf(r, false)
	if err != nil {
		return err
	}
	_, err = s.cfg.Chat.LeaveTold(r.ctx, c, r.d.who(), &r.d.Device)
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
