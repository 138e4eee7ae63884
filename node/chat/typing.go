package chat

import (
	"context"
	"fmt"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/subjects"
)

// Typing tells the other members' devices, on every node, that who is
// typing in the chat ref names (stop: stopped typing). Nothing is stored
// and no message sequence is used: the notice is a chat event
// (subjects.ChatEvent, kind typing) that skips who's own devices. A
// Typing within TypingInterval of the last one of who in that chat, and
// a StopTyping after no shown Typing, are dropped without an error.
func (s *Service) Typing(ctx context.Context, who Identity, ref wire.ChatRef, stop bool) error {
	c, err := s.Resolve(ctx, ref)
	if err != nil {
		return err
	}
	if err := s.RequireMember(ctx, who.ID, c.ID); err != nil {
		return err
	}
	typ := wire.TypeTyping
	if stop {
		if !s.typing.stop(who.ID, c.ID) {
			return nil
		}
		typ = wire.TypeStopTyping
	} else if !s.typing.typing(who.ID, c.ID) {
		return nil
	}
	frame := wire.Encode(wire.ChannelChatRoom, typ, wire.TypingEvent{Room: c.Name, Chat: c.ID, User: who.ID, Name: who.Name})
	if err := s.cfg.Hub.PublishEvent(c.ID, subjects.ChatEventTyping, frame, who.ID); err != nil {
		return fmt.Errorf("typing: %w", err)
	}
	return nil
}
