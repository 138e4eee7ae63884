package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// TestValidName: the cases of user-data names, with the code each gets.
func TestValidName(t *testing.T) {
	for _, c := range []struct {
		name, code string
	}{
		{"#haskell", ""},
		{"emoji 🎉 room", ""},
		{strings.Repeat("é", MaxRoomNameLen), ""},
		{"", wire.CodeMissingField},
		{"   ", wire.CodeMissingField},
		{strings.Repeat("x", MaxRoomNameLen+1), wire.CodeInvalidField},
		{"bad\x00name", wire.CodeInvalidField},
		{"tab\tname", wire.CodeInvalidField},
		{"\xff\xfe", wire.CodeInvalidField},
	} {
		err := ValidName("room", c.name, MaxRoomNameLen)
		code := ""
		if err != nil {
			code = ClientError(err).Code
		}
		if code != c.code {
			t.Errorf("ValidName(%q) = %v, want code %q", c.name, err, c.code)
		}
	}
}

// TestMessageIDScope: a client message id names one message per sender
// and chat: the same id again is the same message, from another sender
// or in another chat a different one.
func TestMessageIDScope(t *testing.T) {
	a := messageID("u1", "c1", "m1")
	if a != messageID("u1", "c1", "m1") {
		t.Fatal("the same client id gave two message ids")
	}
	for _, other := range []string{messageID("u2", "c1", "m1"), messageID("u1", "c2", "m1"), messageID("u1", "c1", "m2")} {
		if other == a {
			t.Fatalf("client id collided across senders, chats or ids: %s", a)
		}
	}
	if x, y := messageID("u1", "c1", ""), messageID("u1", "c1", ""); x == y {
		t.Fatal("sends without a client id got the same message id")
	}
	if DirectChatID("a", "b") != DirectChatID("b", "a") || DirectChatID("a", "b") == DirectChatID("a", "c") {
		t.Fatal("a direct chat id depends on who asks, or two pairs share one")
	}
}

// TestClientError: every error of a chat operation maps to a stable code;
// store failures that are not the client's fault are logged.
func TestClientError(t *testing.T) {
	for _, c := range []struct {
		err    error
		code   string
		logged bool
	}{
		{wire.Errorf(wire.CodeForbidden, "no"), wire.CodeForbidden, false},
		{fmt.Errorf("step: %w", store.ErrNotMember), wire.CodeNotMember, false},
		{fmt.Errorf("step: %w", store.ErrNotFound), wire.CodeChatNotFound, false},
		{fmt.Errorf("step: %w", store.ErrNameTaken), wire.CodeInvalidField, false},
		{fmt.Errorf("step: %w", store.ErrInvalid), wire.CodeInvalidField, false},
		{fmt.Errorf("publish: %w", context.DeadlineExceeded), wire.CodeUnavailable, true},
		{fmt.Errorf("get chat: %w", store.ErrUnavailable), wire.CodeUnavailable, true},
		{&jetstream.APIError{Code: 503, ErrorCode: 10008, Description: "JetStream system temporarily unavailable"}, wire.CodeUnavailable, true},
		{errors.New("disk on fire"), wire.CodeInternal, true},
	} {
		ce := ClientError(c.err)
		if ce.Code != c.code || Logged(ce) != c.logged {
			t.Errorf("ClientError(%v) = %+v (logged %v), want %s (logged %v)", c.err, ce, Logged(ce), c.code, c.logged)
		}
	}
}
