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
	nameKey := subjects.NameKey(c.Name)
	created, err = s.create(ctx, s.rooms, nameKey, []byte(c.ID))
	if err == nil && !created {
		err = fmt.Errorf("%w: %q", ErrNameTaken, c.Name)
	}
	if err != nil && !errors.Is(err, ErrNameTaken) {
		// An unclear answer (a timeout, a lost reply): the claim may have
		// been stored. Deleting the record then would leave the name
		// pointing at nothing, and every later join of the room failing.
		if owner, rerr := s.getString(context.WithoutCancel(ctx), s.rooms, nameKey); rerr == nil && owner == c.ID {
			return nil
		} else if rerr != nil && !errors.Is(rerr, ErrNotFound) {
			// Still unclear: keep the record (unreferenced, it costs a
			// key; deleted, it could cost the room).
			return fmt.Errorf("claim room name: %w (and reading it back: %w)", err, rerr)
		}
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
	c, _, err := s.lookupRoom(ctx, name)
	return c, err
}

// lookupRoom reads the public room named name: its id from the name
// bucket, then its record. claimed reports whether the name had a value,
// so that an ErrNotFound can tell a free name from a claimed one whose
// record could not be read.
func (s *JetStream) lookupRoom(ctx context.Context, name string) (c Chat, claimed bool, err error) {
	id, err := s.getString(ctx, s.rooms, subjects.NameKey(name))
	if err != nil {
		return Chat{}, false, fmt.Errorf("store: public room %q: %w", name, err)
	}
	c, err = s.Chat(ctx, id)
	return c, true, err
}

// Retries of EnsurePublicRoom while a claimed name's room cannot be read
// yet: the first wait, the longest, and how many reads in all. The window
// they cover is a Raft commit (milliseconds); the bound turns a name that
// stays unreadable into an error well within a request's deadline.
const (
	ensureRoomFirstWait = 10 * time.Millisecond
	ensureRoomMaxWait   = 500 * time.Millisecond
	ensureRoomTries     = 10
)

// EnsurePublicRoom implements Store. Concurrent callers race on the KV
// Create of the name key; the losers remove their record and return the
// winner's room, whose record exists before its name does.
//
// A loser may not see the winner's name yet: in a replicated bucket the
// leader refuses a Create of a key whose write is proposed but not yet
// applied ("wrong last sequence" without a sequence), and until it
// applies that write, a read of the key, even from the leader, finds
// nothing. A read may also fall back to a replica that trails (see
// kvGet). So a loser, and any caller that finds the name claimed but its
// room unreadable, reads again after a short backoff, within ctx and
// ensureRoomTries; it tries to create again only if the name is free,
// which it is again if the write it lost to was never applied.
func (s *JetStream) EnsurePublicRoom(ctx context.Context, name, creator string) (Chat, bool, error) {
	if err := validName("chat name", name, MaxChatNameLen); err != nil {
		return Chat{}, false, fmt.Errorf("store: ensure public room: %w", err)
	}
	wait := ensureRoomFirstWait
	for try := 1; ; try++ {
		c, claimed, err := s.lookupRoom(ctx, name)
		if err == nil || !errors.Is(err, ErrNotFound) {
			return c, false, err
		}
		if !claimed {
			c, err = s.newPublicRoom(ctx, name, creator)
			if err == nil {
				return c, true, nil
			}
			if !errors.Is(err, ErrNameTaken) {
				return Chat{}, false, err
			}
		}
		if try == ensureRoomTries {
			return Chat{}, false, fmt.Errorf("store: ensure public room %q: name claimed, room not readable after %d reads: %w", name, try, ErrUnavailable)
		}
		if err := sleepCtx(ctx, wait); err != nil {
			return Chat{}, false, fmt.Errorf("store: ensure public room %q: waiting for the claimed name's room: %w", name, err)
		}
		wait = min(2*wait, ensureRoomMaxWait)
	}
}

// newPublicRoom creates a public room named name with a new id;
// ErrNameTaken means another room holds (or is being given) the name.
func (s *JetStream) newPublicRoom(ctx context.Context, name, creator string) (Chat, error) {
	c := Chat{ID: uuid.NewString(), Name: name, Kind: Public, CreatedBy: creator, CreatedAt: time.Now().UTC()}
	if _, err := validChat(c, nil); err != nil {
		return Chat{}, fmt.Errorf("store: ensure public room %q: %w", name, err)
	}
	if err := s.createChat(ctx, c); err != nil {
		return Chat{}, fmt.Errorf("store: ensure public room %q: %w", name, err)
	}
	return c, nil
}
