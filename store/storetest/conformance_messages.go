package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/natterchat/natter/store"
)

// Conformance cases of messages, pages, sequences and the stream position.

// stored is what a test expects of a stored message.
type stored struct {
	seq uint64
	id  string
}

// fill publishes perChat messages to each chat, interleaved round robin,
// and returns what each chat holds in order.
func fill(t testing.TB, st store.Store, chats []string, perChat int) map[string][]stored {
	t.Helper()
	ctx := Ctx(t)
	want := make(map[string][]stored)
	last := make(map[string]uint64) // of each chat: sequences increase within one
	for range perChat {
		for _, c := range chats {
			id := fmt.Sprintf("%s-m%d", c, msgCounter.Add(1))
			seq, dup, err := st.PublishMessage(ctx, store.Message{ChatID: c, ID: id, UserID: "u1", DeviceID: "d1", Text: "text " + id})
			if err != nil || dup || seq <= last[c] {
				t.Fatalf("publish %s = %d dup=%v %v (last %d)", id, seq, dup, err, last[c])
			}
			last[c] = seq
			want[c] = append(want[c], stored{seq, id})
		}
	}
	return want
}

// msgCounter makes message ids unique across fill calls.
var msgCounter atomic.Int64

// expect is the reference page: the same selection done on a slice.
func expect(all []stored, p store.Page) []stored {
	limit := p.Limit
	if limit == 0 {
		limit = store.DefaultPageLimit
	}
	var sel []stored
	for _, m := range all {
		if (p.After == 0 || m.seq > p.After) && (p.Before == 0 || m.seq < p.Before) {
			sel = append(sel, m)
		}
	}
	if p.After > 0 || p.Forward {
		return sel[:min(limit, len(sel))]
	}
	return sel[max(0, len(sel)-limit):]
}

func testMessagePages(t *testing.T, st store.Store) {
	ctx := Ctx(t)
	chats := []string{"a", "b", "c"}
	want := fill(t, st, chats, 200)
	// A sparse chat: three messages far apart among the others.
	want2 := fill(t, st, []string{"sparse"}, 1)
	want["a"] = append(want["a"], fill(t, st, chats[:1], 300)["a"]...)
	more := fill(t, st, []string{"sparse"}, 2)
	want["sparse"] = append(want2["sparse"], more["sparse"]...)
	chats = append(chats, "sparse")

	for _, c := range chats {
		all := want[c]
		first, last := all[0].seq, all[len(all)-1].seq
		pages := []store.Page{
			{}, {Limit: 1}, {Limit: 7}, {Limit: 200}, {Limit: store.MaxPageLimit},
			{After: 1}, {After: first}, {After: first - 1, Limit: 3}, {After: all[len(all)/2].seq, Limit: 17},
			{After: last - 1, Limit: 10}, {After: last}, {After: last + 100},
			{Forward: true}, {Forward: true, Limit: 7}, {After: first, Forward: true, Limit: 3},
			{Before: last + 1}, {Before: last, Limit: 5}, {Before: all[len(all)/2].seq + 1, Limit: 33},
			{Before: first + 1}, {Before: first}, {Before: 1}, {Before: 2, Limit: 10},
			{Before: all[min(4, len(all)-1)].seq, Limit: 10}, {Before: last + 1000, Limit: 1000},
		}
		for _, p := range pages {
			got, err := st.Messages(ctx, c, p)
			if err != nil {
				t.Fatalf("%s %+v: %v", c, p, err)
			}
			exp := expect(all, p)
			if len(got) != len(exp) {
				t.Fatalf("%s %+v: got %d messages, want %d", c, p, len(got), len(exp))
			}
			for i, m := range got {
				if m.Seq != exp[i].seq || m.ID != exp[i].id || m.ChatID != c || m.Text != "text "+m.ID ||
					m.UserID != "u1" || m.DeviceID != "d1" || m.PostedAt.IsZero() {
					t.Fatalf("%s %+v: [%d] = %+v, want %+v", c, p, i, m, exp[i])
				}
			}
		}
		if got, err := st.LastSeq(ctx, c); err != nil || got != last {
			t.Fatalf("LastSeq(%s) = %d, %v; want %d", c, got, err, last)
		}
	}
	if got, err := st.LastSeq(ctx, "none"); err != nil || got != 0 {
		t.Fatalf("LastSeq(none) = %d, %v", got, err)
	}
	if got, err := st.Messages(ctx, "none", store.Page{}); err != nil || len(got) != 0 {
		t.Fatalf("Messages(none) = %v, %v", got, err)
	}
	for _, p := range []store.Page{{Limit: -1}, {Limit: store.MaxPageLimit + 1}, {Before: 5, After: 1}, {Before: 5, Forward: true}} {
		if _, err := st.Messages(ctx, "a", p); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("Messages(%+v) = %v, want ErrInvalid", p, err)
		}
	}
	if _, err := st.Messages(ctx, "a.b", store.Page{}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("Messages(a.b) = %v", err)
	}
}

func testPublishDuplicate(t *testing.T, st store.Store) {
	ctx := Ctx(t)
	posted := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)
	m := store.Message{ChatID: "c1", ID: "client-id-1", UserID: "u1", UserName: "Alice", Text: "once", PostedAt: posted}
	seq, dup, err := st.PublishMessage(ctx, m)
	if err != nil || dup {
		t.Fatalf("first publish = %d %v %v", seq, dup, err)
	}
	if _, _, err := st.PublishMessage(ctx, store.Message{ChatID: "c1", ID: "other", UserID: "u1", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	last := Must[uint64](t)(st.LastSeq(ctx, "c1"))
	m.Text = "twice" // a resend carries the same id; the first body wins
	seq2, dup, err := st.PublishMessage(ctx, m)
	if err != nil || !dup || seq2 != seq {
		t.Fatalf("second publish = %d dup=%v %v; want %d dup", seq2, dup, err, seq)
	}
	got := Must[[]store.Message](t)(st.Messages(ctx, "c1", store.Page{}))
	if len(got) != 2 || got[0].ID != m.ID || got[0].Text != "once" || got[0].Seq != seq ||
		got[0].UserName != "Alice" || !got[0].PostedAt.Equal(posted) {
		t.Fatalf("stored %+v", got)
	}
	if n := Must[uint64](t)(st.LastSeq(ctx, "c1")); n != last {
		t.Fatalf("LastSeq after a duplicate = %d, want %d", n, last)
	}
	// The dedup id is the message id over all chats, as it is over the
	// whole stream: the same id in another chat is the first message.
	seq3, dup, err := st.PublishMessage(ctx, store.Message{ChatID: "c2", ID: m.ID, UserID: "u1", Text: "elsewhere"})
	if err != nil || !dup || seq3 != seq {
		t.Fatalf("same id in another chat = %d dup=%v %v; want %d dup", seq3, dup, err, seq)
	}
	if n := Must[uint64](t)(st.LastSeq(ctx, "c2")); n != 0 {
		t.Fatalf("LastSeq(c2) = %d; a duplicate was stored", n)
	}
	tests := []store.Message{
		{ChatID: "c1", ID: "x", UserID: "u1", Text: " \n"},
		{ChatID: "c 1", ID: "x", UserID: "u1", Text: "t"},
		{ChatID: "c1", ID: "", UserID: "u1", Text: "t"},
		{ChatID: "c1", ID: "x", UserID: "", Text: "t"},
		{ChatID: "c1", ID: "x", UserID: "u1", DeviceID: "d.1", Text: "t"},
	}
	for _, m := range tests {
		if _, _, err := st.PublishMessage(ctx, m); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("PublishMessage(%+v) = %v, want ErrInvalid", m, err)
		}
	}
}

// streamSeq is a sequence in one message stream (a partition).
type streamSeq struct {
	part int
	seq  uint64
}

// testConcurrentSequences: concurrent publishes to several chats get
// distinct sequences within each message stream, and each chat lists
// exactly its own messages in ascending order.
func testConcurrentSequences(t *testing.T, st store.Store) {
	ctx := Ctx(t)
	const workers, each = 4, 30
	chats := []string{"a", "b", "c"}
	k := len(Must[store.Position](t)(st.Position(ctx)))
	var (
		mu   sync.Mutex
		seqs = make(map[streamSeq]string) // seq -> chat
		wg   sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				c := chats[(w+i)%len(chats)]
				seq, dup, err := st.PublishMessage(ctx, store.Message{ChatID: c, ID: fmt.Sprintf("w%d-%d", w, i), UserID: "u1", Text: "t"})
				if err != nil || dup {
					t.Errorf("publish = %d dup=%v %v", seq, dup, err)
					return
				}
				mu.Lock()
				key := streamSeq{store.Partition(c, k), seq}
				if other, ok := seqs[key]; ok {
					t.Errorf("sequence %d given twice (%s, %s)", seq, other, c)
				}
				seqs[key] = c
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	p := Must[store.Position](t)(st.Position(ctx))
	for _, c := range chats {
		if want := highestAlike(p, seqs, c); p.Of(c) != want {
			t.Fatalf("Position of %s = %d, want the highest sequence of its stream %d", c, p.Of(c), want)
		}
	}
	total := 0
	for _, c := range chats {
		got := Must[[]store.Message](t)(st.Messages(ctx, c, store.Page{Forward: true, Limit: store.MaxPageLimit}))
		for i, m := range got {
			key := streamSeq{store.Partition(c, k), m.Seq}
			if seqs[key] != c || (i > 0 && m.Seq <= got[i-1].Seq) {
				t.Fatalf("chat %s: [%d] = seq %d (of chat %q)", c, i, m.Seq, seqs[key])
			}
		}
		total += len(got)
	}
	if total != workers*each {
		t.Fatalf("chats list %d messages, want %d", total, workers*each)
	}
}

// highestAlike returns the highest of seqs given in chat's stream: a
// position is the newest sequence of any chat of the stream.
func highestAlike(p store.Position, seqs map[streamSeq]string, chat string) uint64 {
	part := store.Partition(chat, len(p))
	var highest uint64
	for key := range seqs {
		if key.part == part {
			highest = max(highest, key.seq)
		}
	}
	return highest
}

// testPosition: a chat's position is the newest sequence of any chat of
// its stream.
func testPosition(t *testing.T, st store.Store) {
	ctx := Ctx(t)
	chats := []string{"a", "b", "c", "d", "a", "e"}
	p, err := st.Position(ctx)
	if err != nil || len(p) == 0 {
		t.Fatalf("empty stream position = %v, %v", p, err)
	}
	for _, c := range chats {
		if p.Of(c) != 0 {
			t.Fatalf("empty stream position of %s = %d", c, p.Of(c))
		}
	}
	seqs := make(map[streamSeq]string)
	for i, chat := range chats {
		seq, _, err := st.PublishMessage(ctx, store.Message{ChatID: chat, ID: fmt.Sprintf("m%d", i), UserID: "u", Text: "x", PostedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		seqs[streamSeq{store.Partition(chat, len(p)), seq}] = chat
	}
	p = Must[store.Position](t)(st.Position(ctx))
	for _, c := range chats {
		if want := highestAlike(p, seqs, c); p.Of(c) != want {
			t.Fatalf("position of %s = %d; want %d", c, p.Of(c), want)
		}
	}
}

// testPositionCoversAcked: callers asking for the position while messages
// are stored each get a position at least as new as every message acked
// before they called, which is what a device's catch-up relies on.
func testPositionCoversAcked(t *testing.T, st store.Store) {
	ctx := Ctx(t)
	var acked atomic.Uint64
	stop := make(chan struct{})
	var pub sync.WaitGroup
	pub.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			seq, _, err := st.PublishMessage(ctx, store.Message{ChatID: "a", ID: fmt.Sprintf("m%d", i), UserID: "u", Text: "x", PostedAt: time.Now()})
			if err != nil {
				t.Error(err)
				return
			}
			acked.Store(seq)
		}
	})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 50 {
				before := acked.Load()
				p, err := st.Position(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if p.Of("a") < before {
					t.Errorf("position %d older than sequence %d acked before the call", p.Of("a"), before)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	pub.Wait()
}
