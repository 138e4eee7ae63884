package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/subjects"
)

// Conformance cases of live copies.

// liveWait bounds the wait for one live copy.
const liveWait = 5 * time.Second

// subscribeLive subscribes nc to every chat's live copies, ready before it
// returns.
func subscribeLive(t *testing.T, nc *nats.Conn) *nats.Subscription {
	t.Helper()
	sub, err := nc.SubscribeSync(subjects.LiveChatWildcard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return sub
}

// testLivePrevSeq proves what the node's gap detection relies on: a live
// copy's previous sequence (Nats-Last-Sequence) is the previous sequence
// of the same chat (0 for its first message), not of the stream, and a
// duplicate publish sends no copy.
func testLivePrevSeq(t *testing.T, st store.Store, nc *nats.Conn) {
	ctx := Ctx(t)
	sub := subscribeLive(t, nc)
	order := []string{"a", "a", "b", "a", "c", "b", "b", "a", "c"}
	prev := map[string]uint64{}
	for i, c := range order {
		m := store.Message{ChatID: c, ID: fmt.Sprintf("m%d", i), UserID: "u1", UserName: "Alice", Text: fmt.Sprintf("t%d", i)}
		seq, _, err := st.PublishMessage(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := sub.NextMsg(liveWait)
		if err != nil {
			t.Fatal(err)
		}
		if msg.Subject != subjects.LiveChat(c) {
			t.Fatalf("copy on %s, want %s", msg.Subject, subjects.LiveChat(c))
		}
		got, prevSeq, err := store.DecodeLive(msg)
		if err != nil {
			t.Fatal(err)
		}
		if got.ChatID != c || got.Seq != seq || got.ID != m.ID || got.Text != m.Text || got.UserName != "Alice" || got.PostedAt.IsZero() {
			t.Fatalf("decoded %+v, want %+v seq %d", got, m, seq)
		}
		if prevSeq != prev[c] {
			t.Fatalf("message %d in %s: previous sequence %d, want previous of the chat %d (headers %v)",
				i, c, prevSeq, prev[c], msg.Header)
		}
		prev[c] = seq
	}
	// A duplicate is acknowledged but not sent again.
	if _, dup, err := st.PublishMessage(ctx, store.Message{ChatID: "a", ID: "m0", UserID: "u1", Text: "t0"}); err != nil || !dup {
		t.Fatalf("duplicate publish: %v %v", dup, err)
	}
	if msg, err := sub.NextMsg(200 * time.Millisecond); !errors.Is(err, nats.ErrTimeout) {
		t.Fatalf("duplicate sent live: %v %v", msg, err)
	}
}

// testLiveOrder: under concurrent publishes each chat's copies arrive in
// sequence order, each naming the one before it, so a receiver that saw
// them all detects no gap.
func testLiveOrder(t *testing.T, st store.Store, nc *nats.Conn) {
	ctx := Ctx(t)
	sub := subscribeLive(t, nc)
	const workers, each = 4, 40
	chats := []string{"a", "b"}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				m := store.Message{ChatID: chats[(w+i)%len(chats)], ID: fmt.Sprintf("w%d-%d", w, i), UserID: "u1", Text: "t"}
				if _, _, err := st.PublishMessage(ctx, m); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	last := map[string]uint64{}
	for range workers * each {
		msg, err := sub.NextMsg(liveWait)
		if err != nil {
			t.Fatalf("after %v: %v", last, err)
		}
		m, prev, err := store.DecodeLive(msg)
		if err != nil {
			t.Fatal(err)
		}
		if prev != last[m.ChatID] || m.Seq <= prev {
			t.Fatalf("chat %s: copy of %d names %d as previous, the last copy received was %d", m.ChatID, m.Seq, prev, last[m.ChatID])
		}
		last[m.ChatID] = m.Seq
	}
	for _, c := range chats {
		if n := Must[uint64](t)(st.LastSeq(ctx, c)); n != last[c] {
			t.Fatalf("chat %s: last copy %d, LastSeq %d", c, last[c], n)
		}
	}
}
