package chat

import (
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// NewMessage is the NewMessage contents of a stored message of the chat
// named room.
func NewMessage(room string, m *store.Message) wire.NewMessage {
	return wire.NewMessage{
		Room: room, User: m.UserID, Message: m.Text, Chat: m.ChatID, Name: m.UserName,
		Seq: m.Seq, ID: m.ID, PostedAt: m.PostedAt, Device: m.DeviceID,
	}
}

// Render encodes a stored message as the frame every member's device gets:
// the fan-out's fanout.Config.Render.
func Render(room string, m *store.Message) []byte {
	return wire.Encode(wire.ChannelChatRoom, wire.TypeNewMessage, NewMessage(room, m))
}
