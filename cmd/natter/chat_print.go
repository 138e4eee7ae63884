package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/natterchat/natter/node/wire"
)

// printMessage prints a message of the room: [15:04:05] name: text, or
// the frame with --json.
func (c *chatSession) printMessage(m wire.NewMessage, raw []byte) {
	c.shown(m) // chat_state.go
	if c.o.json {
		if raw == nil {
			raw = wire.Encode(wire.ChannelChatRoom, wire.TypeNewMessage, m)
		}
		fmt.Fprintf(c.out, "%s\n", raw)
		return
	}
	if c.o.interactive() {
		fmt.Fprintln(c.out, messageLine(m))
		return
	}
	fmt.Fprintf(c.out, "%s %s: %s\n", clock(m.PostedAt), m.Name, m.Message)
}

// echoFrames is --json in interactive mode: every frame is printed as
// the node sent it, so the frame handlers print nothing of their own.
func (c *chatSession) echoFrames() bool { return c.o.json && c.o.interactive() }

// notice prints a line about the session: joins, presence, reconnects.
func (c *chatSession) notice(format string, args ...any) {
	if c.echoFrames() {
		return // the frames say it
	}
	fmt.Fprintf(c.notices, "%s * %s\n", clock(time.Now()), fmt.Sprintf(format, args...))
}

// problem prints an error the session survives.
func (c *chatSession) problem(format string, args ...any) {
	w := c.errOut
	if c.o.interactive() {
		w = c.out
	}
	fmt.Fprintf(w, "! %s\n", fmt.Sprintf(format, args...))
}

// roomLabel names the room as the node spells it once it is joined, and
// as --room gave it before.
func (c *chatSession) roomLabel() string {
	if c.roomName != "" {
		return c.roomName
	}
	return c.o.room
}

// chatLabel tells which other chat of the user a message is from: its
// room's name, or the chat id for a chat without one (e.g. direct).
func chatLabel(m wire.NewMessage) string {
	if m.Room != "" {
		return m.Room
	}
	return "(" + m.Chat + ")"
}

// clock stamps printed lines with the local time of day: a terminal
// session is read as it happens, so the date would be noise.
func clock(t time.Time) string { return "[" + t.Local().Format("15:04:05") + "]" }

// memberNames lists a MemberList's members, online ones marked.
func memberNames(l wire.MemberList) string {
	if len(l.Members) == 0 {
		return strings.Join(l.Users, ", ")
	}
	names := make([]string, 0, len(l.Members))
	for _, m := range l.Members {
		n := m.Name
		if m.Online {
			n += " (online)"
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}
