package chat

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/natterchat/natter/node/wsconn"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/subjects"
)

// Revocation: a user's tokens carry the user's token version at issue;
// raising the version (a password change, "log out everywhere") refuses
// every older token on every node, and closes the user's connections.

// eventRevoked is the user event type of a revocation.
const eventRevoked = "TokensRevoked"

// RevokeTokens raises the user's token version, with change (if not nil)
// applied to the user's record in the same write, and tells every node:
// older tokens are refused from then on and the user's connections are
// closed (4003). It returns the stored user, whose TokenVersion new
// tokens must carry.
func (s *Service) RevokeTokens(ctx context.Context, userID string, change func(u *store.User) error) (store.User, error) {
	u, err := s.cfg.Store.UpdateUser(ctx, userID, func(u *store.User) error {
		if change != nil {
			if err := change(u); err != nil {
				return err
			}
		}
		u.TokenVersion++
		return nil
	})
	if err != nil {
		return store.User{}, fmt.Errorf("revoke tokens: %w", err)
	}
	// This node refuses old tokens at once, whatever NATS does; the
	// others within their cache's minute even if the event is lost.
	s.known.set(userID, u.TokenVersion, time.Now())
	ev := userEvent{Type: eventRevoked, Version: u.TokenVersion}
	if err := s.cfg.NC.Publish(subjects.UserEvents(userID), ev.encode()); err != nil {
		s.cfg.Limiter.Warn("publish revocation failed", slog.String("user", userID), slog.Any("err", err))
	}
	return u, nil
}

// applyRevoked applies a revocation from any node: the version is known
// at once and the user's devices here are closed, whatever their token
// (a device does not keep its token's version; one that connected with a
// new token reconnects with it).
func (s *Service) applyRevoked(userID string, version uint32) {
	if version == 0 {
		s.cfg.Limiter.Warn("bad revocation event", slog.String("user", userID))
		return
	}
	s.known.set(userID, version, time.Now())
	u := s.cfg.Hub.User(userID)
	if u == nil {
		return
	}
	for _, d := range u.Devices(nil) {
		d.Conn().Close(wsconn.ReasonUnauthorized, "signed out: the password changed or the user signed out everywhere")
	}
}
