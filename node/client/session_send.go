package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"time"

	"github.com/natterchat/natter/node/wire"
)

// SendResult is the end of a Send: the node's acknowledgement, or why
// the message was not stored (a *wire.Error from the node, or the end of
// the session).
type SendResult struct {
	Accepted wire.MessageAccepted
	Err      error
}

// pendingSend is a message not yet acknowledged.
type pendingSend struct {
	msg    wire.SendMessage
	sent   bool      // on the current connection
	notNow time.Time // a refusal asked to wait until then (rate limit, storage)
	result chan SendResult
}

func (p *pendingSend) done(r SendResult) {
	select {
	case p.result <- r:
	default: // done once
	}
}

// retryWait is how long a send refused as rate limited or unavailable
// waits before it goes again, unless the node says how long.
const retryWait = time.Second

// Send sends a message to a chat with a fresh clientMsgId and returns the
// id and a channel that receives the result once. Until the node
// acknowledges it, the message is sent again on every new connection
// (once its chat is resumed or joined again) and after a rate limit or
// storage refusal: the node stores one message per clientMsgId, so a
// message is stored once however often it went.
func (s *Session) Send(m wire.SendMessage) (clientMsgID string, result <-chan SendResult) {
	if m.ClientMsgID == "" {
		m.ClientMsgID = NewClientMsgID()
	}
	p := &pendingSend{msg: m, result: make(chan SendResult, 1)}
	s.mu.Lock()
	s.pending = append(s.pending, p)
	s.mu.Unlock()
	s.flush()
	return m.ClientMsgID, p.result
}

// SendWait sends a message and waits for its result or ctx.
func (s *Session) SendWait(ctx context.Context, m wire.SendMessage) (wire.MessageAccepted, error) {
	_, res := s.Send(m)
	select {
	case r := <-res:
		return r.Accepted, r.Err
	case <-ctx.Done():
		return wire.MessageAccepted{}, ctx.Err()
	}
}

// Pending is the number of messages sent and not yet acknowledged.
func (s *Session) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// NewClientMsgID is a random clientMsgId: ids must not repeat across
// sessions, or a new message would be taken for the resend of an old one.
func NewClientMsgID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "cli-" + hex.EncodeToString(b)
}

// flush sends every pending message whose chat is ready on the current
// connection and that was not sent on it yet. A message to a chat the
// session does not know (a chat id from elsewhere) goes at once.
func (s *Session) flush() {
	now := time.Now()
	var out []wire.SendMessage
	var later time.Duration
	s.mu.Lock()
	if s.conn == nil {
		s.mu.Unlock()
		return
	}
	for _, p := range s.pending {
		if p.sent {
			continue
		}
		if wait := p.notNow.Sub(now); wait > 0 {
			later = max(later, wait)
			continue
		}
		if c, ok := s.chats[p.msg.Chat]; ok && !c.ready {
			continue
		}
		if p.msg.Chat == "" && p.msg.Room != "" && !s.roomReady(p.msg.Room) {
			continue
		}
		p.sent = true
		out = append(out, p.msg)
	}
	s.mu.Unlock()
	for _, m := range out {
		s.send(wire.ChannelChatRoom, wire.TypeSendMessage, m, m.ClientMsgID)
	}
	if later > 0 {
		time.AfterFunc(later, s.flush)
	}
}

// roomReady reports whether a room named in a send is joined on this
// connection, or unknown to the session (then the node decides). s.mu is
// held.
func (s *Session) roomReady(room string) bool {
	for _, c := range s.chats {
		if c.room == room {
			return c.ready
		}
	}
	return true
}

// accepted ends a pending send with the node's acknowledgement.
func (s *Session) accepted(a wire.MessageAccepted) {
	if p := s.take(func(p *pendingSend) bool { return p.msg.ClientMsgID == a.ClientMsgID && a.ClientMsgID != "" }); p != nil {
		p.done(SendResult{Accepted: a})
	}
}

// refusedSend handles an Error about a pending send (its ref is the
// clientMsgId): a rate limit or a storage hiccup sends it again later,
// anything else ends it with the error. The node drops a frame over the
// rate limit unread, so its Error has no ref: then every message sent
// and not acknowledged goes again (the node stores each id once).
func (s *Session) refusedSend(e wire.Error) {
	retry := e.Code == wire.CodeRateLimited || e.Code == wire.CodeUnavailable
	if e.Ref == "" && e.Code != wire.CodeRateLimited {
		return
	}
	if retry {
		s.mu.Lock()
		for _, p := range s.pending {
			if p.sent && (e.Ref == "" || p.msg.ClientMsgID == e.Ref) {
				p.sent, p.notNow = false, time.Now().Add(retryWait)
			}
		}
		s.mu.Unlock()
		time.AfterFunc(retryWait, s.flush)
		return
	}
	if p := s.take(func(p *pendingSend) bool { return p.msg.ClientMsgID == e.Ref }); p != nil {
		err := e
		p.done(SendResult{Err: &err})
	}
}

// failChat ends the pending sends to a chat the session left.
func (s *Session) failChat(chatID string, err error) {
	for {
		p := s.take(func(p *pendingSend) bool { return p.msg.Chat == chatID })
		if p == nil {
			return
		}
		p.done(SendResult{Err: err})
	}
}

// take removes the first pending send that match accepts.
func (s *Session) take(match func(*pendingSend) bool) *pendingSend {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.pending, match)
	if i < 0 {
		return nil
	}
	p := s.pending[i]
	s.pending = slices.Delete(s.pending, i, i+1)
	return p
}
