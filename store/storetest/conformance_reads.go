package storetest

import (
	"errors"
	"fmt"
	"slices"
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
		"MarkRead seq 0":   func() error { _, _, err := st.MarkRead(ctx, "c1", "u1", 0); return err },
		"MarkRead chat":    func() error { _, _, err := st.MarkRead(ctx, "c.1", "u1", 1); return err },
		"MarkRead user":    func() error { _, _, err := st.MarkRead(ctx, "c1", "", 1); return err },
		"ReadMarkers user": func() error { _, err := st.ReadMarkers(ctx, "u*", nil); return err },
		"ReadMarkers chat": func() error { _, err := st.ReadMarkers(ctx, "u1", []string{"c1", "a b"}); return err },
		"ChatReadMarkers":  func() error { _, err := st.ChatReadMarkers(ctx, "a>"); return err },
		"LastSeqs":         func() error { _, err := st.LastSeqs(ctx, []string{"ok", "not ok"}); return err },
		"ScanSenders chat": func() error { _, _, err := st.ScanSenders(ctx, "c.1", 0); return err },
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

// testUnreadCounts: LastSeqs per chat, and ScanSenders telling who
// wrote each entry after a sequence, changes included.
func testUnreadCounts(t *testing.T, st store.Store) {
	ctx := Ctx(t)
	publish := func(m store.Message) uint64 {
		t.Helper()
		seq, _, err := st.PublishMessage(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}
	var seqs []uint64
	var users []string
	var otherLast uint64
	for i := range 6 {
		user := "u2"
		if i%3 == 0 {
			user = "u1"
		}
		seqs = append(seqs, publish(store.Message{ChatID: "c1", ID: fmt.Sprintf("c1-%d", i), UserID: user, Text: "hi"}))
		users = append(users, user)
		otherLast = publish(store.Message{ChatID: "other", ID: fmt.Sprintf("other-%d", i), UserID: "u2", Text: "hi"})
	}
	last := Must[map[string]uint64](t)(st.LastSeqs(ctx, []string{"c1", "other", "empty"}))
	if len(last) != 2 || last["c1"] != seqs[5] || last["other"] != otherLast {
		t.Fatalf("LastSeqs = %v, want c1 %d and other %d", last, seqs[5], otherLast)
	}
	for from := range 7 {
		after := uint64(0)
		if from > 0 {
			after = seqs[from-1]
		}
		ss, rest, err := st.ScanSenders(ctx, "c1", after)
		if err != nil || rest != 0 || len(ss) != 6-from {
			t.Fatalf("ScanSenders(after %d) = %+v, %d, %v; want the %d entries after it", after, ss, rest, err, 6-from)
		}
		for i, s := range ss {
			if want := (store.Sender{Seq: seqs[from+i], User: users[from+i]}); s != want {
				t.Errorf("ScanSenders(after %d)[%d] = %+v, want %+v", after, i, s, want)
			}
		}
	}
	if ss, rest, err := st.ScanSenders(ctx, "empty", 0); err != nil || len(ss) != 0 || rest != 0 {
		t.Errorf("ScanSenders of an empty chat = %+v, %d, %v", ss, rest, err)
	}
	// Changes are entries too, with their kind and target.
	react := publish(store.Message{ChatID: "c1", ID: "c1-react", UserID: "u2", Kind: store.KindReact, Target: seqs[1], Emoji: "👍", On: true})
	edit := publish(store.Message{ChatID: "c1", ID: "c1-edit", UserID: "u2", Kind: store.KindEdit, Target: seqs[1], Text: "hello"})
	ss, rest, err := st.ScanSenders(ctx, "c1", seqs[5])
	want := []store.Sender{{Seq: react, User: "u2", Kind: store.KindReact, Target: seqs[1]}, {Seq: edit, User: "u2", Kind: store.KindEdit, Target: seqs[1]}}
	if err != nil || rest != 0 || !slices.Equal(ss, want) {
		t.Errorf("ScanSenders after a reaction and an edit = %+v, %d, %v; want %+v", ss, rest, err, want)
	}
}

// testUnreadPastScan: a scan stops after MaxUnreadScan entries and tells
// how many follow; the next scan goes on from the last one read.
func testUnreadPastScan(t *testing.T, st store.Store) {
	ctx := Ctx(t)
	total := store.MaxUnreadScan + 50
	var last uint64
	for i := range total {
		seq, _, err := st.PublishMessage(ctx, store.Message{ChatID: "big", ID: fmt.Sprintf("m%d", i), UserID: "u2", Text: "x"})
		if err != nil {
			t.Fatal(err)
		}
		last = seq
	}
	ss, rest, err := st.ScanSenders(ctx, "big", 0)
	if err != nil || len(ss) != store.MaxUnreadScan || rest != 50 {
		t.Fatalf("ScanSenders = %d entries, rest %d, %v; want %d and 50", len(ss), rest, err, store.MaxUnreadScan)
	}
	for i := 1; i < len(ss); i++ {
		if ss[i].Seq <= ss[i-1].Seq || ss[i].User != "u2" {
			t.Fatalf("ScanSenders entry %d = %+v after %+v", i, ss[i], ss[i-1])
		}
	}
	ss, rest, err = st.ScanSenders(ctx, "big", ss[len(ss)-1].Seq)
	if err != nil || len(ss) != 50 || rest != 0 || ss[49].Seq != last {
		t.Fatalf("ScanSenders of the rest = %d entries, rest %d, %v; want 50 ending at %d", len(ss), rest, err, last)
	}
}
