package node

import (
	"context"
	"log/slog"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/subjects"
)

// handleFrame runs one client frame on the device's runner and answers
// every rejection with an Error frame; the connection stays open.
func (n *Node) handleFrame(d *device, b []byte) {
	n.metrics.framesIn.Add(1)
	env, err := wire.DecodeEnvelope(b)
	if err != nil {
		d.sendError(wire.ChannelSession, env.Ref, env.Message.Type, clientError(err))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.RequestTimeout)
	defer cancel()
	ref := env.Ref
	switch env.Channel {
	case wire.ChannelChatRoom:
		err = n.processChatRoom(ctx, d, env, &ref)
	case wire.ChannelChat:
		err = n.processChat(d, env)
	case wire.ChannelPing, wire.ChannelSession, wire.ChannelPresence:
		err = wire.Errorf(wire.CodeUnknownType, "clients cannot send %q on channel %q", env.Message.Type, env.Channel)
	default:
		d.sendError(wire.ChannelSession, ref, env.Message.Type, wire.Errorf(wire.CodeUnknownChannel, "unknown channel %q", env.Channel))
		return
	}
	if err != nil {
		ce := clientError(err)
		if ce.Code == wire.CodeInternal || ce.Code == wire.CodeUnavailable {
			n.logLimited("request failed", slog.String("user", d.user.id), slog.String("device", d.id),
				slog.String("type", env.Message.Type), slog.Any("err", err))
		}
		d.sendError(env.Channel, ref, env.Message.Type, ce)
	}
}

func (n *Node) who(d *device) identity {
	return identity{id: d.user.id, name: d.user.name, guest: d.user.guest}
}

// processChatRoom handles the chat-room channel. ref is updated to the
// clientMsgId of a send, so its errors name it.
func (n *Node) processChatRoom(ctx context.Context, d *device, env wire.Envelope, ref *string) error {
	switch env.Message.Type {
	case wire.TypeJoinRoom:
		var in wire.ChatRef
		if err := wire.DecodeContents(env.Message.Contents, &in); err != nil {
			return err
		}
		return n.processJoin(ctx, d, in)
	case wire.TypeLeaveRoom:
		c, err := n.chatOf(ctx, d, env, false)
		if err != nil {
			return err
		}
		_, err = n.removeMember(ctx, c, n.who(d))
		return err
	case wire.TypeSendMessage:
		var in wire.SendMessage
		if err := wire.DecodeContents(env.Message.Contents, &in); err != nil {
			return err
		}
		if *ref == "" {
			*ref = in.ClientMsgID
		}
		c, err := n.resolveChat(ctx, in.ChatRef)
		if err != nil {
			return err
		}
		m, dup, err := n.sendMessage(ctx, n.who(d), d, c, in.Message, in.ClientMsgID, in.Echo == nil || *in.Echo)
		if err != nil {
			return err
		}
		d.sendFrame(wire.ChannelChatRoom, wire.TypeMessageAccepted, wire.MessageAccepted{
			Room: c.Name, Chat: c.ID, ClientMsgID: in.ClientMsgID, ID: m.ID, Seq: m.Seq, Duplicate: dup,
		})
		return nil
	case wire.TypeHistory:
		var in wire.History
		if err := wire.DecodeContents(env.Message.Contents, &in); err != nil {
			return err
		}
		c, err := n.resolveChat(ctx, in.ChatRef)
		if err != nil {
			return err
		}
		msgs, err := n.history(ctx, n.who(d), c.ID, store.Page{Before: in.Before, After: in.After, Limit: in.Limit})
		if err != nil {
			return err
		}
		page := wire.HistoryPage{Room: c.Name, Chat: c.ID, Messages: make([]wire.NewMessage, len(msgs))}
		for i := range msgs {
			page.Messages[i] = newMessage(c.Name, &msgs[i])
		}
		d.sendFrame(wire.ChannelChatRoom, wire.TypeHistoryPage, page)
		return nil
	case wire.TypeResume:
		var in wire.Resume
		if err := wire.DecodeContents(env.Message.Contents, &in); err != nil {
			return err
		}
		return n.processResume(ctx, d, in)
	case wire.TypeGetMembers:
		c, err := n.chatOf(ctx, d, env, true)
		if err != nil {
			return err
		}
		l, err := n.memberList(ctx, c)
		if err != nil {
			return err
		}
		d.sendFrame(wire.ChannelChatRoom, wire.TypeMemberList, l)
		return nil
	default:
		return wire.Errorf(wire.CodeUnknownType, "unknown chat-room type %q", env.Message.Type)
	}
}

// chatOf reads a frame whose contents name a chat and returns the chat,
// requiring the device's user to be a member unless publicOK and the
// chat is public.
func (n *Node) chatOf(ctx context.Context, d *device, env wire.Envelope, publicOK bool) (store.Chat, error) {
	var in wire.ChatRef
	if err := wire.DecodeContents(env.Message.Contents, &in); err != nil {
		return store.Chat{}, err
	}
	c, err := n.resolveChat(ctx, in)
	if err != nil {
		return c, err
	}
	if publicOK && c.Kind == store.Public {
		return c, nil
	}
	return c, n.requireMember(ctx, d.user.id, c.ID)
}

// processJoin joins and answers MemberList then JoinedRoom. A new
// membership is announced only after the MemberList went out, so the
// joiner sees them in that order; JoinedRoom then reaches every member's
// devices (this one included) through the membership events. A join of a
// chat the user is already in answers JoinedRoom to this device only, so
// the seed's exchange works with durable memberships.
func (n *Node) processJoin(ctx context.Context, d *device, in wire.ChatRef) error {
	who := n.who(d)
	c, j, err := n.joinChat(ctx, who, in)
	if err != nil {
		return err
	}
	l, listErr := n.memberList(ctx, c)
	if listErr == nil {
		if who.guest && !slices.Contains(l.Users, who.id) {
			// A guest's membership reaches the presence view through its
			// own events a moment later; the joiner is a member now.
			l.Users = append(l.Users, who.id)
			l.Online = append(l.Online, who.id)
			l.Members = append(l.Members, wire.MemberInfo{User: who.id, Name: who.name, Role: store.RoleMember, Online: true})
		}
		d.sendFrame(wire.ChannelChatRoom, wire.TypeMemberList, l)
	}
	if j.added {
		n.membershipChanged(c, who, true, j.since)
	} else if listErr == nil {
		d.sendFrame(wire.ChannelChatRoom, wire.TypeJoinedRoom, wire.MemberEvent{Room: c.Name, Chat: c.ID, User: who.id, Name: who.name})
	}
	return listErr
}

// processResume replays a chat after afterSeq to the device, then hands
// over to live delivery on the chat's dispatcher without a gap or a
// duplicate.
func (n *Node) processResume(ctx context.Context, d *device, in wire.Resume) error {
	c, err := n.resolveChat(ctx, in.ChatRef)
	if err == nil {
		err = n.requireMember(ctx, d.user.id, c.ID)
	}
	if err != nil {
		d.endResume(in.Chat) // a resume at connect paused it
		return err
	}
	d.beginResume(c.ID)
	msgs, err := n.store.Messages(ctx, c.ID, store.Page{After: in.AfterSeq, Limit: n.cfg.ResumeLimit})
	if err != nil {
		d.endResume(c.ID)
		return err
	}
	last := in.AfterSeq
	for i := range msgs {
		d.sendFrame(wire.ChannelChatRoom, wire.TypeNewMessage, newMessage(c.Name, &msgs[i]))
		last = msgs[i].Seq
	}
	if len(msgs) == n.cfg.ResumeLimit {
		// More than one replay's worth: the client asks again from last;
		// live delivery stays paused so that nothing arrives out of order.
		d.sendFrame(wire.ChannelChatRoom, wire.TypeResumed, wire.Resumed{Room: c.Name, Chat: c.ID, LastSeq: last, More: true})
		return nil
	}
	n.dispatch.of(c.ID).finishResume(d, c.ID, c.Name, last, n.cfg.ResumeLimit)
	return nil
}

// processChat handles the seed's global chat channel.
func (n *Node) processChat(d *device, env wire.Envelope) error {
	if env.Message.Type != wire.TypeSubmitMessage {
		return wire.Errorf(wire.CodeUnknownType, "unknown chat type %q", env.Message.Type)
	}
	var text string
	if err := wire.DecodeContents(env.Message.Contents, &text); err != nil {
		return err
	}
	if text == "" {
		return wire.Errorf(wire.CodeMissingField, "contents is an empty message")
	}
	if l := utf8.RuneCountInString(text); l > n.cfg.MaxMessageLen {
		return wire.Errorf(wire.CodeMessageTooLong, "message has %d characters, the limit is %d", l, n.cfg.MaxMessageLen)
	}
	frame := wire.Encode(wire.ChannelChat, wire.TypeNewMessageReceived, wire.NewMessageReceived{Content: text, PostedAt: time.Now().UTC(), User: d.user.id})
	return n.nc.Publish(subjects.Broadcast, frame)
}
