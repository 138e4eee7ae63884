package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/natterchat/natter/node/client"
	"github.com/natterchat/natter/node/wire"
)

// handleFrame handles one frame of the current connection; an error ends
// the session. It only decodes and dispatches, one process method per
// frame type, so that what a frame means to the session is read in one
// place and a new type is one case and one method.
func (c *chatSession) handleFrame(f client.Frame) error {
	if c.echoFrames() {
		fmt.Fprintf(c.out, "%s\n", f.Raw)
	}
	switch f.Type() {
	case wire.TypeMemberList:
		decoded(f, c.processMemberList)
	case wire.TypeJoinedRoom:
		decoded(f, c.processJoinedRoom)
	case wire.TypeLeftRoom:
		decoded(f, c.processLeftRoom)
	case wire.TypeNewMessage:
		decoded(f, func(m wire.NewMessage) { c.processNewMessage(m, f.Raw) })
	case wire.TypeMessageAccepted:
		decoded(f, func(a wire.MessageAccepted) { c.processMessageAccepted(a, f.Raw) })
	case wire.TypeHistoryPage:
		decoded(f, c.processHistoryPage)
	case wire.TypeMessageEdited:
		decoded(f, c.processMessageEdited)
	case wire.TypeMessageDeleted:
		decoded(f, c.processMessageDeleted)
	case wire.TypeReaction:
		decoded(f, c.processReaction)
	case wire.TypeOnline:
		decoded(f, func(p wire.PresenceEvent) { c.processPresence(p, "online") })
	case wire.TypeOffline:
		decoded(f, func(p wire.PresenceEvent) { c.processPresence(p, "offline") })
	case wire.TypeNewMessageReceived:
		decoded(f, c.processBroadcast)
	case wire.TypePing:
		c.processPing(f.Message.Contents)
	case wire.TypeError:
		var e wire.Error
		if f.Decode(&e) == nil {
			return c.processError(e)
		}
	// typing and read state: chat_state.go
	case wire.TypeTyping, wire.TypeStopTyping:
		decoded(f, func(e wire.TypingEvent) { c.processTyping(e, f.Type() == wire.TypeStopTyping) })
	case wire.TypeUnread:
		decoded(f, c.processUnread)
	case wire.TypeReadMarker:
		decoded(f, c.processReadMarker)
	}
	c.markRead()
	return nil
}

// decoded hands f's contents to process as a T. A frame whose contents
// do not decode is skipped: one unreadable frame is no reason to end a
// chat.
func decoded[T any](f client.Frame, process func(T)) {
	var v T
	if f.Decode(&v) == nil {
		process(v)
	}
}

// processMemberList handles the member list the node sends first on a
// join, which is where the room's chat id is learnt, and the answers to
// /members.
func (c *chatSession) processMemberList(l wire.MemberList) {
	if c.chatID == "" && !c.joined && l.Room == c.o.room {
		c.chatID = l.Chat
	}
	if l.Chat != c.chatID {
		return
	}
	c.answered("members-")
	if c.o.interactive() && !c.echoFrames() {
		c.notice("members of %s: %s", c.roomLabel(), memberNames(l))
	}
}

// processJoinedRoom handles a join of the room: our own completes the
// JoinRoom of this connection, anyone else's is news in interactive mode.
func (c *chatSession) processJoinedRoom(e wire.MemberEvent) {
	if !c.joined && e.User == c.me.User && (e.Room == c.o.room || (c.chatID != "" && e.Chat == c.chatID)) {
		c.joinedRoom(e)
		return
	}
	if e.Chat != c.chatID || c.echoFrames() {
		return
	}
	if c.o.interactive() {
		c.notice("%s joined %s", e.Name, c.roomLabel())
	}
}

// processLeftRoom handles a member leaving the room. Our own user leaving
// is always told, even to scripts: it was done on another device, and
// the session will get no more of the room.
func (c *chatSession) processLeftRoom(e wire.MemberEvent) {
	if e.Chat != c.chatID || c.echoFrames() {
		return
	}
	if e.User == c.me.User {
		c.notice("you left %s (on another device)", c.roomLabel())
	} else if c.o.interactive() {
		c.notice("%s left %s", e.Name, c.roomLabel())
	}
}

// processNewMessage handles a message of the room, or of another chat of
// the user's, which interactive mode shows with the chat's name.
func (c *chatSession) processNewMessage(m wire.NewMessage, raw []byte) {
	if m.Chat != c.chatID {
		if c.o.interactive() && !c.echoFrames() {
			fmt.Fprintf(c.out, "%s %s %s: %s\n", clock(m.PostedAt), chatLabel(m), m.Name, m.Message)
		}
		return
	}
	if c.joinHistory {
		c.held = append(c.held, chatMsg{m, raw})
		return
	}
	c.liveMessage(m, raw, !c.echoFrames())
}

// processMessageAccepted handles the node's confirmation that it stored
// a message: it is no longer resent, and --send is done.
func (c *chatSession) processMessageAccepted(a wire.MessageAccepted, raw []byte) {
	if _, ok := c.mine[a.ClientMsgID]; !ok {
		return
	}
	delete(c.mine, a.ClientMsgID)
	if c.o.sendSet && !c.sendDone {
		c.sendDone = true
		if c.o.json {
			fmt.Fprintf(c.out, "%s\n", raw)
		}
	}
}

// processHistoryPage handles the join's history (--history and where the
// room stands) or the answer to /history.
func (c *chatSession) processHistoryPage(h wire.HistoryPage) {
	if h.Chat != c.chatID {
		return
	}
	if c.joinHistory {
		c.gotJoinHistory(h, !c.echoFrames())
		return
	}
	if c.answered("history-") && !c.echoFrames() {
		c.notice("last %d messages of %s:", len(h.Messages), c.roomLabel())
		for _, m := range h.Messages {
			c.printMessage(m, nil)
			c.markSeen(m.Seq)
		}
		c.notice("end of history")
	}
}

// processPresence tells an interactive user who came online or went
// offline; our own devices are not news.
func (c *chatSession) processPresence(p wire.PresenceEvent, state string) {
	if c.o.interactive() && !c.echoFrames() && p.User != c.me.User {
		c.notice("%s is %s", p.Name, state)
	}
}

// processBroadcast shows an interactive user a message to every
// connected device of the cluster.
func (c *chatSession) processBroadcast(m wire.NewMessageReceived) {
	if c.o.interactive() && !c.echoFrames() {
		fmt.Fprintf(c.out, "%s (everyone) %s\n", clock(m.PostedAt), m.Content)
	}
}

// processPing shows an interactive user a Ping, which the operators
// broadcast through the server API (POST /api/broadcast).
func (c *chatSession) processPing(contents json.RawMessage) {
	if c.o.interactive() && !c.echoFrames() {
		c.notice("ping %s", contents)
	}
}

// processError handles an Error frame: its ref tells which of our frames
// it is about. Only a failed join, or a failed --send, ends the session.
func (c *chatSession) processError(e wire.Error) error {
	switch {
	case strings.HasPrefix(e.Ref, "join-history"):
		c.problem("history: %s: %s", e.Code, e.Message)
		c.gotJoinHistory(wire.HistoryPage{}, !c.echoFrames())
		return nil
	case strings.HasPrefix(e.Ref, "join"):
		return fmt.Errorf("chat: join %s: %s: %s", c.o.room, e.Code, e.Message)
	}
	if text, ok := c.mine[e.Ref]; ok {
		if e.Code == wire.CodeRateLimited || e.Code == wire.CodeUnavailable {
			return nil // the session sends it again with the same id
		}
		delete(c.mine, e.Ref)
		return c.sendFailed(text, e)
	}
	c.forget(e.Ref)
	c.problem("%s: %s", e.Code, e.Message)
	return nil
}

// sendFailed handles the node's refusal of a message.
func (c *chatSession) sendFailed(text string, e wire.Error) error {
	if !c.o.interactive() {
		return fmt.Errorf("chat: send: %s: %s", e.Code, e.Message)
	}
	c.problem("not sent (%q): %s: %s", text, e.Code, e.Message)
	return nil
}
