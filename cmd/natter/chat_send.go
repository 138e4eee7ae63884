package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/natterchat/natter/node/wire"
)

// defaultHistory is the N of /history without one.
const defaultHistory = 20

// pendingSend is a message not yet acknowledged; it is sent again with
// the same clientMsgId after a reconnect (the node stores it once).
type pendingSend struct {
	id, text string
	replyTo  uint64 // the message it answers (/reply), 0 for none
	sent     bool   // on the current connection
}

// sendFrame writes a frame with a ref (echoed by an Error about it).
func (c *chatSession) sendFrame(channel, typ string, contents any, ref string) {
	if c.conn == nil {
		return
	}
	// A failed write ends the connection; the pump reports it.
	_ = c.conn.SendRef(channel, typ, contents, ref)
}

// nextRef is a fresh ref for a request of a kind ("members-", ...); an
// Error about the request echoes it.
func (c *chatSession) nextRef(kind string) string {
	c.refN++
	return kind + strconv.Itoa(c.refN)
}

// sendText queues a message and sends it when the room is joined.
func (c *chatSession) sendText(text string) {
	c.pending = append(c.pending, pendingSend{id: newClientMsgID(), text: text})
	c.flushPending()
}

// flushPending sends every pending message not yet sent on this
// connection.
func (c *chatSession) flushPending() {
	if !c.joined {
		return
	}
	for i := range c.pending {
		p := &c.pending[i]
		if p.sent {
			continue
		}
		p.sent = true
		c.sendFrame(wire.ChannelChatRoom, wire.TypeSendMessage,
			wire.SendMessage{ChatRef: wire.ChatRef{Chat: c.chatID}, Message: p.text, ClientMsgID: p.id, ReplyTo: p.replyTo}, p.id)
	}
}

// newClientMsgID is random: the node stores one message per clientMsgId,
// so ids must not repeat across sessions, or a new message would be
// taken for the resend of an old one.
func newClientMsgID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "cli-" + hex.EncodeToString(b)
}

// handleLine handles one line typed in interactive mode: a message to
// send, or a command.
func (c *chatSession) handleLine(line string) {
	text := strings.TrimRight(line, "\r")
	switch {
	case strings.TrimSpace(text) == "":
	case strings.HasPrefix(text, "//"):
		c.sendText(text[1:])
	case strings.HasPrefix(text, "/"):
		cmd, arg, _ := strings.Cut(strings.TrimSpace(text), " ")
		c.command(cmd, strings.TrimSpace(arg))
	default:
		c.sendText(text)
	}
}

// command runs a /command typed with its argument, if any.
func (c *chatSession) command(cmd, arg string) {
	switch cmd {
	case "/quit", "/exit":
		c.quit()
	case "/members":
		c.request("members-", wire.TypeGetMembers, wire.ChatRef{Chat: c.chatID})
	case "/history":
		c.historyCommand(arg)
	case "/edit":
		c.editCommand(arg)
	case "/delete":
		c.deleteCommand(arg)
	case "/react", "/unreact":
		c.reactCommand(arg, cmd == "/react")
	case "/reply":
		c.replyCommand(arg)
	case "/help":
		fmt.Fprintln(c.out, "commands: /members, /history [N], /edit SEQ TEXT, /delete SEQ, /react SEQ EMOJI, /unreact SEQ EMOJI, /reply SEQ TEXT, /quit; a line starting with // sends the text after one slash")
	default:
		c.problem("unknown command %s (/help lists them)", cmd)
	}
}

// historyCommand is /history [N]; N is checked here so that a typo is
// reported at once instead of by the node.
func (c *chatSession) historyCommand(arg string) {
	n := defaultHistory
	if arg != "" {
		v, err := strconv.Atoi(arg)
		if err != nil || v < 1 || v > 1000 {
			c.problem("/history N takes a number from 1 to 1000")
			return
		}
		n = v
	}
	c.request("history-", wire.TypeHistory, wire.History{ChatRef: wire.ChatRef{Chat: c.chatID}, Limit: n})
}

// request sends a request about the room and waits for its answer. The
// answer does not echo the ref, so waiting (oldest first) is how its
// frame is told from one the node sends unasked; the ref's kind prefix
// says which answer type it expects.
func (c *chatSession) request(kind, typ string, contents any) {
	if !c.joined {
		c.problem("not connected; try again in a moment")
		return
	}
	ref := c.nextRef(kind)
	c.waiting = append(c.waiting, ref)
	c.sendFrame(wire.ChannelChatRoom, typ, contents, ref)
}

// takePending removes the pending message with a clientMsgId once the
// node has stored or refused it.
func (c *chatSession) takePending(id string) (pendingSend, bool) {
	i := slices.IndexFunc(c.pending, func(p pendingSend) bool { return p.id == id })
	if i < 0 {
		return pendingSend{}, false
	}
	p := c.pending[i]
	c.pending = slices.Delete(c.pending, i, i+1)
	return p, true
}

// forget drops a request the node answered with an Error: no other
// answer will come.
func (c *chatSession) forget(ref string) {
	c.waiting = slices.DeleteFunc(c.waiting, func(r string) bool { return r == ref })
}

// answered removes the oldest waiting request of a kind; false if none.
func (c *chatSession) answered(kind string) bool {
	for i, ref := range c.waiting {
		if strings.HasPrefix(ref, kind) {
			c.waiting = append(c.waiting[:i], c.waiting[i+1:]...)
			return true
		}
	}
	return false
}
