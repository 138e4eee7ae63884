package main

import (
	"fmt"

	"github.com/natterchat/natter/node/client"
	"github.com/natterchat/natter/node/wire"
)

// handleFrame handles one frame of the current connection; an error ends
// the session.
func (c *chatSession) handleFrame(f client.Frame) error {
	rawAll := c.o.json && c.o.interactive()
	if rawAll {
		fmt.Fprintf(c.out, "%s\n", f.Raw)
	}
	switch f.Type() {
	case wire.TypeMemberList:
		var l wire.MemberList
		if f.Decode(&l) != nil {
			return nil
		}
		if c.chatID == "" && !c.joined && l.Room == c.o.room {
			c.chatID = l.Chat
		}
		if l.Chat != c.chatID {
			return nil
		}
		c.answered("members-")
		if c.o.interactive() && !rawAll {
			c.notice("members of %s: %s", c.roomLabel(), memberNames(l))
		}
	case wire.TypeJoinedRoom, wire.TypeLeftRoom:
		var e wire.MemberEvent
		if f.Decode(&e) != nil {
			return nil
		}
		if f.Type() == wire.TypeJoinedRoom && !c.joined && e.User == c.me.User && (e.Room == c.o.room || (c.chatID != "" && e.Chat == c.chatID)) {
			c.joinedRoom(e)
			return nil
		}
		if e.Chat != c.chatID || rawAll {
			return nil
		}
		verb := "joined"
		if f.Type() == wire.TypeLeftRoom {
			verb = "left"
		}
		if e.User == c.me.User && f.Type() == wire.TypeLeftRoom {
			c.notice("you left %s (on another device)", c.roomLabel())
		} else if c.o.interactive() {
			c.notice("%s %s %s", e.Name, verb, c.roomLabel())
		}
	case wire.TypeNewMessage:
		var m wire.NewMessage
		if f.Decode(&m) != nil {
			return nil
		}
		if m.Chat != c.chatID {
			if c.o.interactive() && !rawAll {
				fmt.Fprintf(c.out, "%s %s %s: %s\n", clock(m.PostedAt), chatLabel(m), m.Name, m.Message)
			}
			return nil
		}
		if c.joinHistory {
			c.held = append(c.held, chatMsg{m, f.Raw})
			return nil
		}
		c.liveMessage(m, f.Raw, !rawAll)
	case wire.TypeMessageAccepted:
		var a wire.MessageAccepted
		if f.Decode(&a) != nil {
			return nil
		}
		for i, p := range c.pending {
			if p.id == a.ClientMsgID {
				c.pending = append(c.pending[:i], c.pending[i+1:]...)
				if c.o.sendSet && !c.sendDone {
					c.sendDone = true
					if c.o.json {
						fmt.Fprintf(c.out, "%s\n", f.Raw)
					}
				}
				break
			}
		}
	case wire.TypeHistoryPage:
		var h wire.HistoryPage
		if f.Decode(&h) != nil || h.Chat != c.chatID {
			return nil
		}
		if c.joinHistory {
			c.gotJoinHistory(h, !rawAll)
			return nil
		}
		if c.answered("history-") && !rawAll {
			c.notice("last %d messages of %s:", len(h.Messages), c.roomLabel())
			for _, m := range h.Messages {
				c.printMessage(m, nil)
				c.markSeen(m.Seq)
			}
			c.notice("end of history")
		}
	case wire.TypeResumed:
		var r wire.Resumed
		if f.Decode(&r) == nil && r.Chat == c.chatID && r.More {
			c.sendFrame(wire.ChannelChatRoom, wire.TypeResume, wire.Resume{ChatRef: wire.ChatRef{Chat: c.chatID}, AfterSeq: r.LastSeq}, "")
		}
	case wire.TypeError:
		var e wire.Error
		if f.Decode(&e) != nil {
			return nil
		}
		return c.handleError(e)
	case wire.TypeOnline, wire.TypeOffline:
		var p wire.PresenceEvent
		if f.Decode(&p) == nil && c.o.interactive() && !rawAll && p.User != c.me.User {
			state := "online"
			if f.Type() == wire.TypeOffline {
				state = "offline"
			}
			c.notice("%s is %s", p.Name, state)
		}
	case wire.TypeNewMessageReceived:
		var m wire.NewMessageReceived
		if f.Decode(&m) == nil && c.o.interactive() && !rawAll {
			fmt.Fprintf(c.out, "%s (everyone) %s\n", clock(m.PostedAt), m.Content)
		}
	case wire.TypePing:
		if c.o.interactive() && !rawAll {
			c.notice("ping %s", f.Message.Contents)
		}
	}
	return nil
}

// handleError handles an Error frame.
func (c *chatSession) handleError(e wire.Error) error {
	switch {
	case e.Ref == "join":
		return fmt.Errorf("chat: join %s: %s: %s", c.o.room, e.Code, e.Message)
	case e.Ref == "join-history":
		c.problem("history: %s: %s", e.Code, e.Message)
		c.gotJoinHistory(wire.HistoryPage{}, true)
		return nil
	}
	for i, p := range c.pending {
		if p.id != e.Ref {
			continue
		}
		c.pending = append(c.pending[:i], c.pending[i+1:]...)
		if e.Code == wire.CodeUnavailable {
			// Storage hiccup: send again with the same id.
			c.pending = append(c.pending, pendingSend{id: p.id, text: p.text})
			c.flushPending()
			return nil
		}
		if !c.o.interactive() {
			return fmt.Errorf("chat: send: %s: %s", e.Code, e.Message)
		}
		c.problem("not sent: %s: %s", e.Code, e.Message)
		return nil
	}
	for i, ref := range c.waiting {
		if ref == e.Ref {
			c.waiting = append(c.waiting[:i], c.waiting[i+1:]...)
		}
	}
	if e.Code == wire.CodeRateLimited {
		// The dropped frame is unknown: send what is unconfirmed again
		// (the node stores each clientMsgId once).
		for i := range c.pending {
			c.pending[i].sent = false
		}
		c.flushPending()
	}
	c.problem("%s: %s", e.Code, e.Message)
	return nil
}
