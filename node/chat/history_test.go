package chat

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/natterchat/natter/store"
)

// TestHistoryFolds: a page has limit messages however many changes came
// after them, each message with its changes folded in, and the
// tombstones of deleted messages in its range.
func TestHistoryFolds(t *testing.T) {
	s, mem, _ := newTestService(t)
	ctx := context.Background()
	alice := Identity{ID: "alice1", Name: "alice"}
	c := store.Chat{ID: "chat1", Name: "c", Kind: store.Private, CreatedBy: alice.ID}
	if err := mem.CreateChat(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for i := range 5 {
		m, _, err := s.Send(ctx, alice, nil, c, Post{Text: fmt.Sprintf("m%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, m.Seq)
	}
	apply := func(ch Change) {
		t.Helper()
		if _, err := s.Apply(ctx, alice, c, ch); err != nil {
			t.Fatalf("%+v: %v", ch, err)
		}
	}
	// 101 reactions toggled on m0: it ends on.
	for i := range 101 {
		apply(Change{Kind: store.KindReact, Seq: seqs[0], Emoji: "👍", On: i%2 == 0})
	}
	apply(Change{Kind: store.KindEdit, Seq: seqs[4], Text: "m4!"})
	apply(Change{Kind: store.KindDelete, Seq: seqs[1]})

	page := func(p store.Page) string {
		t.Helper()
		got, err := s.History(ctx, alice, c.ID, p)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range got {
			switch {
			case f.Deleted:
				out = append(out, fmt.Sprintf("%d:deleted", f.Seq))
			default:
				out = append(out, fmt.Sprintf("%d:%s%v%v", f.Seq, f.Text, !f.EditedAt.IsZero(), f.Reactions["👍"]))
			}
		}
		return fmt.Sprint(out)
	}
	want := func(p store.Page, w ...string) {
		t.Helper()
		if got := page(p); got != fmt.Sprint(w) {
			t.Errorf("history %+v = %s, want %v", p, got, w)
		}
	}
	m := func(i int, text string, edited bool, r []string) string {
		return fmt.Sprintf("%d:%s%v%v", seqs[i], text, edited, r)
	}
	del1 := fmt.Sprintf("%d:deleted", seqs[1])
	want(store.Page{Limit: 3}, m(2, "m2", false, nil), m(3, "m3", false, nil), m(4, "m4!", true, nil))
	want(store.Page{Limit: 2}, m(3, "m3", false, nil), m(4, "m4!", true, nil))
	want(store.Page{}, m(0, "m0", false, []string{alice.ID}), del1, m(2, "m2", false, nil), m(3, "m3", false, nil), m(4, "m4!", true, nil))
	want(store.Page{Before: seqs[2], Limit: 3}, m(0, "m0", false, []string{alice.ID}), del1)
	want(store.Page{After: seqs[0], Limit: 1}, del1, m(2, "m2", false, nil))
	want(store.Page{Forward: true, Limit: 1}, m(0, "m0", false, []string{alice.ID}))
	want(store.Page{After: seqs[4]})

	// The deleted message is gone from the store, its tombstone stays.
	if _, err := mem.Message(ctx, c.ID, seqs[1]); err == nil {
		t.Fatal("the deleted message is still stored")
	}
	if d, _ := mem.DeletedMessages(ctx, c.ID); !slices.Equal(d, []uint64{seqs[1]}) {
		t.Fatalf("deleted = %v", d)
	}
}
