package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/natterchat/natter/store"
)

// Conformance cases of read markers and unread counts.

// testReadMarkers: a marker is created, moves only forward, is listed by
// user and by chat, and refuses bad arguments.
func testReadMarkers(t *testing.T, st store.Store) {
	ctx := Ctx(t)
	m, moved, err := st.MarkRead(ctx, "c1", "u1", 5)
	if err != nil || !moved || m.Seq != 5 || m.ChatID != "c1" || m.UserID != "u1" || m.At.IsZero() {
		t.Fatalf("first MarkRead = %+v, %v, %v", m, moved, err)
	}
	if m, moved, err = st.MarkRead(ctx, "c1", "u1", 3); err != nil || moved || m.Seq != 5 {
		t.Fatalf("MarkRead backwards = %+v, %v, %v; want the marker at 5, not moved", m, moved, err)
	}
	if m, moved, err = st.MarkRead(ctx, "c1", "u1", 5); err != nil || moved || m.Seq != 5 {
		t.Fatalf("MarkRead again = %+v, %v, %v; want not moved", m, moved, err)
	}
	if m, moved, err = st.MarkRead(ctx, "c1", "u1", 9); err != nil || !moved || m.Seq != 9 {
		t.Fatalf("MarkRead forward = %+v, %v, %v", m, moved, err)
	}
	Must[store.ReadMarker](t)(func() (store.ReadMarker, error) { m, _, err := st.MarkRead(ctx, "c1", "u2", 2); return m, err }())
	Must[store.ReadMarker](t)(func() (store.ReadMarker, error) { m, _, err := st.MarkRead(ctx, "c2", "u1", 7); return m, err }())

	byUser := Must[map[string]store.ReadMarker](t)(st.ReadMarkers(ctx, "u1", []string{"c1", "c2", "c3"}))
	if len(byUser) != 2 || byUser["c1"].Seq != 9 || byUser["c2"].Seq != 7 {
		t.Fatalf("ReadMarkers(u1) = %+v", byUser)
	}
	if got := Must[map[string]store.ReadMarker](t)(st.ReadMarkers(ctx, "u3", []string{"c1"})); len(got) != 0 {
		t.Fatalf("ReadMarkers of a user without markers = %+v", got)
	}
	if got := Must[map[string]store.ReadMarker](t)(st.ReadMarkers(ctx, "u1", nil)); len(got) != 0 {
		t.Fatalf("ReadMarkers of no chats = %+v", got)
	}
	byChat := Must[[]store.ReadMarker](t)(st.ChatReadMarkers(ctx, "c1"))
	seqs := map[string]uint64{}
	for _, m := range byChat {
		seqs[m.UserID] = m.Seq
	}
	if len(byChat) != 2 || seqs["u1"] != 9 || seqs["u2"] != 2 {
		t.Fatalf("ChatReadMarkers(c1) = %+v", byChat)
	}

	bad := map[string]func() error{
		"MarkRead seq 0":      func() error { _, _, err := st.MarkRead(ctx, "c1", "u1", 0); return err },
		"MarkRead chat":       func() error { _, _, err := st.MarkRead(ctx, "c.1", "u1", 1); return err },
		"MarkRead user":       func() error { _, _, err := st.MarkRead(ctx, "c1", "", 1); return err },
		"ReadMarkers user":    func() error { _, err := st.ReadMarkers(ctx, "u*", nil); return err },
		"ReadMarkers chat":    func() error { _, err := st.ReadMarkers(ctx, "u1", []string{"c1", "a b"}); return err },
		"ChatReadMarkers":     func() error { _, err := st.ChatReadMarkers(ctx, "a>"); return err },
		"LastSeqs":            func() error { _, err := st.LastSeqs(ctx, []string{"ok", "not ok"}); return err },
		"CountUnread chat":    func() error { _, _, err := st.CountUnread(ctx, "", "u1", 0); return err },
		"CountUnread user id": func() error { _, _, err := st.CountUnread(ctx, "c1", "u.1", 0); return err },
	}
	for name, call := range bad {
		if err := call(); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s = %v, want ErrInvalid", name, err)
		}
	}
}

// testReadMarkerRace: concurrent MarkReads of one marker leave it at the
// highest sequence any of them asked for.
func testReadMarkerRace(t *testing.T, st store.Store) {
	ctx := Ctx(t)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 1; i <= 20; i++ {
		wg.Add(1)
		go func(seq uint64) {
			defer wg.Done()
			if _, _, err := st.MarkRead(ctx, "c1", "u1", seq); err != nil {
				errs <- err
			}
		}(uint64(i))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := Must[map[string]store.ReadMarker](t)(st.ReadMarkers(ctx, "u1", []string{"c1"}))
	if got["c1"].Seq != 20 {
		t.Fatalf("marker after racing MarkReads = %d, want 20", got["c1"].Seq)
	}
}

// testUnreadCounts: LastSeqs per chat, and CountUnread counting others'
// messages after a sequence.
func testUnreadCounts(t *testing.T, st store.Store) {
	ctx := Ctx(t)
	publish := func(chat, user string, i int) uint64 {
		t.Helper()
		seq, _, err := st.PublishMessage(ctx, store.Message{ChatID: chat, ID: fmt.Sprintf("%s-%s-%d", chat, user, i), UserID: user, Text: "hi"})
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}
	var seqs []uint64
	var otherLast uint64
	for i := range 6 {
		user := "u2"
		if i%3 == 0 {
			user = "u1" // messages 0 and 3 are u1's own
		}
		seqs = append(seqs, publish("c1", user, i))
		otherLast = publish("other", "u2", i)
	}
	last := Must[map[string]uint64](t)(st.LastSeqs(ctx, []string{"c1", "other", "empty"}))
	if len(last) != 2 || last["c1"] != seqs[5] || last["other"] != otherLast {
		t.Fatalf("LastSeqs = %v, want c1 %d and other %d", last, seqs[5], otherLast)
	}
	cases := []struct {
		after uint64
		n     uint64
	}{{0, 4}, {seqs[0], 4}, {seqs[1], 3}, {seqs[3], 2}, {seqs[4], 1}, {seqs[5], 0}, {seqs[5] + 100, 0}}
	for _, c := range cases {
		n, l, err := st.CountUnread(ctx, "c1", "u1", c.after)
		wantLast := max(seqs[5], c.after)
		if err != nil || n != c.n || l != wantLast {
			t.Errorf("CountUnread(after %d) = %d, %d, %v; want %d, %d", c.after, n, l, err, c.n, wantLast)
		}
	}
	if n, l, err := st.CountUnread(ctx, "empty", "u1", 0); err != nil || n != 0 || l != 0 {
		t.Errorf("CountUnread of an empty chat = %d, %d, %v", n, l, err)
	}
	// Another user's reaction and edit are entries of the chat (its last
	// seq moves) but no unread messages.
	react, _, err := st.PublishMessage(ctx, store.Message{ChatID: "c1", ID: "c1-react", UserID: "u2", Kind: store.KindReact, Target: seqs[1], Emoji: "👍", On: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.PublishMessage(ctx, store.Message{ChatID: "c1", ID: "c1-edit", UserID: "u2", Kind: store.KindEdit, Target: seqs[1], Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	if n, l, err := st.CountUnread(ctx, "c1", "u1", seqs[5]); err != nil || n != 0 || l <= react {
		t.Errorf("CountUnread after a reaction and an edit = %d, %d, %v; want 0 unread, last past %d", n, l, err, react)
	}
}

// testUnreadPastScan: past MaxUnreadScan messages the count goes on,
// counting the rest whoever sent them.
func testUnreadPastScan(t *testing.T, st store.Store) {
	ctx := Ctx(t)
	total := store.MaxUnreadScan + 50
	var last uint64
	for i := range total {
		user := "u2"
		if i < 10 || i >= total-10 {
			user = "u1" // 10 own in the scan, 10 past it
		}
		seq, _, err := st.PublishMessage(ctx, store.Message{ChatID: "big", ID: fmt.Sprintf("m%d", i), UserID: user, Text: "x"})
		if err != nil {
			t.Fatal(err)
		}
		last = seq
	}
	n, l, err := st.CountUnread(ctx, "big", "u1", 0)
	if err != nil || n != uint64(total-10) || l != last {
		t.Fatalf("CountUnread = %d, %d, %v; want %d, %d", n, l, err, total-10, last)
	}
}
