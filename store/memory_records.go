package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/natterchat/natter/subjects"
)

// Users and chats of Memory: records by id, and the name indexes that make
// user names unique case-insensitively and public room names unique.

// CreateUser implements Store. As with JetStream a taken name is reported
// before a taken id.
func (s *Memory) CreateUser(ctx context.Context, u User) error {
	if err := validUser(u); err != nil {
		return fmt.Errorf("store: create user %q: %w", u.ID, err)
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = s.now()
	}
	u, err := stored(u)
	if err != nil {
		return fmt.Errorf("store: create user %s: %w", u.ID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "CreateUser"); err != nil {
		return fmt.Errorf("store: create user %s: claim name: %w", u.ID, err)
	}
	nameKey := userNameKey(u.Name)
	if _, ok := s.userNames[nameKey]; ok {
		return fmt.Errorf("store: create user %s: %w: %q", u.ID, ErrNameTaken, u.Name)
	}
	if _, ok := s.users[u.ID]; ok {
		return fmt.Errorf("store: create user %s: store record: %w: user id exists", u.ID, ErrConflict)
	}
	s.userNames[nameKey] = u.ID
	s.users[u.ID] = u
	return nil
}

// User implements Store.
func (s *Memory) User(ctx context.Context, id string) (User, error) {
	if !subjects.ValidID(id) {
		return User{}, fmt.Errorf("store: user %q: %w: id", id, ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "User"); err != nil {
		return User{}, fmt.Errorf("store: user %s: %w", id, err)
	}
	return s.user(id)
}

// UpdateUser implements Store.
func (s *Memory) UpdateUser(ctx context.Context, id string, update func(u *User) error) (User, error) {
	if !subjects.ValidID(id) {
		return User{}, fmt.Errorf("store: update user %q: %w: id", id, ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "UpdateUser"); err != nil {
		return User{}, fmt.Errorf("store: update user %s: %w", id, err)
	}
	u, err := s.user(id)
	if err != nil {
		return User{}, fmt.Errorf("store: update user %s: %w", id, err)
	}
	if err := applyUserUpdate(&u, update); err != nil {
		return User{}, fmt.Errorf("store: update user %s: %w", id, err)
	}
	if u, err = stored(u); err != nil {
		return User{}, fmt.Errorf("store: update user %s: %w", id, err)
	}
	s.users[id] = u
	return s.user(id)
}

// user returns a copy of a user record that shares no slice with it.
// s.mu is held.
func (s *Memory) user(id string) (User, error) {
	u, ok := s.users[id]
	if !ok {
		return User{}, fmt.Errorf("store: user %s: %w", id, ErrNotFound)
	}
	u.Roles = slices.Clone(u.Roles)
	u.PasswordHash = bytes.Clone(u.PasswordHash)
	return u, nil
}

// UserByName implements Store.
func (s *Memory) UserByName(ctx context.Context, name string) (User, error) {
	if err := validName("user name", name, MaxUserNameLen); err != nil {
		return User{}, fmt.Errorf("store: user by name: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "UserByName"); err != nil {
		return User{}, fmt.Errorf("store: user by name %q: %w", name, err)
	}
	id, ok := s.userNames[userNameKey(name)]
	if !ok {
		return User{}, fmt.Errorf("store: user by name %q: %w", name, ErrNotFound)
	}
	return s.user(id)
}

// CreateChat implements Store. As with JetStream a taken id is reported
// before a taken room name, and the chat stays created if one of its
// memberships is refused (a member with an invalid role).
func (s *Memory) CreateChat(ctx context.Context, c Chat, members []Member) error {
	users, err := validChat(c, members)
	if err != nil {
		return fmt.Errorf("store: create chat %s: %w", c.ID, err)
	}
	now := s.now()
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	if c, err = stored(c); err != nil {
		return fmt.Errorf("store: create chat %s: %w", c.ID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "CreateChat"); err != nil {
		return fmt.Errorf("store: create chat %s: store record: %w", c.ID, err)
	}
	if err := s.createChat(c); err != nil {
		return fmt.Errorf("store: create chat %s: %w", c.ID, err)
	}
	for _, m := range users {
		m, err := newMembership(m, now)
		if err != nil {
			return fmt.Errorf("store: create chat %s: add member %q: %w", c.ID, m.UserID, err)
		}
		s.addMember(m)
	}
	return nil
}

// createChat stores a checked chat record and claims a public room's name.
// s.mu is held.
func (s *Memory) createChat(c Chat) error {
	if _, ok := s.chats[c.ID]; ok {
		return fmt.Errorf("%w: chat id exists", ErrConflict)
	}
	if c.Kind == Public {
		if _, ok := s.rooms[c.Name]; ok {
			return fmt.Errorf("claim room name: %w: %q", ErrNameTaken, c.Name)
		}
		s.rooms[c.Name] = c.ID
	}
	s.chats[c.ID] = c
	return nil
}

// Chat implements Store.
func (s *Memory) Chat(ctx context.Context, id string) (Chat, error) {
	if !subjects.ValidID(id) {
		return Chat{}, fmt.Errorf("store: chat %q: %w: id", id, ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "Chat"); err != nil {
		return Chat{}, fmt.Errorf("store: chat %s: %w", id, err)
	}
	c, ok := s.chats[id]
	if !ok {
		return Chat{}, fmt.Errorf("store: chat %s: %w", id, ErrNotFound)
	}
	return c, nil
}

// PublicRoom implements Store.
func (s *Memory) PublicRoom(ctx context.Context, name string) (Chat, error) {
	if err := validName("chat name", name, MaxChatNameLen); err != nil {
		return Chat{}, fmt.Errorf("store: public room: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "PublicRoom"); err != nil {
		return Chat{}, fmt.Errorf("store: public room %q: %w", name, err)
	}
	return s.publicRoom(name)
}

// publicRoom returns the public room named name. s.mu is held.
func (s *Memory) publicRoom(name string) (Chat, error) {
	id, ok := s.rooms[name]
	if !ok {
		return Chat{}, fmt.Errorf("store: public room %q: %w", name, ErrNotFound)
	}
	return s.chats[id], nil
}

// EnsurePublicRoom implements Store. The lookup and the create happen
// under one lock, so concurrent callers cannot both create. As with
// JetStream the creator is only checked when a room is made.
func (s *Memory) EnsurePublicRoom(ctx context.Context, name, creator string) (Chat, bool, error) {
	if err := validName("chat name", name, MaxChatNameLen); err != nil {
		return Chat{}, false, fmt.Errorf("store: public room: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx, "EnsurePublicRoom"); err != nil {
		return Chat{}, false, fmt.Errorf("store: ensure public room %q: %w", name, err)
	}
	c, err := s.publicRoom(name)
	if !errors.Is(err, ErrNotFound) {
		return c, false, err
	}
	c = Chat{ID: uuid.NewString(), Name: name, Kind: Public, CreatedBy: creator, CreatedAt: s.now()}
	if _, err := validChat(c, nil); err != nil {
		return Chat{}, false, fmt.Errorf("store: ensure public room %q: %w", name, err)
	}
	if c, err = stored(c); err == nil {
		err = s.createChat(c)
	}
	if err != nil {
		return Chat{}, false, fmt.Errorf("store: ensure public room %q: %w", name, err)
	}
	return c, true, nil
}
