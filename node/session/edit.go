package session

import (
	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// processChange handles EditMessage, DeleteMessage and React: the change
// is stored as an entry of the chat's stream, and the fan-out delivers
// MessageEdited, MessageDeleted or Reaction to every member's devices,
// the sending device included; that frame is the answer. Errors name
// the frame's clientMsgId when it has no ref.
func (s *Server) processChange(r *request) error {
	var (
		ch chat.Change
		cr wire.ChatRef
	)
	switch r.env.Message.Type {
	case wire.TypeEditMessage:
		var in wire.EditMessage
		if err := r.decode(&in); err != nil {
			return err
		}
		cr, ch = in.ChatRef, chat.Change{Kind: store.KindEdit, Seq: in.Seq, Text: in.Message, ClientMsgID: in.ClientMsgID}
	case wire.TypeDeleteMessage:
		var in wire.DeleteMessage
		if err := r.decode(&in); err != nil {
			return err
		}
		cr, ch = in.ChatRef, chat.Change{Kind: store.KindDelete, Seq: in.Seq, ClientMsgID: in.ClientMsgID}
	default:
		var in wire.React
		if err := r.decode(&in); err != nil {
			return err
		}
		cr, ch = in.ChatRef, chat.Change{Kind: store.KindReact, Seq: in.Seq, Emoji: in.Emoji, On: in.On == nil || *in.On, ClientMsgID: in.ClientMsgID}
	}
	if r.ref == "" {
		r.ref = ch.ClientMsgID
	}
	c, err := s.cfg.Chat.Resolve(r.ctx, cr)
	if err != nil {
		return err
	}
	_, err = s.cfg.Chat.Apply(r.ctx, r.d.who(), c, ch)
	return err
}
