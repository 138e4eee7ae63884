package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/natterchat/natter/node/wire"
)

// Edits, deletions, reactions and replies in the terminal: the commands
// that make them and the lines that tell of them. Interactive mode shows
// every message with its #seq, which the commands take.

// editCommand is /edit SEQ TEXT.
func (c *chatSession) editCommand(arg string) {
	seq, text, ok := c.seqArg("/edit SEQ TEXT", arg, true)
	if !ok {
		return
	}
	c.change(wire.TypeEditMessage, wire.EditMessage{ChatRef: c.ref(), Seq: seq, Message: text})
}

// deleteCommand is /delete SEQ.
func (c *chatSession) deleteCommand(arg string) {
	seq, _, ok := c.seqArg("/delete SEQ", arg, false)
	if !ok {
		return
	}
	c.change(wire.TypeDeleteMessage, wire.DeleteMessage{ChatRef: c.ref(), Seq: seq})
}

// reactCommand is /react SEQ EMOJI or /unreact SEQ EMOJI.
func (c *chatSession) reactCommand(arg string, on bool) {
	usage := "/react SEQ EMOJI"
	if !on {
		usage = "/unreact SEQ EMOJI"
	}
	seq, emoji, ok := c.seqArg(usage, arg, true)
	if !ok {
		return
	}
	c.change(wire.TypeReact, wire.React{ChatRef: c.ref(), Seq: seq, Emoji: emoji, On: &on})
}

// replyCommand is /reply SEQ TEXT: a message sent like any other (resent
// after a reconnect until stored) that answers message SEQ.
func (c *chatSession) replyCommand(arg string) {
	seq, text, ok := c.seqArg("/reply SEQ TEXT", arg, true)
	if !ok {
		return
	}
	c.sendReply(text, seq)
}

// seqArg splits "SEQ[ rest]", reporting usage when it does not fit.
func (c *chatSession) seqArg(usage, arg string, wantRest bool) (uint64, string, bool) {
	s, rest, _ := strings.Cut(arg, " ")
	rest = strings.TrimSpace(rest)
	seq, err := strconv.ParseUint(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || seq == 0 || (wantRest && rest == "") || (!wantRest && rest != "") {
		c.problem("usage: %s (SEQ is the #number shown before a message)", usage)
		return 0, "", false
	}
	return seq, rest, true
}

func (c *chatSession) ref() wire.ChatRef { return wire.ChatRef{Chat: c.chatID} }

// change sends a change of a message; the node's MessageEdited,
// MessageDeleted or Reaction frame is the answer, an Error (with the
// ref) the refusal.
func (c *chatSession) change(typ string, contents any) {
	if !c.joined {
		c.problem("not connected; try again in a moment")
		return
	}
	c.sendFrame(wire.ChannelChatRoom, typ, contents, c.nextRef("change-"))
}

// newEvent reports whether an edit, deletion or reaction of the room at
// eventSeq is news: not of another chat, and not replayed again after a
// reconnect. It moves the resume point past it.
func (c *chatSession) newEvent(chat string, eventSeq uint64) bool {
	if chat != c.chatID || c.seen[eventSeq] {
		return false
	}
	c.markSeen(eventSeq)
	return c.o.interactive() && !c.echoFrames()
}

// processMessageEdited tells of an edit.
func (c *chatSession) processMessageEdited(e wire.MessageEdited) {
	if c.newEvent(e.Chat, e.EventSeq) {
		fmt.Fprintf(c.out, "%s * %s edited #%d: %s\n", clock(e.EditedAt), e.Name, e.Seq, e.Message)
	}
}

// processMessageDeleted tells of a deletion.
func (c *chatSession) processMessageDeleted(e wire.MessageDeleted) {
	if c.newEvent(e.Chat, e.EventSeq) {
		fmt.Fprintf(c.out, "%s * %s deleted #%d\n", clock(time.Now()), e.Name, e.Seq)
	}
}

// processReaction tells of a reaction.
func (c *chatSession) processReaction(e wire.Reaction) {
	if c.newEvent(e.Chat, e.EventSeq) {
		verb := "reacted " + e.Emoji + " to"
		if !e.On {
			verb = "took back " + e.Emoji + " on"
		}
		fmt.Fprintf(c.out, "%s * %s %s #%d\n", clock(time.Now()), e.Name, verb, e.Seq)
	}
}

// messageLine is how interactive mode shows a message: with its #seq,
// the quote it answers, and what happened to it since (in history).
func messageLine(m wire.NewMessage) string {
	if m.Deleted {
		return fmt.Sprintf("#%d (deleted)", m.Seq)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s #%d %s: ", clock(m.PostedAt), m.Seq, m.Name)
	if r := m.ReplyTo; r != nil {
		quote := strconv.Quote(r.Excerpt)
		if r.Deleted {
			quote = "(deleted)"
		}
		fmt.Fprintf(&b, "[re #%d %s %s] ", r.Seq, r.Name, quote)
	}
	b.WriteString(m.Message)
	if m.EditedAt != nil {
		b.WriteString(" (edited)")
	}
	for _, emoji := range slices.Sorted(maps.Keys(m.Reactions)) {
		fmt.Fprintf(&b, " %s%d", emoji, len(m.Reactions[emoji]))
	}
	return b.String()
}
