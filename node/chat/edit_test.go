package chat

import (
	"context"
	"errors"
	"testing"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// TestChangeRetriedAfterFailure: a change stored but not folded (its node
// failed in between, which a store switch stands in for) is retried by
// the client with the same clientMsgId: the stream keeps one entry, and
// the state gets the change.
func TestChangeRetriedAfterFailure(t *testing.T) {
	s, mem, _ := newTestService(t)
	ctx := context.Background()
	alice := Identity{ID: "alice1", Name: "alice"}
	c := store.Chat{ID: "chat1", Name: "c", Kind: store.Private, CreatedBy: alice.ID}
	if err := mem.CreateChat(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	m, _, err := s.Send(ctx, alice, nil, c, Post{Text: "helo"})
	if err != nil {
		t.Fatal(err)
	}
	edit := Change{Kind: store.KindEdit, Seq: m.Seq, Text: "hello", ClientMsgID: "e1"}
	boom := errors.New("node died")
	mem.Fail("UpdateMessageState", boom)
	if _, err := s.Apply(ctx, alice, c, edit); !errors.Is(err, boom) {
		t.Fatalf("apply while folding fails: %v", err)
	}
	mem.Fail("UpdateMessageState", nil)
	e, err := s.Apply(ctx, alice, c, edit)
	if err != nil {
		t.Fatal(err)
	}
	page, err := mem.Messages(ctx, c.ID, store.Page{Forward: true})
	if err != nil || len(page) != 2 || page[1].Seq != e.Seq {
		t.Fatalf("stream = %+v, %v; want the message and one edit", page, err)
	}
	h, err := s.History(ctx, alice, c.ID, store.Page{})
	if err != nil || len(h) != 1 || h[0].Text != "hello" || h[0].EditedAt.IsZero() {
		t.Fatalf("history = %+v, %v", h, err)
	}

	// A deletion that stopped before erasing is finished by the retry,
	// which answers message_deleted.
	mem.Fail("EraseMessages", boom)
	if _, err := s.Apply(ctx, alice, c, Change{Kind: store.KindDelete, Seq: m.Seq, ClientMsgID: "d1"}); !errors.Is(err, boom) {
		t.Fatalf("delete while erasing fails: %v", err)
	}
	if _, err := mem.Message(ctx, c.ID, m.Seq); err != nil {
		t.Fatalf("the message should still be there: %v", err)
	}
	mem.Fail("EraseMessages", nil)
	_, err = s.Apply(ctx, alice, c, Change{Kind: store.KindDelete, Seq: m.Seq, ClientMsgID: "d1"})
	if ce := ClientError(err); ce.Code != wire.CodeMessageDeleted {
		t.Fatalf("retried delete: %v", err)
	}
	for _, seq := range []uint64{m.Seq, e.Seq} {
		if _, err := mem.Message(ctx, c.ID, seq); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("entry %d not erased: %v", seq, err)
		}
	}
}

// TestValidEmoji: one emoji, sequences included; nothing else.
func TestValidEmoji(t *testing.T) {
	for _, ok := range []string{"👍", "❤️", "🎉", "👍🏽", "👨‍👩‍👧", "🇫🇷", "✅", "☕"} {
		if err := ValidEmoji(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a", "ok", "1", " ", "👍 ", "<b>", "\u200d", "\ufe0f", "\xff", "👨‍👩‍👧‍👦👨‍👩‍👧‍👦👨‍👩‍👧‍👦"} {
		if err := ValidEmoji(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
