package store

import (
	"context"
	"fmt"
	"sort"

	"github.com/natterchat/natter/subjects"
)

// Read markers of Memory: one map by subjects.ReadKey, made on first use.

// MarkRead implements Reads.
func (s *Memory) MarkRead(ctx context.Context, chatID, userID string, seq uint64) (ReadMarker, bool, error) {
	if err := validMark(chatID, userID, seq); err != nil {
		return ReadMarker{}, false, fmt.Errorf("store: mark read %s of %q: %w", userID, chatID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "MarkRead"); err != nil {
		return ReadMarker{}, false, fmt.Errorf("store: mark read %s of %s: %w", userID, chatID, err)
	}
	key := subjects.ReadKey(chatID, userID)
	if cur, ok := s.reads[key]; ok && cur.Seq >= seq {
		return cur, false, nil
	}
	if s.reads == nil {
		s.reads = make(map[string]ReadMarker)
	}
	m := ReadMarker{ChatID: chatID, UserID: userID, Seq: seq, At: s.now()}
	s.reads[key] = m
	return m, true, nil
}

// ReadMarkers implements Reads.
func (s *Memory) ReadMarkers(ctx context.Context, userID string, chatIDs []string) (map[string]ReadMarker, error) {
	if !subjects.ValidID(userID) {
		return nil, fmt.Errorf("store: read markers of %q: %w: user id", userID, ErrInvalid)
	}
	if err := validIDs("chat", chatIDs); err != nil {
		return nil, fmt.Errorf("store: read markers of %s: %w", userID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "ReadMarkers"); err != nil {
		return nil, fmt.Errorf("store: read markers of %s: %w", userID, err)
	}
	out := make(map[string]ReadMarker, len(chatIDs))
	for _, c := range chatIDs {
		if m, ok := s.reads[subjects.ReadKey(c, userID)]; ok {
			out[c] = m
		}
	}
	return out, nil
}

// ChatReadMarkers implements Reads, in user id order.
func (s *Memory) ChatReadMarkers(ctx context.Context, chatID string) ([]ReadMarker, error) {
	if !subjects.ValidID(chatID) {
		return nil, fmt.Errorf("store: read markers of chat %q: %w: chat id", chatID, ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "ChatReadMarkers"); err != nil {
		return nil, fmt.Errorf("store: read markers of chat %s: %w", chatID, err)
	}
	var out []ReadMarker
	for _, m := range s.reads {
		if m.ChatID == chatID {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserID < out[j].UserID })
	return out, nil
}

// LastSeqs implements Reads.
func (s *Memory) LastSeqs(ctx context.Context, chatIDs []string) (map[string]uint64, error) {
	if err := validIDs("chat", chatIDs); err != nil {
		return nil, fmt.Errorf("store: last seqs: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "LastSeqs"); err != nil {
		return nil, fmt.Errorf("store: last seqs: %w", err)
	}
	out := make(map[string]uint64, len(chatIDs))
	now := s.cfg.Now()
	for _, c := range chatIDs {
		if chat := s.chatMsgs(c, now); len(chat) > 0 {
			out[c] = chat[len(chat)-1].msg.Seq
		}
	}
	return out, nil
}

// ScanSenders implements Reads as JetStream does, MaxUnreadScan included.
func (s *Memory) ScanSenders(ctx context.Context, chatID string, after uint64) (ss []Sender, rest uint64, err error) {
	if !subjects.ValidID(chatID) {
		return nil, 0, fmt.Errorf("store: scan senders of %q: %w: id", chatID, ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "ScanSenders"); err != nil {
		return nil, 0, fmt.Errorf("store: scan senders of %s: %w", chatID, err)
	}
	chat := s.chatMsgs(chatID, s.cfg.Now())
	i := sort.Search(len(chat), func(i int) bool { return chat[i].msg.Seq > after })
	for k, m := range chat[i:] {
		if k == MaxUnreadScan {
			return ss, uint64(len(chat) - i - k), nil
		}
		ss = append(ss, Sender{Seq: m.msg.Seq, User: m.msg.UserID, Kind: m.msg.Kind, Target: m.msg.Target})
	}
	return ss, 0, nil
}
