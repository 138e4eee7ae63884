package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/natterchat/natter/subjects"
)

// MaxUserNameLen is the longest user name, in characters.
const MaxUserNameLen = 64

// userNameKey is the BucketUserNames key of a name: names are unique
// case-insensitively and ignoring surrounding space, while the user record
// keeps the name as given.
func userNameKey(name string) string {
	return subjects.NameKey(strings.ToLower(strings.TrimSpace(name)))
}

// validUser checks a new user's id and name.
func validUser(u User) error {
	if !subjects.ValidID(u.ID) {
		return fmt.Errorf("%w: user id %q", ErrInvalid, u.ID)
	}
	return validName("user name", u.Name, MaxUserNameLen)
}

// CreateUser implements Store. The name is claimed first with a KV Create,
// which is what makes it unique across nodes; if storing the record then
// fails, the claim is released.
func (s *JetStream) CreateUser(ctx context.Context, u User) error {
	if err := validUser(u); err != nil {
		return fmt.Errorf("store: create user %q: %w", u.ID, err)
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now().UTC()
	}
	data, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("store: create user %s: %w", u.ID, err)
	}
	nameKey := userNameKey(u.Name)
	created, err := s.create(ctx, s.names, nameKey, []byte(u.ID))
	if err != nil {
		return fmt.Errorf("store: create user %s: claim name: %w", u.ID, err)
	}
	if !created {
		return fmt.Errorf("store: create user %s: %w: %q", u.ID, ErrNameTaken, u.Name)
	}
	created, err = s.create(ctx, s.users, subjects.UserKey(u.ID), data)
	if err == nil && !created {
		err = fmt.Errorf("%w: user id exists", ErrConflict)
	}
	if err != nil {
		s.cleanup(ctx, s.names, nameKey, "create user failed")
		return fmt.Errorf("store: create user %s: store record: %w", u.ID, err)
	}
	return nil
}

// User implements Store.
func (s *JetStream) User(ctx context.Context, id string) (User, error) {
	var u User
	if !subjects.ValidID(id) {
		return u, fmt.Errorf("store: user %q: %w: id", id, ErrInvalid)
	}
	if _, err := s.getJSON(ctx, s.users, subjects.UserKey(id), &u); err != nil {
		return User{}, fmt.Errorf("store: user %s: %w", id, err)
	}
	return u, nil
}

// maxUpdateTries bounds UpdateUser's read-modify-write rounds when other
// writers keep changing the record.
const maxUpdateTries = 10

// UpdateUser implements Store: read, update, and write back only at the
// revision read, again from the read when another writer came between.
func (s *JetStream) UpdateUser(ctx context.Context, id string, update func(u *User) error) (User, error) {
	if !subjects.ValidID(id) {
		return User{}, fmt.Errorf("store: update user %q: %w: id", id, ErrInvalid)
	}
	key := subjects.UserKey(id)
	for try := range maxUpdateTries {
		if try > 0 {
			// Writers that collided try again at different moments.
			if err := sleepCtx(ctx, time.Duration(1+rand.IntN(4*try))*time.Millisecond); err != nil {
				return User{}, fmt.Errorf("store: update user %s: %w", id, err)
			}
		}
		var u User
		rev, err := s.getJSON(ctx, s.users, key, &u)
		if err != nil {
			return User{}, fmt.Errorf("store: update user %s: read: %w", id, err)
		}
		if err := applyUserUpdate(&u, update); err != nil {
			return User{}, fmt.Errorf("store: update user %s: %w", id, err)
		}
		data, err := json.Marshal(u)
		if err != nil {
			return User{}, fmt.Errorf("store: update user %s: encode: %w", id, err)
		}
		ok, err := s.update(ctx, s.users, key, data, rev)
		if err != nil {
			return User{}, fmt.Errorf("store: update user %s: write: %w", id, err)
		}
		if ok {
			return u, nil
		}
	}
	return User{}, fmt.Errorf("store: update user %s: %w: changed by others %d times in a row", id, ErrConflict, maxUpdateTries)
}

// applyUserUpdate runs a caller's update on u, keeping what may not
// change.
func applyUserUpdate(u *User, update func(u *User) error) error {
	id, name, created := u.ID, u.Name, u.CreatedAt
	if err := update(u); err != nil {
		return err
	}
	if u.ID != id || u.Name != name {
		return fmt.Errorf("%w: a user's id and name cannot change", ErrInvalid)
	}
	u.CreatedAt = created
	return nil
}

// UserByName implements Store through the name bucket.
func (s *JetStream) UserByName(ctx context.Context, name string) (User, error) {
	if err := validName("user name", name, MaxUserNameLen); err != nil {
		return User{}, fmt.Errorf("store: user by name: %w", err)
	}
	id, err := s.getString(ctx, s.names, userNameKey(name))
	if err != nil {
		return User{}, fmt.Errorf("store: user by name %q: %w", name, err)
	}
	return s.User(ctx, id)
}
