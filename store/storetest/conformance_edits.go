package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/natterchat/natter/store"
)

// Conformance cases of entries that change messages: reading one entry,
// erasing, the message states and the deletion markers.

// testEntries: an entry is read back by its sequence in its own chat
// only, with its kind and reply; invalid entries are refused; erased
// entries are gone from pages and reads, and erasing again is fine.
func testEntries(t *testing.T, st store.Store) {
	ctx := Ctx(t)
	must := Must[uint64](t)
	pub := func(m store.Message) uint64 {
		t.Helper()
		seq, _, err := st.PublishMessage(ctx, m)
		return must(seq, err)
	}
	m1 := pub(store.Message{ChatID: "c1", ID: "e-m1", UserID: "u1", Text: "first"})
	other := pub(store.Message{ChatID: "c2", ID: "e-o1", UserID: "u1", Text: "elsewhere"})
	reply := pub(store.Message{ChatID: "c1", ID: "e-m2", UserID: "u2", Text: "re", ReplyTo: &store.Reply{Seq: m1, UserID: "u1", Excerpt: "first"}})
	edit := pub(store.Message{ChatID: "c1", ID: "e-e1", UserID: "u1", Kind: store.KindEdit, Target: m1, Text: "first!"})
	react := pub(store.Message{ChatID: "c1", ID: "e-r1", UserID: "u2", Kind: store.KindReact, Target: m1, Emoji: "👍", On: true})

	got, err := st.Message(ctx, "c1", reply)
	if err != nil || got.Seq != reply || got.ChatID != "c1" || got.ReplyTo == nil || got.ReplyTo.Seq != m1 || got.ReplyTo.Excerpt != "first" {
		t.Fatalf("Message(reply) = %+v, %v", got, err)
	}
	if got, err := st.Message(ctx, "c1", edit); err != nil || got.Kind != store.KindEdit || got.Target != m1 || got.Text != "first!" {
		t.Fatalf("Message(edit) = %+v, %v", got, err)
	}
	if _, err := st.Message(ctx, "c1", other); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another chat's entry: %v, want ErrNotFound", err)
	}
	if _, err := st.Message(ctx, "c1", react+1000); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no entry: %v, want ErrNotFound", err)
	}
	for _, bad := range []store.Message{
		{ChatID: "c1", ID: "e-b1", UserID: "u1", Kind: store.KindEdit, Target: m1},                         // no text
		{ChatID: "c1", ID: "e-b2", UserID: "u1", Kind: store.KindDelete, Target: m1, Text: "x"},            // text
		{ChatID: "c1", ID: "e-b3", UserID: "u1", Kind: store.KindReact, Target: m1},                        // no emoji
		{ChatID: "c1", ID: "e-b4", UserID: "u1", Kind: store.KindDelete},                                   // no target
		{ChatID: "c1", ID: "e-b5", UserID: "u1", Kind: "shout", Target: m1, Text: "x"},                     // kind
		{ChatID: "c1", ID: "e-b6", UserID: "u1", Text: "x", Target: m1},                                    // message with target
		{ChatID: "c1", ID: "e-b7", UserID: "u1", Text: "x", ReplyTo: &store.Reply{}},                       // reply to 0
		{ChatID: "c1", ID: "e-b8", UserID: "u1", Kind: store.KindDelete, Target: m1, Emoji: "👍", On: true}, // reaction
	} {
		if _, _, err := st.PublishMessage(ctx, bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("publish %+v: %v, want ErrInvalid", bad, err)
		}
	}

	if err := st.EraseMessages(ctx, "c1", []uint64{m1, edit, other}); err != nil {
		t.Fatal(err)
	}
	if err := st.EraseMessages(ctx, "c1", []uint64{m1}); err != nil {
		t.Fatalf("erasing again: %v", err)
	}
	if _, err := st.Message(ctx, "c1", m1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("erased entry: %v, want ErrNotFound", err)
	}
	if _, err := st.Message(ctx, "c2", other); err != nil {
		t.Fatalf("another chat's entry was erased: %v", err)
	}
	page, err := st.Messages(ctx, "c1", store.Page{Forward: true})
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, m := range page {
		seqs = append(seqs, m.Seq)
	}
	if !slices.Equal(seqs, []uint64{reply, react}) {
		t.Fatalf("page after erasing = %v, want %v", seqs, []uint64{reply, react})
	}
}

// testMessageStates: a state is created on first update, updated
// atomically by concurrent writers, read back in a batch, and a deleted
// one is listed; an update's error stores nothing.
func testMessageStates(t *testing.T, st store.Store) {
	ctx := Ctx(t)
	if got, err := st.MessageStates(ctx, "c1", []uint64{1, 2}); err != nil || len(got) != 0 {
		t.Fatalf("no states: %v %v", got, err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			e := store.Message{Seq: uint64(10 + i), UserID: "u" + string(rune('a'+i)), Kind: store.KindReact, Emoji: "👍", On: true}
			if _, err := st.UpdateMessageState(ctx, "c1", 5, func(s *store.MessageState) error { s.Apply(&e); return nil }); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	edit := store.Message{Seq: 30, Kind: store.KindEdit, Text: "x", PostedAt: time.Now().UTC().Truncate(time.Millisecond)}
	s7, err := st.UpdateMessageState(ctx, "c1", 7, func(s *store.MessageState) error { s.Apply(&edit); return nil })
	if err != nil || s7.EditSeq != 30 || !s7.EditedAt.Equal(edit.PostedAt) || !slices.Equal(s7.Edits, []uint64{30}) {
		t.Fatalf("edit state = %+v, %v", s7, err)
	}
	boom := errors.New("boom")
	if _, err := st.UpdateMessageState(ctx, "c1", 7, func(s *store.MessageState) error { s.Deleted = true; return boom }); !errors.Is(err, boom) {
		t.Fatalf("failing update: %v", err)
	}
	got, err := st.MessageStates(ctx, "c1", []uint64{5, 6, 7})
	if err != nil || len(got) != 2 || len(got[5].Reactions["👍"]) != 8 || got[7].EditSeq != 30 || got[7].Deleted {
		t.Fatalf("states = %+v, %v", got, err)
	}
	if d, err := st.DeletedMessages(ctx, "c1"); err != nil || len(d) != 0 {
		t.Fatalf("deleted before any deletion: %v %v", d, err)
	}
	for _, seq := range []uint64{9, 7} {
		del := store.Message{Seq: 40 + seq, Kind: store.KindDelete}
		if _, err := st.UpdateMessageState(ctx, "c1", seq, func(s *store.MessageState) error { s.Apply(&del); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if d, err := st.DeletedMessages(ctx, "c1"); err != nil || !slices.Equal(d, []uint64{7, 9}) {
		t.Fatalf("deleted = %v, %v; want [7 9]", d, err)
	}
	if d, err := st.DeletedMessages(ctx, "c2"); err != nil || len(d) != 0 {
		t.Fatalf("another chat's deleted = %v, %v", d, err)
	}
}
