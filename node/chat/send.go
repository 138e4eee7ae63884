package chat

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/natterchat/natter/node/fanout"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/subjects"
)

// Post is a message a user sends.
type Post struct {
	Text string
	// ClientMsgID makes the send idempotent (see messageID).
	ClientMsgID string
	// NoEcho keeps the message from the sending device (echo:false);
	// the sender's other devices still get it.
	NoEcho bool
	// ReplyTo is the seq of the message this one answers, 0 for none.
	ReplyTo uint64
}

// Send validates and stores a message; the fan-out delivers it. dev is
// the sending device (nil over HTTP). The returned message carries its
// sequence; dup reports a send of a ClientMsgID stored before.
func (s *Service) Send(ctx context.Context, who Identity, dev *fanout.Device, c store.Chat, p Post) (m store.Message, dup bool, err error) {
	if err := s.validPost(p); err != nil {
		return m, false, err
	}
	if err := s.RequireMember(ctx, who.ID, c.ID); err != nil {
		return m, false, err
	}
	m = store.Message{
		ChatID: c.ID, ID: messageID(who.ID, c.ID, p.ClientMsgID), UserID: who.ID, UserName: who.Name,
		Text: p.Text, PostedAt: time.Now().UTC(),
	}
	if p.ReplyTo != 0 {
		if m.ReplyTo, err = s.replyTo(ctx, c.ID, p.ReplyTo); err != nil {
			return m, false, err
		}
	}
	noEcho := dev != nil && p.NoEcho
	if dev != nil {
		m.DeviceID = dev.ID()
	}
	if noEcho {
		dev.SuppressEcho(m.ID)
	}
	start := time.Now()
	seq, dup, err := s.cfg.Store.PublishMessage(ctx, m)
	if noEcho && (err != nil || dup) {
		dev.UnsuppressEcho(m.ID)
	}
	if err != nil {
		s.metrics.PublishErrors.Add(1)
		return m, false, fmt.Errorf("publish: %w", err)
	}
	s.metrics.MessagesAccepted.Add(1)
	s.metrics.PublishAck.Observe(time.Since(start).Seconds())
	m.Seq = seq
	return m, dup, nil
}

// validPost checks a message's text and client id.
func (s *Service) validPost(p Post) error {
	if p.Text == "" {
		return wire.Errorf(wire.CodeMissingField, "message is empty")
	}
	if err := s.ValidText(p.Text); err != nil {
		return err
	}
	if p.ClientMsgID != "" && !subjects.ValidID(p.ClientMsgID) {
		return wire.Errorf(wire.CodeInvalidField, "clientMsgId must be 1-64 characters of [A-Za-z0-9_-]")
	}
	if p.ReplyTo >= maxClientSeq {
		return wire.Errorf(wire.CodeInvalidField, "replyTo is out of range")
	}
	return nil
}

// ValidText checks a message text against the length limit.
func (s *Service) ValidText(text string) error {
	if l := utf8.RuneCountInString(text); l > s.cfg.MaxMessageLen {
		return wire.Errorf(wire.CodeMessageTooLong, "message has %d characters, the limit is %d", l, s.cfg.MaxMessageLen)
	}
	return nil
}
