package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/natterchat/natter/node/wire"
)

// chatState is what an interactive natter chat keeps of typing and read
// state: when it last said someone is typing, and how far it has marked
// the room read.
type chatState struct {
	typing   map[string]time.Time // user -> when "is typing" was printed
	markedTo uint64               // the room's read marker as far as we know
	shownTo  uint64               // the newest message of the room printed
	told     bool                 // the first Unread was printed
}

// typingShown is how long a printed "is typing" stands for the typist's
// further Typing notices, as a client's indicator does (docs/protocol.md).
const typingShown = 5 * time.Second

// processTyping tells an interactive user that someone in the room is
// typing, once per typingShown while they go on; a StopTyping lets the
// next Typing be told at once.
func (c *chatSession) processTyping(e wire.TypingEvent, stop bool) {
	if e.Chat != c.chatID || e.User == c.me.User || !c.o.interactive() || c.echoFrames() {
		return
	}
	if c.state.typing == nil {
		c.state.typing = map[string]time.Time{}
	}
	if stop {
		delete(c.state.typing, e.User)
		return
	}
	now := time.Now()
	if at, ok := c.state.typing[e.User]; ok && now.Sub(at) < typingShown {
		return
	}
	c.state.typing[e.User] = now
	c.notice("%s is typing…", e.Name)
}

// processUnread tells an interactive user, once, which of its chats have
// unread messages when it connects, and where the room's marker is.
func (c *chatSession) processUnread(u wire.Unread) {
	var parts []string
	for _, ch := range u.Chats {
		if ch.Chat == c.chatID || (ch.Room != "" && ch.Room == c.o.room) {
			c.state.markedTo = max(c.state.markedTo, ch.ReadSeq)
		}
		if ch.Unread > 0 {
			label := ch.Room
			if label == "" {
				label = "(" + ch.Chat + ")"
			}
			parts = append(parts, fmt.Sprintf("%s %d", label, ch.Unread))
		}
	}
	if c.state.told || !c.o.interactive() {
		return
	}
	c.state.told = true
	if len(parts) == 0 {
		c.notice("no unread messages")
		return
	}
	c.notice("unread: %s", strings.Join(parts, ", "))
}

// processReadMarker notes our own marker of the room moved on another
// device, so that this one does not mark what is already read.
func (c *chatSession) processReadMarker(rm wire.ReadMarker) {
	if rm.User == c.me.User && rm.Chat == c.chatID {
		c.state.markedTo = max(c.state.markedTo, rm.Seq)
	}
}

// shown notes a message printed: what is shown is read.
func (c *chatSession) shown(m wire.NewMessage) {
	if m.Chat == c.chatID {
		c.state.shownTo = max(c.state.shownTo, m.Seq)
	}
}

// markRead marks the room read up to the newest message shown, in
// interactive mode once no other frame waits (a burst of messages is
// marked once, at its end): the user's other devices clear their badge.
func (c *chatSession) markRead() {
	if !c.o.interactive() || c.o.guest || !c.joined || c.joinHistory || c.state.shownTo <= c.state.markedTo || len(c.events) > 0 {
		return
	}
	c.state.markedTo = c.state.shownTo
	c.sendFrame(wire.ChannelChatRoom, wire.TypeMarkRead, wire.MarkRead{ChatRef: wire.ChatRef{Chat: c.chatID}, Seq: c.state.shownTo}, "")
}
