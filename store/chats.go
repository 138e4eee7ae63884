package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/natterchat/natter/subjects"
)

// MaxChatNameLen is the longest chat name, in characters.
const MaxChatNameLen = 100

// CreateChat implements Store. The record is written before the public
// name is claimed, so whoever finds a room by name always finds its record;
// a lost name claim removes the record again.
func (s *JetStream) CreateChat(ctx context.Context, c Chat, members []Member) error {
	users, err := validChat(c, members)
	if err != nil {
		return fmt.Errorf("store: create chat %s: %w", c.ID, err)
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now().UTC()
	}
	if err := s.createChat(ctx, c); err != nil {
		return fmt.Errorf("store: create chat %s: %w", c.ID, err)
	}
	return s.addMembers(ctx, users)
}

// validChat checks a new chat and returns its distinct members, creator
// first and owner.
func validChat(c Chat, members []Member) ([]Member, error) {
	switch {
	case !subjects.ValidID(c.ID):
		return nil, fmt.Errorf("%w: chat id %q", ErrInvalid, c.ID)
	case !c.Kind.Valid():
		return nil, fmt.Errorf("%w: kind %q", ErrInvalid, c.Kind)
	case !subjects.ValidID(c.CreatedBy):
		return nil, fmt.Errorf("%w: creator id %q", ErrInvalid, c.CreatedBy)
	}
	if c.Kind != Direct || c.Name != "" {
		if err := validName("chat name", c.Name, MaxChatNameLen); err != nil {
			return nil, err
		}
	}
	creator := Member{UserID: c.CreatedBy}
	for _, m := range members {
		if m.UserID == c.CreatedBy {
			creator = m
		}
	}
	creator.Role = RoleOwner
	users := []Member{creator}
	seen := map[string]bool{c.CreatedBy: true}
	for _, m := range members {
		if !subjects.ValidID(m.UserID) {
			return nil, fmt.Errorf("%w: member id %q", ErrInvalid, m.UserID)
		}
		if !seen[m.UserID] {
			seen[m.UserID] = true
			users = append(users, m)
		}
	}
	for i := range users {
		users[i].ChatID = c.ID
	}
	if c.Kind == Direct && len(users) != 2 {
		return nil, fmt.Errorf("%w: a direct chat has exactly 2 distinct members (creator included), got %d", ErrInvalid, len(users))
	}
	return users, nil
}

// createChat stores the record of c and, for a public room, claims its name.
func (s *JetStream) createChat(ctx context.Context, c Chat) error {
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	created, err := s.create(ctx, s.chats, subjects.ChatKey(c.ID), data)
	if err != nil {
		return fmt.Errorf("store record: %w", err)
	}
	if !created {
		return fmt.Errorf("%w: chat id exists", ErrConflict)
	}
	if c.Kind != Public {
		return nil
	}
	created, err = s.create(ctx, s.rooms, subjects.NameKey(c.Name), []byte(c.ID))
	if err == nil && !created {
		err = fmt.Errorf("%w: %q", ErrNameTaken, c.Name)
	}
	if err != nil {
		s.cleanup(ctx, s.chats, subjects.ChatKey(c.ID), "room name not claimed")
		return fmt.Errorf("claim room name: %w", err)
	}
	return nil
}

// addMembers stores the memberships of a new chat.
func (s *JetStream) addMembers(ctx context.Context, users []Member) error {
	for _, m := range users {
		if _, err := s.AddMember(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// Chat implements Store.
func (s *JetStream) Chat(ctx context.Context, id string) (Chat, error) {
	var c Chat
	if !subjects.ValidID(id) {
		return c, fmt.Errorf("store: chat %q: %w: id", id, ErrInvalid)
	}
	if _, err := s.getJSON(ctx, s.chats, subjects.ChatKey(id), &c); err != nil {
		return Chat{}, fmt.Errorf("store: chat %s: %w", id, err)
	}
	return c, nil
}

// PublicRoom implements Store through the room name bucket.
func (s *JetStream) PublicRoom(ctx context.Context, name string) (Chat, error) {
	if err := validName("chat name", name, MaxChatNameLen); err != nil {
		return Chat{}, fmt.Errorf("store: public room: %w", err)
	}
	id, err := s.getString(ctx, s.rooms, subjects.NameKey(name))
	if err != nil {
		return Chat{}, fmt.Errorf("store: public room %q: %w", name, err)
	}
	return s.Chat(ctx, id)
}

// EnsurePublicRoom implements Store. Concurrent callers race on the KV
// Create of the name key; the losers remove their record and return the
// winner's room, whose record exists before its name does.
func (s *JetStream) EnsurePublicRoom(ctx context.Context, name, creator string) (Chat, bool, error) {
	c, err := s.PublicRoom(ctx, name)
	if err == nil || !errors.Is(err, ErrNotFound) {
		return c, false, err
	}
	c = Chat{ID: uuid.NewString(), Name: name, Kind: Public, CreatedBy: creator, CreatedAt: time.Now().UTC()}
	if _, err := validChat(c, nil); err != nil {
		return Chat{}, false, fmt.Errorf("store: ensure public room %q: %w", name, err)
	}
	err = s.createChat(ctx, c)
	if errors.Is(err, ErrNameTaken) {
		c, err = s.PublicRoom(ctx, name)
		return c, false, err
	}
	if err != nil {
		return Chat{}, false, fmt.Errorf("store: ensure public room %q: %w", name, err)
	}
	return c, true, nil
}
