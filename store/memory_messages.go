package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natterchat/natter/subjects"
)

// Messages of Memory: one sequence over all chats, like the CHAT_MSGS
// stream's, each chat's messages in ascending order, the dedup window, and
// the live copies RePublish would send.

// storedMsg is a stored message and when it was stored, by the store's
// clock with its monotonic reading (MaxAge and the dedup window compare
// such times).
type storedMsg struct {
	msg Message
	at  time.Time
}

// dedupEntry is what the dedup window remembers of a message id.
type dedupEntry struct {
	seq uint64
	at  time.Time
}

// PublishMessage implements Store. The dedup id is the message id over
// all chats, as Nats-Msg-Id is over the whole stream.
func (s *Memory) PublishMessage(ctx context.Context, m Message) (uint64, bool, error) {
	if err := validMessage(m); err != nil {
		return 0, false, fmt.Errorf("store: publish message %q: %w", m.ID, err)
	}
	if m.PostedAt.IsZero() {
		m.PostedAt = s.now()
	}
	data, err := json.Marshal(m)
	if err != nil {
		return 0, false, fmt.Errorf("store: publish message %s: %w", m.ID, err)
	}
	msg := Message{}
	if err := json.Unmarshal(data, &msg); err != nil {
		return 0, false, fmt.Errorf("store: publish message %s: %w", m.ID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "PublishMessage"); err != nil {
		return 0, false, fmt.Errorf("store: publish message %s to %s: %w", m.ID, m.ChatID, err)
	}
	now := s.cfg.Now()
	s.expireDedup(now)
	if d, ok := s.dedup[m.ID]; ok {
		return d.seq, true, nil
	}
	s.lastSeq++
	msg.ChatID, msg.Seq = m.ChatID, s.lastSeq
	chat := s.chatMsgs(m.ChatID, now)
	var prev uint64
	if len(chat) > 0 {
		prev = chat[len(chat)-1].msg.Seq
	}
	chat = append(chat, storedMsg{msg: msg, at: now})
	if limit := s.cfg.MaxMsgsPerSubject; limit > 0 && int64(len(chat)) > limit {
		chat = dropOldest(chat, len(chat)-int(limit))
	}
	s.msgs[m.ChatID] = chat
	s.dedup[m.ID] = dedupEntry{seq: msg.Seq, at: now}
	s.dedupIDs = append(s.dedupIDs, m.ID)
	// Still under the lock: copies leave in sequence order.
	s.sendLive(msg, data, prev, now)
	return msg.Seq, false, nil
}

// expireDedup forgets the message ids stored a dedup window or longer
// before now. s.mu is held.
func (s *Memory) expireDedup(now time.Time) {
	n := 0
	for _, id := range s.dedupIDs {
		if now.Sub(s.dedup[id].at) < s.cfg.Duplicates {
			break
		}
		delete(s.dedup, id)
		n++
	}
	clear(s.dedupIDs[:n])
	s.dedupIDs = s.dedupIDs[n:]
}

// chatMsgs returns a chat's messages with those older than MaxAge gone.
// s.mu is held.
func (s *Memory) chatMsgs(chatID string, now time.Time) []storedMsg {
	chat := s.msgs[chatID]
	if s.cfg.MaxAge <= 0 {
		return chat
	}
	n := sort.Search(len(chat), func(i int) bool { return now.Sub(chat[i].at) < s.cfg.MaxAge })
	if n == 0 {
		return chat
	}
	if chat = dropOldest(chat, n); len(chat) == 0 {
		delete(s.msgs, chatID)
		return nil
	}
	s.msgs[chatID] = chat
	return chat
}

// dropOldest removes the first n messages. The array is not copied: the
// next append that outgrows it moves the rest to a new one.
func dropOldest(chat []storedMsg, n int) []storedMsg {
	clear(chat[:n])
	return chat[n:]
}

// sendLive publishes the live copy of a newly stored message as CHAT_MSGS's
// RePublish does: the body as stored, the publish's own headers, and the
// stream's, with Nats-Last-Sequence the chat's previous sequence. A copy
// that cannot be sent is lost like a RePublish copy; receivers repair
// such gaps. s.mu is held.
func (s *Memory) sendLive(m Message, data []byte, prev uint64, at time.Time) {
	if s.cfg.Live == nil {
		return
	}
	if s.dropLive > 0 {
		s.dropLive--
		return
	}
	h := nats.Header{}
	h.Set(jetstream.MsgIDHeader, m.ID)
	h.Set(jetstream.ExpectedStreamHeader, subjects.StreamMessages)
	h.Set(jetstream.StreamHeader, subjects.StreamMessages)
	h.Set(jetstream.SubjectHeader, subjects.ChatMsg(m.ChatID))
	h.Set(jetstream.SequenceHeader, strconv.FormatUint(m.Seq, 10))
	h.Set(jetstream.TimeStampHeaer, at.UTC().Format(time.RFC3339Nano))
	h.Set(jetstream.LastSequenceHeader, strconv.FormatUint(prev, 10))
	live := &nats.Msg{Subject: subjects.LiveChat(m.ChatID), Header: h, Data: data}
	if err := s.cfg.Live.PublishMsg(live); err != nil {
		s.cfg.Logger.Warn("store: live copy lost", "chat", m.ChatID, "seq", m.Seq, "err", err)
	}
}

// Messages implements Store.
func (s *Memory) Messages(ctx context.Context, chatID string, p Page) ([]Message, error) {
	limit, err := pageLimit(chatID, p)
	if err != nil {
		return nil, fmt.Errorf("store: messages of %q: %w", chatID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "Messages"); err != nil {
		return nil, fmt.Errorf("store: messages of %s: %w", chatID, err)
	}
	chat := s.chatMsgs(chatID, s.cfg.Now())
	var page []storedMsg
	switch {
	case p.After > 0 || p.Forward:
		i := sort.Search(len(chat), func(i int) bool { return chat[i].msg.Seq > p.After })
		page = chat[i:min(i+limit, len(chat))]
	case p.Before > 0:
		j := sort.Search(len(chat), func(i int) bool { return chat[i].msg.Seq >= p.Before })
		page = chat[max(0, j-limit):j]
	default:
		page = chat[max(0, len(chat)-limit):]
	}
	out := make([]Message, len(page))
	for i := range page {
		out[i] = page[i].msg
	}
	return out, nil
}

// LastSeq implements Store.
func (s *Memory) LastSeq(ctx context.Context, chatID string) (uint64, error) {
	if !subjects.ValidID(chatID) {
		return 0, fmt.Errorf("store: last seq of %q: %w: chat id", chatID, ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "LastSeq"); err != nil {
		return 0, fmt.Errorf("store: last seq of %s: %w", chatID, err)
	}
	chat := s.chatMsgs(chatID, s.cfg.Now())
	if len(chat) == 0 {
		return 0, nil
	}
	return chat[len(chat)-1].msg.Seq, nil
}

// Position implements Store: the last sequence given to any message, even
// one no longer kept, as a stream's last sequence is.
// Memory has one stream.
func (s *Memory) Position(ctx context.Context) (Position, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "Position"); err != nil {
		return nil, fmt.Errorf("store: stream position: %w", err)
	}
	return Position{s.lastSeq}, nil
}
