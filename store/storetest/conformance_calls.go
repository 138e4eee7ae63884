package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/natterchat/natter/store"
)

// Conformance cases that call every method: what each refuses before it
// reaches storage, and what a cancelled call returns.

// testInvalidIDs: every method refuses an id that cannot be a subject
// token, and a name that cannot be one, with ErrInvalid.
func testInvalidIDs(t *testing.T, st store.Store) {
	ctx := Ctx(t)
	calls := map[string]func() error{
		"User":                     func() error { _, err := st.User(ctx, "a.b"); return err },
		"UserByName":               func() error { _, err := st.UserByName(ctx, " "); return err },
		"Chat":                     func() error { _, err := st.Chat(ctx, "a b"); return err },
		"PublicRoom":               func() error { _, err := st.PublicRoom(ctx, ""); return err },
		"EnsurePublicRoom name":    func() error { _, _, err := st.EnsurePublicRoom(ctx, "", "u1"); return err },
		"EnsurePublicRoom creator": func() error { _, _, err := st.EnsurePublicRoom(ctx, "room", "u 1"); return err },
		"AddMember chat":           func() error { _, err := st.AddMember(ctx, store.Member{ChatID: "c*", UserID: "u1"}); return err },
		"AddMember user":           func() error { _, err := st.AddMember(ctx, store.Member{ChatID: "c1", UserID: ""}); return err },
		"RemoveMember":             func() error { _, err := st.RemoveMember(ctx, "c1", "u>"); return err },
		"Member":                   func() error { _, err := st.Member(ctx, "c.1", "u1"); return err },
		"Members":                  func() error { _, err := st.Members(ctx, ""); return err },
		"UserChats":                func() error { _, err := st.UserChats(ctx, strings.Repeat("u", 65)); return err },
		"LastSeq":                  func() error { _, err := st.LastSeq(ctx, "a.b"); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := st.PublicRoom(ctx, "room"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused EnsurePublicRoom created its room: %v", err)
	}
}

// testCanceled: a call with valid arguments and a cancelled ctx fails with
// the context's error. Position is left out: a JetStream call may be
// answered by a request another caller shared before it looked at ctx.
func testCanceled(t *testing.T, st store.Store) {
	ctx, cancel := context.WithCancel(Ctx(t))
	cancel()
	calls := map[string]func() error{
		"CreateUser": func() error { return st.CreateUser(ctx, store.User{ID: "u1", Name: "Alice"}) },
		"User":       func() error { _, err := st.User(ctx, "u1"); return err },
		"UserByName": func() error { _, err := st.UserByName(ctx, "Alice"); return err },
		"CreateChat": func() error {
			return st.CreateChat(ctx, store.Chat{ID: "c1", Name: "c", Kind: store.Private, CreatedBy: "u1"}, nil)
		},
		"Chat":             func() error { _, err := st.Chat(ctx, "c1"); return err },
		"PublicRoom":       func() error { _, err := st.PublicRoom(ctx, "lobby"); return err },
		"EnsurePublicRoom": func() error { _, _, err := st.EnsurePublicRoom(ctx, "lobby", "u1"); return err },
		"AddMember":        func() error { _, err := st.AddMember(ctx, store.Member{ChatID: "c1", UserID: "u1"}); return err },
		"RemoveMember":     func() error { _, err := st.RemoveMember(ctx, "c1", "u1"); return err },
		"Member":           func() error { _, err := st.Member(ctx, "c1", "u1"); return err },
		"Members":          func() error { _, err := st.Members(ctx, "c1"); return err },
		"UserChats":        func() error { _, err := st.UserChats(ctx, "u1"); return err },
		"PublishMessage": func() error {
			_, _, err := st.PublishMessage(ctx, store.Message{ChatID: "c1", ID: "m1", UserID: "u1", Text: "t"})
			return err
		},
		"Messages": func() error { _, err := st.Messages(ctx, "c1", store.Page{}); return err },
		"LastSeq":  func() error { _, err := st.LastSeq(ctx, "c1"); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled ctx = %v, want context.Canceled", name, err)
		}
	}
}
