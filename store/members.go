package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/natterchat/natter/subjects"
)

// AddMember implements Store. The membership is stored twice, under
// MemberKey (members of a chat) and UserChatKey (chats of a user), both
// with KV Create so a repeated add keeps the first join time. The second
// key is written even when the first exists, which repairs a membership
// half written by an earlier failure.
func (s *JetStream) AddMember(ctx context.Context, m Member) (bool, error) {
	m, err := newMember(m, time.Now().UTC())
	if err != nil {
		return false, fmt.Errorf("store: add member %q to %q: %w", m.UserID, m.ChatID, err)
	}
	chatID, userID := m.ChatID, m.UserID
	data, err := json.Marshal(m)
	if err != nil {
		return false, err
	}
	added, err := s.create(ctx, s.members, subjects.MemberKey(chatID, userID), data)
	if err != nil {
		return false, fmt.Errorf("store: add member %s to %s: %w", userID, chatID, err)
	}
	if !added {
		// Copy the existing membership to the other key, not ours.
		var old Member
		if _, err := s.getJSON(ctx, s.members, subjects.MemberKey(chatID, userID), &old); err == nil {
			data, _ = json.Marshal(old)
		}
	}
	if _, err := s.create(ctx, s.members, subjects.UserChatKey(userID, chatID), data); err != nil {
		return false, fmt.Errorf("store: add member %s to %s: user key: %w", userID, chatID, err)
	}
	return added, nil
}

// newMember returns m with its defaults set (an empty Role is member, an
// empty JoinedAt now) and checks it.
func newMember(m Member, now time.Time) (Member, error) {
	if m.Role == "" {
		m.Role = RoleMember
	}
	if m.JoinedAt.IsZero() {
		m.JoinedAt = now
	}
	switch {
	case !subjects.ValidID(m.ChatID):
		return m, fmt.Errorf("%w: chat id %q", ErrInvalid, m.ChatID)
	case !subjects.ValidID(m.UserID):
		return m, fmt.Errorf("%w: user id %q", ErrInvalid, m.UserID)
	case m.Role != RoleOwner && m.Role != RoleMember:
		return m, fmt.Errorf("%w: role %q", ErrInvalid, m.Role)
	}
	return m, nil
}

// RemoveMember implements Store. Both keys are removed whatever state the
// first one was in, so a half removed membership is finished.
func (s *JetStream) RemoveMember(ctx context.Context, chatID, userID string) (bool, error) {
	if !subjects.ValidID(chatID) || !subjects.ValidID(userID) {
		return false, fmt.Errorf("store: remove member %q from %q: %w: id", userID, chatID, ErrInvalid)
	}
	var m Member
	_, err := s.getJSON(ctx, s.members, subjects.MemberKey(chatID, userID), &m)
	removed := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return false, fmt.Errorf("store: remove member %s from %s: %w", userID, chatID, err)
	}
	if removed {
		if err := s.remove(ctx, s.members, subjects.MemberKey(chatID, userID)); err != nil {
			return false, fmt.Errorf("store: remove member %s from %s: %w", userID, chatID, err)
		}
	}
	var um Member
	_, err = s.getJSON(ctx, s.members, subjects.UserChatKey(userID, chatID), &um)
	if err == nil {
		err = s.remove(ctx, s.members, subjects.UserChatKey(userID, chatID))
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return false, fmt.Errorf("store: remove member %s from %s: user key: %w", userID, chatID, err)
	}
	return removed, nil
}

// Member implements Store.
func (s *JetStream) Member(ctx context.Context, chatID, userID string) (Member, error) {
	var m Member
	if !subjects.ValidID(chatID) || !subjects.ValidID(userID) {
		return m, fmt.Errorf("store: member %q of %q: %w: id", userID, chatID, ErrInvalid)
	}
	_, err := s.getJSON(ctx, s.members, subjects.MemberKey(chatID, userID), &m)
	if errors.Is(err, ErrNotFound) {
		return Member{}, fmt.Errorf("store: member %s of %s: %w", userID, chatID, ErrNotMember)
	}
	if err != nil {
		return Member{}, fmt.Errorf("store: member %s of %s: %w", userID, chatID, err)
	}
	return m, nil
}

// Members implements Store with direct gets on the chat's key prefix.
func (s *JetStream) Members(ctx context.Context, chatID string) ([]Member, error) {
	if !subjects.ValidID(chatID) {
		return nil, fmt.Errorf("store: members of %q: %w: chat id", chatID, ErrInvalid)
	}
	out, err := s.listMembers(ctx, subjects.ChatMembersFilter(chatID))
	if err != nil {
		return nil, fmt.Errorf("store: members of %s: %w", chatID, err)
	}
	return out, nil
}

// UserChats implements Store with direct gets on the user's key prefix.
func (s *JetStream) UserChats(ctx context.Context, userID string) ([]Member, error) {
	if !subjects.ValidID(userID) {
		return nil, fmt.Errorf("store: chats of %q: %w: user id", userID, ErrInvalid)
	}
	out, err := s.listMembers(ctx, subjects.UserChatsFilter(userID))
	if err != nil {
		return nil, fmt.Errorf("store: chats of %s: %w", userID, err)
	}
	return out, nil
}

// listMembers decodes the memberships under filter, oldest write first.
func (s *JetStream) listMembers(ctx context.Context, filter string) ([]Member, error) {
	entries, err := s.kvList(ctx, subjects.BucketMembers, filter)
	if err != nil {
		return nil, err
	}
	out := make([]Member, 0, len(entries))
	for _, e := range entries {
		var m Member
		if err := json.Unmarshal(e.value, &m); err != nil {
			return nil, fmt.Errorf("decode %s: %w", e.key, err)
		}
		out = append(out, m)
	}
	return out, nil
}
