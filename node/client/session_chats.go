package client

import (
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/natterchat/natter/node/wire"
)

// chatState is what a Session knows of one chat.
type chatState struct {
	room string // a public room's name: a guest joins it again by name
	// lastSeq is the newest seq delivered; known says whether there is a
	// position to resume from (a chat seen empty has lastSeq 0).
	lastSeq uint64
	known   bool
	// ready: joined or resumed on the current connection, so its sends
	// may go.
	ready bool
	// newest counts History requests for the newest page in flight: their
	// answers tell the chat's position.
	newest int
}

// maxResumeQuery bounds the resume list in the URL, under the node's
// 8 KiB request line; the chats past it resume with Resume frames.
const maxResumeQuery = 6 << 10

// resumeQuery is the query of the next dial: a registered user resumes
// every chat it knows a position of, as many as fit in the URL.
func (s *Session) resumeQuery() url.Values {
	q := url.Values{}
	if s.cfg.Token == nil {
		return q // a guest's memberships ended with its connection
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for id, c := range s.chats {
		c.ready = false
		if !c.known {
			continue
		}
		item := id + ":" + strconv.FormatUint(c.lastSeq, 10)
		if b.Len()+len(item)+1 > maxResumeQuery {
			break
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(item)
		c.ready = true // resumed at connect; set before the dial, kept by connected
	}
	if b.Len() > 0 {
		q.Set("resume", b.String())
	}
	return q
}

// rejoin takes the session's chats up on a new connection: a guest joins
// its rooms again (and resumes each once joined, in observe); a user's
// chats that did not fit in the URL resume with a frame.
func (s *Session) rejoin() {
	guest := s.cfg.Token == nil
	type todo struct {
		typ      string
		contents any
		ref      string
	}
	var frames []todo
	s.mu.Lock()
	for id, c := range s.chats {
		switch {
		case guest && c.room != "":
			// With a position, no history: the resume fills the gap;
			// without, the newest message tells the position.
			s.joins[c.room] = 0
			if c.known {
				s.joins[c.room] = -1
			}
			frames = append(frames, todo{wire.TypeJoinRoom, wire.ChatRef{Room: c.room}, JoinRef(c.room)})
		case !guest && c.known && !c.ready:
			c.ready = true
			frames = append(frames, todo{wire.TypeResume, wire.Resume{ChatRef: wire.ChatRef{Chat: id}, AfterSeq: c.lastSeq}, ""})
		}
	}
	s.mu.Unlock()
	for _, f := range frames {
		s.send(wire.ChannelChatRoom, f.typ, f.contents, f.ref)
	}
}

// JoinRef and JoinHistoryRef are the refs of the JoinRoom and History
// frames Join sends: an Error about either echoes it.
func JoinRef(room string) string        { return "join:" + room }
func JoinHistoryRef(room string) string { return "join-history:" + room }

// Join joins a public room by name (creating it). Once the node
// confirms it (the own JoinedRoom, as an EventFrame), the session asks
// for the newest history page of history messages (at least 1), which
// tells where the room stands: from then on the room is resumed after a
// reconnect. history < 0 asks for no page.
func (s *Session) Join(room string, history int) error {
	if room == "" {
		return errors.New("client: Join: empty room name")
	}
	s.mu.Lock()
	s.joins[room] = history
	s.mu.Unlock()
	return s.SendFrame(wire.ChannelChatRoom, wire.TypeJoinRoom, wire.ChatRef{Room: room}, JoinRef(room))
}

// History asks for a page of a chat's messages (the frame History, with
// ref for an Error about it). A page with neither Before nor After is the
// chat's newest, which also tells the session the chat's position for
// resuming.
func (s *Session) History(h wire.History, ref string) error {
	if h.Chat == "" {
		return errors.New("client: History: a chat id is required")
	}
	newest := h.Before == 0 && h.After == 0
	if newest {
		s.mu.Lock()
		s.chat(h.Chat).newest++
		s.mu.Unlock()
	}
	err := s.SendFrame(wire.ChannelChatRoom, wire.TypeHistory, h, ref)
	if err != nil && newest {
		s.mu.Lock()
		s.chat(h.Chat).newest--
		s.mu.Unlock()
	}
	return err
}

// Track makes the session resume chatID from after lastSeq on every
// reconnect (a chat whose messages the caller loaded itself). room, a
// public room's name, lets a guest join it again.
func (s *Session) Track(chatID, room string, lastSeq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chat(chatID)
	if room != "" {
		c.room = room
	}
	if !c.known || lastSeq > c.lastSeq {
		c.lastSeq, c.known = lastSeq, true
	}
}

// LastSeq is the newest seq of chatID the session delivered, and whether
// it knows a position of the chat at all.
func (s *Session) LastSeq(chatID string) (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.chats[chatID]
	if !ok {
		return 0, false
	}
	return c.lastSeq, c.known
}

// chat returns the state of a chat, made on first use. s.mu is held.
func (s *Session) chat(id string) *chatState {
	c, ok := s.chats[id]
	if !ok {
		c = &chatState{}
		s.chats[id] = c
	}
	return c
}

// observe keeps the session's books on a frame before it is reported;
// false drops the frame (a message already delivered).
func (s *Session) observe(f Frame) bool {
	switch f.Type() {
	case wire.TypeNewMessage:
		var m wire.NewMessage
		if f.Decode(&m) != nil || m.Chat == "" {
			return true
		}
		return s.advance(m.Chat, m.Seq)
	case wire.TypeMessageEdited, wire.TypeMessageDeleted, wire.TypeReaction:
		// A change of a message is an entry of the chat too, at its
		// eventSeq: a resume replays it, so it moves the position and
		// is dropped when delivered already.
		var e struct {
			Chat     string `json:"chat"`
			EventSeq uint64 `json:"eventSeq"`
		}
		if f.Decode(&e) != nil || e.Chat == "" || e.EventSeq == 0 {
			return true
		}
		return s.advance(e.Chat, e.EventSeq)
	case wire.TypeHistoryPage:
		var h wire.HistoryPage
		if f.Decode(&h) == nil {
			s.historyPage(h)
		}
	case wire.TypeResumed:
		var r wire.Resumed
		if f.Decode(&r) == nil && r.More {
			s.send(wire.ChannelChatRoom, wire.TypeResume, wire.Resume{ChatRef: wire.ChatRef{Chat: r.Chat}, AfterSeq: r.LastSeq}, "")
		}
	case wire.TypeJoinedRoom, wire.TypeLeftRoom:
		var e wire.MemberEvent
		if f.Decode(&e) == nil && e.User == s.Welcome().User {
			s.ownMembership(f.Type() == wire.TypeJoinedRoom, e)
		}
	case wire.TypeMessageAccepted:
		var a wire.MessageAccepted
		if f.Decode(&a) == nil {
			s.accepted(a)
		}
	case wire.TypeError:
		var e wire.Error
		if f.Decode(&e) == nil {
			s.refusedSend(e)
		}
	}
	return true
}

// historyPage takes the position of a chat from the answer to a newest
// page request: its last message, or 0 for an empty chat.
func (s *Session) historyPage(h wire.HistoryPage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.chats[h.Chat]
	if !ok || c.newest == 0 {
		return
	}
	c.newest--
	var last uint64
	if n := len(h.Messages); n > 0 {
		last = h.Messages[n-1].Seq
	}
	if !c.known || last > c.lastSeq {
		c.lastSeq, c.known = last, true
	}
}

// ownMembership follows the session's own joins and leaves (on this
// device or another of the user's).
func (s *Session) ownMembership(joined bool, e wire.MemberEvent) {
	s.mu.Lock()
	if !joined {
		delete(s.chats, e.Chat)
		s.mu.Unlock()
		s.failChat(e.Chat, errors.New("client: left the chat"))
		return
	}
	c := s.chat(e.Chat)
	if e.Room != "" {
		c.room = e.Room
	}
	c.ready = true
	history, asked := s.joins[e.Room]
	delete(s.joins, e.Room)
	resumeFrom, resume := c.lastSeq, c.known && asked && history < 0
	if asked && history >= 0 {
		c.newest++
	}
	s.mu.Unlock()
	switch {
	case resume: // a guest back in its room: what it missed meanwhile
		s.send(wire.ChannelChatRoom, wire.TypeResume, wire.Resume{ChatRef: wire.ChatRef{Chat: e.Chat}, AfterSeq: resumeFrom}, "")
	case asked && history >= 0:
		s.send(wire.ChannelChatRoom, wire.TypeHistory, wire.History{ChatRef: wire.ChatRef{Chat: e.Chat}, Limit: max(history, 1)}, JoinHistoryRef(e.Room))
	}
	s.flush()
}

// advance moves a chat's position to seq, an entry just received; false
// when the entry was delivered already.
func (s *Session) advance(chatID string, seq uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chat(chatID)
	if c.known && seq <= c.lastSeq {
		return false
	}
	c.lastSeq, c.known = seq, true
	return true
}
