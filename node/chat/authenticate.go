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

// Errors of Authenticate; all are the client's (401, close 4003).
var (
	ErrBadToken    = errors.New("chat: invalid or expired token")
	ErrUnknownUser = errors.New("chat: the token's user does not exist")
	ErrRevoked     = errors.New("chat: the token was revoked")
)

// knownUsersMax bounds the users a node remembers.
const knownUsersMax = 1 << 16

// knownUserTTL is how long a node trusts what it read of a user's token
// version. Revocations reach every node at once as user events; this
// bounds how long a node that missed one (cut off from NATS at that
// moment) accepts a revoked token.
const knownUserTTL = time.Minute

// knownUsers remembers, per user, the token version read from storage,
// so that checking a token costs a storage read once per user per node
// and minute, not once per connect or request.
type knownUsers struct {
	mu    sync.Mutex
	users map[string]knownUser // guarded by mu
}

type knownUser struct {
	version uint32
	until   time.Time
}

// version returns the user's token version if it is known and fresh.
func (k *knownUsers) version(id string, now time.Time) (uint32, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.users[id]
	if !ok || now.After(e.until) {
		return 0, false
	}
	return e.version, true
}

// set records a user's token version; a lower one than known is ignored
// (a read that raced a revocation).
func (k *knownUsers) set(id string, version uint32, now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.users == nil || len(k.users) >= knownUsersMax {
		// Forget everyone rather than track recency: re-reading costs
		// one storage read per user.
		k.users = make(map[string]knownUser)
	}
	if e, ok := k.users[id]; ok && e.version > version && now.Before(e.until) {
		version = e.version
	}
	k.users[id] = knownUser{version: version, until: now.Add(knownUserTTL)}
}

// Authenticate turns a token into the identity it names and its expiry:
// its signature and expiry must hold, its user must exist (a correctly
// signed token of a user never registered is refused), and it must not
// be revoked. ErrBadToken, ErrUnknownUser and ErrRevoked are the
// client's; any other error is storage's. Reading the user is bounded by
// the request timeout.
func (s *Service) Authenticate(ctx context.Context, token string) (Identity, time.Time, error) {
	c, err := s.cfg.Tokens.Verify(token)
	if err != nil {
		if errors.Is(err, auth.ErrBadToken) {
			return Identity{}, time.Time{}, ErrBadToken
		}
		return Identity{}, time.Time{}, fmt.Errorf("verify token: %w", err)
	}
	now := time.Now()
	version, ok := s.known.version(c.UserID, now)
	if !ok {
		// Bounded here, not by the caller: most checks read nothing, and
		// a context with a timer is the check's costliest allocation.
		ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
		defer cancel()
		u, err := s.cfg.Store.User(ctx, c.UserID)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
				return Identity{}, time.Time{}, ErrUnknownUser
			}
			return Identity{}, time.Time{}, fmt.Errorf("read the token's user: %w", err)
		}
		version = u.TokenVersion
		s.known.set(c.UserID, version, now)
	}
	if c.Version < version {
		return Identity{}, time.Time{}, ErrRevoked
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
	case errors.Is(err, ErrRevoked):
		return wire.Errorf(wire.CodeUnauthorized, "the token was revoked (password changed or signed out everywhere); log in again")
	default:
		return ClientError(err)
	}
}
