package main

import "github.com/natterchat/natter/node/wire"

// chatMsg is a live message held back while the join's history is on
// its way, with its frame for --json.
type chatMsg struct {
	m   wire.NewMessage
	raw []byte
}

// joinedRoom: the room is joined on this connection.
func (c *chatSession) joinedRoom(e wire.MemberEvent) {
	c.joined = true
	c.chatID, c.roomName = e.Chat, e.Room
	if !c.everJoin || c.joinHistory {
		verb := "joined"
		if c.everJoin {
			verb = "rejoined"
		}
		c.everJoin = true
		c.notice("%s %s as %s", verb, c.roomLabel(), c.me.Name)
		// The session asks for the newest messages (client.Session.Join):
		// they tell where the room stands (the resume point after a
		// reconnect) and are the start of --history.
		c.joinHistory = true
	} else {
		// A guest's new identity after a reconnect: the session resumes
		// what it missed.
		c.notice("rejoined %s as %s", c.roomLabel(), c.me.Name)
	}
	c.flushUnsent()
}

// gotJoinHistory prints --history, then the live messages that came
// meanwhile.
func (c *chatSession) gotJoinHistory(h wire.HistoryPage, print bool) {
	c.joinHistory = false
	msgs := h.Messages
	if len(msgs) > c.o.history {
		msgs = msgs[len(msgs)-c.o.history:]
	}
	for _, m := range h.Messages {
		c.markSeen(m.Seq)
	}
	if print {
		for _, m := range msgs {
			c.printMessage(m, nil)
		}
	}
	held := c.held
	c.held = nil
	for _, hm := range held {
		c.liveMessage(hm.m, hm.raw, print)
	}
}

// liveMessage prints a message of the room unless it was seen.
func (c *chatSession) liveMessage(m wire.NewMessage, raw []byte, print bool) {
	if c.seen[m.Seq] {
		return
	}
	c.markSeen(m.Seq)
	if !c.o.interactive() && (!c.o.listenSet || c.listened >= c.o.listen) {
		return // --send alone prints no messages; --listen has its N
	}
	c.listened++
	if print {
		c.printMessage(m, raw)
	}
}

// markSeen records a printed (or skipped) message so that a resume or a
// join's history does not print it twice. It forgets seqs far behind the
// newest to stay small in a long session: those are not replayed.
func (c *chatSession) markSeen(seq uint64) {
	c.seen[seq] = true
	if seq > c.lastSeq {
		c.lastSeq = seq
	}
	if len(c.seen) > 10000 {
		for s := range c.seen {
			if s+5000 < c.lastSeq {
				delete(c.seen, s)
			}
		}
	}
}
