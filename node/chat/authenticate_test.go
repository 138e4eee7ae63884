package chat

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/natterchat/natter/node/auth"
	"github.com/natterchat/natter/node/fanout"
	"github.com/natterchat/natter/node/presence"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/store/storetest"
)

// newTestService builds a Service on store.Memory and an embedded NATS
// server.
func newTestService(t *testing.T) (*Service, *store.Memory, *auth.Tokens) {
	t.Helper()
	nc := storetest.Connect(t, storetest.RunServer(t))
	log := slog.New(slog.DiscardHandler)
	mem := store.NewMemory(store.MemoryConfig{Live: nc, Logger: log})
	recent := fanout.NewRecent()
	hub, err := fanout.New(fanout.Config{NodeID: "n1", NC: nc, Store: mem, Recent: recent, Render: Render, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	pv, err := presence.New(presence.Config{NodeID: "n1", NC: nc, Hub: hub, Recent: recent, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.NewTokens("chat-test-secret-0123456789", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Store: mem, NC: nc, Hub: hub, Presence: pv, Recent: recent, Tokens: tokens, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return s, mem, tokens
}

// TestAuthenticate: a token names a live user or is refused as the
// client's fault; storage that cannot answer is not the client's fault,
// and a user found once is not read again.
func TestAuthenticate(t *testing.T) {
	s, mem, tokens := newTestService(t)
	ctx := context.Background()
	if err := mem.CreateUser(ctx, store.User{ID: "alice1", Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	alice, _, _ := tokens.Issue("alice1", "alice", 0)
	ghost, _, _ := tokens.Issue("ghost1", "ghost", 0)
	bob, _, _ := tokens.Issue("bob1", "bob", 0)

	who, exp, err := s.Authenticate(ctx, alice)
	if err != nil || who.ID != "alice1" || who.Name != "alice" {
		t.Fatalf("alice: %+v %v", who, err)
	}
	if d := time.Until(exp); d < 59*time.Minute || d > time.Hour+time.Second {
		t.Errorf("alice's expiry is %v away, want the token's hour", d)
	}

	for name, tc := range map[string]struct {
		token string
		want  error
	}{
		"garbage":      {"garbage", ErrBadToken},
		"tampered":     {alice + "x", ErrBadToken},
		"unknown user": {ghost, ErrUnknownUser},
	} {
		_, _, err := s.Authenticate(ctx, tc.token)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
		if ae := AuthError(err); ae.Code != wire.CodeUnauthorized {
			t.Errorf("%s: code %q, want %q", name, ae.Code, wire.CodeUnauthorized)
		}
	}

	// Storage down: bob (never read) cannot be told apart from a ghost,
	// so the answer is "unavailable", not a 401 that would log him out.
	mem.Fail("User", store.ErrUnavailable)
	_, _, err = s.Authenticate(ctx, bob)
	if err == nil || errors.Is(err, ErrUnknownUser) || errors.Is(err, ErrBadToken) {
		t.Fatalf("bob with storage down: %v, want a storage error", err)
	}
	if ae := AuthError(err); ae.Code != wire.CodeUnavailable {
		t.Errorf("bob with storage down: code %q, want %q", ae.Code, wire.CodeUnavailable)
	}
	// Alice was found before: no read, no failure.
	if _, _, err := s.Authenticate(ctx, alice); err != nil {
		t.Errorf("alice with storage down: %v, want her remembered", err)
	}
	mem.Fail("User", nil)

	// Revoked: her tokens so far are refused, one of the new version is
	// not; the cache does not hide the revocation.
	u, err := s.RevokeTokens(ctx, "alice1", nil)
	if err != nil || u.TokenVersion != 1 {
		t.Fatalf("RevokeTokens = %+v, %v", u, err)
	}
	if _, _, err := s.Authenticate(ctx, alice); !errors.Is(err, ErrRevoked) {
		t.Errorf("alice's old token after revocation: %v, want %v", err, ErrRevoked)
	} else if ae := AuthError(err); ae.Code != wire.CodeUnauthorized {
		t.Errorf("revoked: code %q", ae.Code)
	}
	renewed, _, _ := tokens.Issue("alice1", "alice", u.TokenVersion)
	if _, _, err := s.Authenticate(ctx, renewed); err != nil {
		t.Errorf("alice's new token: %v", err)
	}
}
