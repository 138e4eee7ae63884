package chat

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/natterchat/natter/node/auth"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// Errors of Authenticate; both are the client's (401, close 4003).
var (
	ErrBadToken    = errors.New("chat: invalid or expired token")
	ErrUnknownUser = errors.New("chat: the token's user does not exist")
)

// knownUsersMax bounds the users a node remembers to exist.
const knownUsersMax = 1 << 16

// knownUsers remembers which users exist, so that checking a token's user
// costs a storage read once per user per node, not once per connect or
// request. Users are never deleted, so a user found once exists.
type knownUsers struct {
	mu    sync.Mutex
	users map[string]struct{} // guarded by mu
}

func (k *knownUsers) has(id string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, ok := k.users[id]
	return ok
}

func (k *knownUsers) add(id string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.users == nil || len(k.users) >= knownUsersMax {
		k.users = make(map[string]struct{})
	}
	k.users[id] = struct{}{}
}

// Authenticate turns a token into the identity it names and its expiry:
// its signature and expiry must hold, and its user must exist (a correctly
// signed token of a user never registered is refused). ErrBadToken and
// ErrUnknownUser are the client's; any other error is storage's. Reading
// the user is bounded by the request timeout.
func (s *Service) Authenticate(ctx context.Context, token string) (Identity, time.Time, error) {
	c, err := s.cfg.Tokens.Verify(token)
	if err != nil {
		if errors.Is(err, auth.ErrBadToken) {
			return Identity{}, time.Time{}, ErrBadToken
		}
		return Identity{}, time.Time{}, fmt.Errorf("verify token: %w", err)
	}
	if !s.known.has(c.UserID) {
		// Bounded here, not by the caller: most checks read nothing, and
		// a context with a timer is the check's costliest allocation.
		ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
		defer cancel()
		if _, err := s.cfg.Store.User(ctx, c.UserID); err != nil {
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
				return Identity{}, time.Time{}, ErrUnknownUser
			}
			return Identity{}, time.Time{}, fmt.Errorf("read the token's user: %w", err)
		}
		s.known.add(c.UserID)
	}
	return Identity{ID: c.UserID, Name: c.Name}, c.Expiry, nil
}

// AuthError is the coded error of a failed Authenticate for a client.
func AuthError(err error) *wire.Error {
	switch {
	case errors.Is(err, ErrBadToken):
		return wire.Errorf(wire.CodeUnauthorized, "invalid or expired token")
	case errors.Is(err, ErrUnknownUser):
		return wire.Errorf(wire.CodeUnauthorized, "the token's user does not exist")
	default:
		return ClientError(err)
	}
}
