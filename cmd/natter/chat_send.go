package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/natterchat/natter/node/wire"
)

// defaultHistory is the N of /history without one.
const defaultHistory = 20

// unsentMsg is a message typed before the room was joined.
type unsentMsg struct {
	text    string
	replyTo uint64 // the message it answers (/reply), 0 for none
}

// sendFrame writes a frame with a ref (echoed by an Error about it).
// Without a connection it is dropped: requests die with their
// connection, and messages go through sendText.
func (c *chatSession) sendFrame(channel, typ string, contents any, ref string) {
	if c.sess == nil {
		return
	}
	_ = c.sess.SendFrame(channel, typ, contents, ref)
}

// nextRef is a fresh ref for a request of a kind ("members-", ...); an
// Error about the request echoes it.
func (c *chatSession) nextRef(kind string) string {
	c.refN++
	return kind + strconv.Itoa(c.refN)
}

// sendText sends a message to the room.
func (c *chatSession) sendText(text string) { c.sendReply(text, 0) }

// sendReply sends a message to the room that answers message replyTo (0:
// none), or keeps it until the room is joined (its chat id is known
// then). The session sends it with a clientMsgId and again after a
// reconnect until the node confirms it.
func (c *chatSession) sendReply(text string, replyTo uint64) {
	if c.sess == nil || c.chatID == "" || !c.everJoin {
		c.unsent = append(c.unsent, unsentMsg{text, replyTo})
		return
	}
	id, _ := c.sess.Send(wire.SendMessage{ChatRef: wire.ChatRef{Chat: c.chatID}, Message: text, ReplyTo: replyTo})
	c.mine[id] = text
}

// flushUnsent sends what was typed before the room was joined.
func (c *chatSession) flushUnsent() {
	unsent := c.unsent
	c.unsent = nil
	for _, m := range unsent {
		c.sendReply(m.text, m.replyTo)
	}
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
