package session

import (
	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// processResume handles Resume: it replays the chat after afterSeq to the
// device, then hands over to live delivery on the chat's fan-out loop
// without a gap or a duplicate. A replay of ResumeLimit messages ends with
// Resumed.more, and live delivery of the chat stays held until the client
// resumes again from Resumed.lastSeq.
func (s *Server) processResume(r *request) error {
	d := &r.d.Device
	var in wire.Resume
	err := r.decode(&in)
	var c store.Chat
	if err == nil {
		c, err = s.cfg.Chat.Resolve(r.ctx, in.ChatRef)
	}
	if err == nil {
		err = s.cfg.Chat.RequireMember(r.ctx, r.d.User().ID(), c.ID)
	}
	if err != nil {
		d.EndResume(in.Chat) // a resume at connect held it
		return err
	}
	d.BeginResume(c.ID)
	msgs, err := s.cfg.Store.Messages(r.ctx, c.ID, store.Page{After: in.AfterSeq, Limit: s.cfg.ResumeLimit})
	if err != nil {
		d.EndResume(c.ID)
		return err
	}
	last := in.AfterSeq
	for i := range msgs {
		r.d.sendFrame(&s.metrics, wire.ChannelChatRoom, wire.TypeNewMessage, chat.NewMessage(c.Name, &msgs[i]))
		last = msgs[i].Seq
	}
	if len(msgs) == s.cfg.ResumeLimit {
		// More than one replay's worth: the client asks again from last;
		// live delivery stays held so that nothing arrives out of order.
		r.d.sendFrame(&s.metrics, wire.ChannelChatRoom, wire.TypeResumed, wire.Resumed{Room: c.Name, Chat: c.ID, LastSeq: last, More: true})
		return nil
	}
	s.cfg.Hub.FinishResume(d, c.ID, last, s.cfg.ResumeLimit, func(last uint64, more bool, err error) {
		if err != nil {
			r.d.sendError(&s.metrics, wire.ChannelChatRoom, "", wire.TypeResume, chat.ClientError(err))
			return
		}
		r.d.sendFrame(&s.metrics, wire.ChannelChatRoom, wire.TypeResumed, wire.Resumed{Room: c.Name, Chat: c.ID, LastSeq: last, More: more})
	})
	return nil
}
