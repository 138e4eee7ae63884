package session

import (
	"time"

	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/wire"
)

// processSend handles SendMessage: the message is stored, then the
// sending device gets MessageAccepted; the fan-out delivers NewMessage.
// Its errors name the send's clientMsgId when the frame has no ref.
func (s *Server) processSend(r *request) error {
	var in wire.SendMessage
	if err := r.decode(&in); err != nil {
		return err
	}
	if r.ref == "" {
		r.ref = in.ClientMsgID
	}
	c, err := s.cfg.Chat.Resolve(r.ctx, in.ChatRef)
	if err != nil {
		return err
	}
	post := chat.Post{Text: in.Message, ClientMsgID: in.ClientMsgID, NoEcho: in.Echo != nil && !*in.Echo, ReplyTo: in.ReplyTo}
	m, dup, err := s.cfg.Chat.Send(r.ctx, r.d.who(), &r.d.Device, c, post)
	if err != nil {
		return err
	}
	r.d.sendFrame(&s.metrics, wire.ChannelChatRoom, wire.TypeMessageAccepted, wire.MessageAccepted{
		Room: c.Name, Chat: c.ID, ClientMsgID: in.ClientMsgID, ID: m.ID, Seq: m.Seq, Duplicate: dup,
	})
	return nil
}

// processSubmit handles the seed's SubmitMessage on the global chat
// channel: every connected device of the cluster gets NewMessageReceived.
// Nothing is stored.
func (s *Server) processSubmit(r *request) error {
	var text string
	if err := r.decode(&text); err != nil {
		return err
	}
	if text == "" {
		return wire.Errorf(wire.CodeMissingField, "contents is an empty message")
	}
	if err := s.cfg.Chat.ValidText(text); err != nil {
		return err
	}
	frame := wire.Encode(wire.ChannelChat, wire.TypeNewMessageReceived, wire.NewMessageReceived{Content: text, PostedAt: time.Now().UTC(), User: r.d.User().ID()})
	return s.cfg.Broadcast(frame)
}
