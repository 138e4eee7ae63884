package store

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/natterchat/natter/subjects"
)

// Message implements Store.
func (s *Memory) Message(ctx context.Context, chatID string, seq uint64) (Message, error) {
	if !subjects.ValidID(chatID) || seq == 0 {
		return Message{}, fmt.Errorf("store: message %s/%d: %w", chatID, seq, ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "Message"); err != nil {
		return Message{}, fmt.Errorf("store: message %s/%d: %w", chatID, seq, err)
	}
	chat := s.chatMsgs(chatID, s.cfg.Now())
	i := sort.Search(len(chat), func(i int) bool { return chat[i].msg.Seq >= seq })
	if i == len(chat) || chat[i].msg.Seq != seq {
		return Message{}, fmt.Errorf("store: message %s/%d: %w", chatID, seq, ErrNotFound)
	}
	m, err := stored(chat[i].msg)
	m.ChatID, m.Seq = chatID, seq // not in the JSON
	return m, err
}

// EraseMessages implements Store.
func (s *Memory) EraseMessages(ctx context.Context, chatID string, seqs []uint64) error {
	if !subjects.ValidID(chatID) {
		return fmt.Errorf("store: erase messages of %q: %w", chatID, ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "EraseMessages"); err != nil {
		return fmt.Errorf("store: erase messages of %s: %w", chatID, err)
	}
	s.msgs[chatID] = slices.DeleteFunc(s.msgs[chatID], func(m storedMsg) bool { return slices.Contains(seqs, m.msg.Seq) })
	return nil
}

// UpdateMessageState implements Store; under the lock nobody writes
// between the read and the write.
func (s *Memory) UpdateMessageState(ctx context.Context, chatID string, seq uint64, update func(*MessageState) error) (MessageState, error) {
	if !subjects.ValidID(chatID) || seq == 0 {
		return MessageState{}, fmt.Errorf("store: update message state %s/%d: %w", chatID, seq, ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "UpdateMessageState"); err != nil {
		return MessageState{}, fmt.Errorf("store: update message state %s/%d: %w", chatID, seq, err)
	}
	st, err := stored(s.states[chatID][seq])
	if err != nil {
		return MessageState{}, fmt.Errorf("store: update message state %s/%d: %w", chatID, seq, err)
	}
	if err := update(&st); err != nil {
		return MessageState{}, fmt.Errorf("store: update message state %s/%d: %w", chatID, seq, err)
	}
	if st, err = stored(st); err != nil {
		return MessageState{}, fmt.Errorf("store: update message state %s/%d: %w", chatID, seq, err)
	}
	if s.states[chatID] == nil {
		s.states[chatID] = make(map[uint64]MessageState)
	}
	s.states[chatID][seq] = st
	return stored(st)
}

// MessageStates implements Store.
func (s *Memory) MessageStates(ctx context.Context, chatID string, seqs []uint64) (map[uint64]MessageState, error) {
	if !subjects.ValidID(chatID) || len(seqs) > MaxPageLimit {
		return nil, fmt.Errorf("store: message states of %s: %w", chatID, ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "MessageStates"); err != nil {
		return nil, fmt.Errorf("store: message states of %s: %w", chatID, err)
	}
	out := make(map[uint64]MessageState)
	for _, seq := range seqs {
		if st, ok := s.states[chatID][seq]; ok {
			c, err := stored(st)
			if err != nil {
				return nil, fmt.Errorf("store: message states of %s: %w", chatID, err)
			}
			out[seq] = c
		}
	}
	return out, nil
}

// DeletedMessages implements Store.
func (s *Memory) DeletedMessages(ctx context.Context, chatID string) ([]uint64, error) {
	if !subjects.ValidID(chatID) {
		return nil, fmt.Errorf("store: deleted messages of %q: %w", chatID, ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "DeletedMessages"); err != nil {
		return nil, fmt.Errorf("store: deleted messages of %s: %w", chatID, err)
	}
	out := []uint64{}
	for seq, st := range s.states[chatID] {
		if st.Deleted {
			out = append(out, seq)
		}
	}
	slices.Sort(out)
	return out, nil
}
