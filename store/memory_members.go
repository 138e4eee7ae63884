package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/natterchat/natter/subjects"
)

// Memberships of Memory: one record per membership, indexed by chat and by
// user. Listings are in the order memberships were made, as JetStream's
// are in the order of their keys' revisions.

// membership is a stored Member and its place in listings.
type membership struct {
	m   Member
	rev uint64
}

// newMembership returns m checked, with its defaults, as it is stored.
func newMembership(m Member, now time.Time) (Member, error) {
	m, err := newMember(m, now)
	if err != nil {
		return m, err
	}
	return stored(m)
}

// AddMember implements Store.
func (s *Memory) AddMember(ctx context.Context, m Member) (bool, error) {
	m, err := newMembership(m, s.now())
	if err != nil {
		return false, fmt.Errorf("store: add member %q to %q: %w", m.UserID, m.ChatID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "AddMember"); err != nil {
		return false, fmt.Errorf("store: add member %s to %s: %w", m.UserID, m.ChatID, err)
	}
	return s.addMember(m), nil
}

// addMember stores m unless its user already is a member, whose
// membership is then kept. s.mu is held.
func (s *Memory) addMember(m Member) (added bool) {
	if _, ok := s.byChat[m.ChatID][m.UserID]; ok {
		return false
	}
	s.memberRev++
	ms := &membership{m: m, rev: s.memberRev}
	index(s.byChat, m.ChatID, m.UserID, ms)
	index(s.byUser, m.UserID, m.ChatID, ms)
	return true
}

// index sets idx[a][b] = ms.
func index(idx map[string]map[string]*membership, a, b string, ms *membership) {
	inner := idx[a]
	if inner == nil {
		inner = make(map[string]*membership)
		idx[a] = inner
	}
	inner[b] = ms
}

// unindex deletes idx[a][b], and idx[a] once it is empty.
func unindex(idx map[string]map[string]*membership, a, b string) {
	delete(idx[a], b)
	if len(idx[a]) == 0 {
		delete(idx, a)
	}
}

// RemoveMember implements Store.
func (s *Memory) RemoveMember(ctx context.Context, chatID, userID string) (bool, error) {
	if !subjects.ValidID(chatID) || !subjects.ValidID(userID) {
		return false, fmt.Errorf("store: remove member %q from %q: %w: id", userID, chatID, ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "RemoveMember"); err != nil {
		return false, fmt.Errorf("store: remove member %s from %s: %w", userID, chatID, err)
	}
	if _, ok := s.byChat[chatID][userID]; !ok {
		return false, nil
	}
	unindex(s.byChat, chatID, userID)
	unindex(s.byUser, userID, chatID)
	return true, nil
}

// Member implements Store.
func (s *Memory) Member(ctx context.Context, chatID, userID string) (Member, error) {
	if !subjects.ValidID(chatID) || !subjects.ValidID(userID) {
		return Member{}, fmt.Errorf("store: member %q of %q: %w: id", userID, chatID, ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "Member"); err != nil {
		return Member{}, fmt.Errorf("store: member %s of %s: %w", userID, chatID, err)
	}
	ms, ok := s.byChat[chatID][userID]
	if !ok {
		return Member{}, fmt.Errorf("store: member %s of %s: %w", userID, chatID, ErrNotMember)
	}
	return ms.m, nil
}

// Members implements Store.
func (s *Memory) Members(ctx context.Context, chatID string) ([]Member, error) {
	if !subjects.ValidID(chatID) {
		return nil, fmt.Errorf("store: members of %q: %w: chat id", chatID, ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "Members"); err != nil {
		return nil, fmt.Errorf("store: members of %s: %w", chatID, err)
	}
	return listMemberships(s.byChat[chatID]), nil
}

// UserChats implements Store.
func (s *Memory) UserChats(ctx context.Context, userID string) ([]Member, error) {
	if !subjects.ValidID(userID) {
		return nil, fmt.Errorf("store: chats of %q: %w: user id", userID, ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "UserChats"); err != nil {
		return nil, fmt.Errorf("store: chats of %s: %w", userID, err)
	}
	return listMemberships(s.byUser[userID]), nil
}

// listMemberships returns the memberships of one index entry, oldest
// first.
func listMemberships(idx map[string]*membership) []Member {
	all := make([]*membership, 0, len(idx))
	for _, ms := range idx {
		all = append(all, ms)
	}
	slices.SortFunc(all, func(a, b *membership) int { return cmp.Compare(a.rev, b.rev) })
	out := make([]Member, len(all))
	for i, ms := range all {
		out[i] = ms.m
	}
	return out
}
