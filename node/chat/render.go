package chat

import (
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// NewMessage is the NewMessage contents of a stored message of the chat
// named room.
func NewMessage(room string, m *store.Message) wire.NewMessage {
	nm := wire.NewMessage{
		Room: room, User: m.UserID, Message: m.Text, Chat: m.ChatID, Name: m.UserName,
		Seq: m.Seq, ID: m.ID, PostedAt: m.PostedAt, Device: m.DeviceID,
	}
	if r := m.ReplyTo; r != nil {
		nm.ReplyTo = &wire.ReplyRef{Seq: r.Seq, User: r.UserID, Name: r.UserName, Excerpt: r.Excerpt}
	}
	return nm
}

// Render encodes a stored entry as the frame every member's device gets:
// the fan-out's fanout.Config.Render. A message is a NewMessage; an
// edit, deletion or reaction is the frame that tells of it.
func Render(room string, m *store.Message) []byte {
	switch m.Kind {
	case store.KindEdit:
		return wire.Encode(wire.ChannelChatRoom, wire.TypeMessageEdited, wire.MessageEdited{
			Room: room, Chat: m.ChatID, Seq: m.Target, User: m.UserID, Name: m.UserName,
			Message: m.Text, EditedAt: m.PostedAt, EventSeq: m.Seq,
		})
	case store.KindDelete:
		return wire.Encode(wire.ChannelChatRoom, wire.TypeMessageDeleted, wire.MessageDeleted{
			Room: room, Chat: m.ChatID, Seq: m.Target, User: m.UserID, Name: m.UserName, EventSeq: m.Seq,
		})
	case store.KindReact:
		return wire.Encode(wire.ChannelChatRoom, wire.TypeReaction, wire.Reaction{
			Room: room, Chat: m.ChatID, Seq: m.Target, User: m.UserID, Name: m.UserName,
			Emoji: m.Emoji, On: m.On, EventSeq: m.Seq,
		})
	}
	return wire.Encode(wire.ChannelChatRoom, wire.TypeNewMessage, NewMessage(room, m))
}
