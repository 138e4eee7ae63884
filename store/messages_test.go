package store_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/subjects"
)

// stored is what a test expects of a stored message.
type stored struct {
	seq uint64
	id  string
}

// fill publishes perChat messages to each chat, interleaved round robin,
// and returns what each chat holds in order.
func fill(t testing.TB, st store.Store, chats []string, perChat int) map[string][]stored {
	t.Helper()
	ctx := testCtx(t)
	want := make(map[string][]stored)
	var last uint64
	for range perChat {
		for _, c := range chats {
			id := fmt.Sprintf("%s-m%d", c, msgCounter.Add(1))
			seq, dup, err := st.PublishMessage(ctx, store.Message{ChatID: c, ID: id, UserID: "u1", DeviceID: "d1", Text: "text " + id})
			if err != nil || dup || seq <= last {
				t.Fatalf("publish %s = %d dup=%v %v (last %d)", id, seq, dup, err, last)
			}
			last = seq
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
	if p.After > 0 {
		return sel[:min(limit, len(sel))]
	}
	return sel[max(0, len(sel)-limit):]
}

func TestMessagesPages(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	chats := []string{"a", "b", "c"}
	want := fill(t, e.st, chats, 200)
	// A sparse chat: three messages far apart among the others.
	want2 := fill(t, e.st, []string{"sparse"}, 1)
	want["a"] = append(want["a"], fill(t, e.st, chats[:1], 300)["a"]...)
	more := fill(t, e.st, []string{"sparse"}, 2)
	want["sparse"] = append(want2["sparse"], more["sparse"]...)
	chats = append(chats, "sparse")

	for _, c := range chats {
		all := want[c]
		first, last := all[0].seq, all[len(all)-1].seq
		pages := []store.Page{
			{}, {Limit: 1}, {Limit: 7}, {Limit: 200}, {Limit: store.MaxPageLimit},
			{After: 1}, {After: first}, {After: first - 1, Limit: 3}, {After: all[len(all)/2].seq, Limit: 17},
			{After: last - 1, Limit: 10}, {After: last}, {After: last + 100},
			{Before: last + 1}, {Before: last, Limit: 5}, {Before: all[len(all)/2].seq + 1, Limit: 33},
			{Before: first + 1}, {Before: first}, {Before: 1}, {Before: 2, Limit: 10},
			{Before: all[min(4, len(all)-1)].seq, Limit: 10}, {Before: last + 1000, Limit: 1000},
		}
		for _, p := range pages {
			got, err := e.st.Messages(ctx, c, p)
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
		if got, err := e.st.LastSeq(ctx, c); err != nil || got != last {
			t.Fatalf("LastSeq(%s) = %d, %v; want %d", c, got, err, last)
		}
	}
	if got, err := e.st.LastSeq(ctx, "none"); err != nil || got != 0 {
		t.Fatalf("LastSeq(none) = %d, %v", got, err)
	}
	if got, err := e.st.Messages(ctx, "none", store.Page{}); err != nil || len(got) != 0 {
		t.Fatalf("Messages(none) = %v, %v", got, err)
	}
	for _, p := range []store.Page{{Limit: -1}, {Limit: store.MaxPageLimit + 1}, {Before: 5, After: 1}} {
		if _, err := e.st.Messages(ctx, "a", p); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("Messages(%+v) = %v, want ErrInvalid", p, err)
		}
	}
	if _, err := e.st.Messages(ctx, "a.b", store.Page{}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("Messages(a.b) = %v", err)
	}
}

func TestPublishDuplicate(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	m := store.Message{ChatID: "c1", ID: "client-id-1", UserID: "u1", Text: "once"}
	seq, dup, err := e.st.PublishMessage(ctx, m)
	if err != nil || dup {
		t.Fatalf("first publish = %d %v %v", seq, dup, err)
	}
	if _, _, err := e.st.PublishMessage(ctx, store.Message{ChatID: "c1", ID: "other", UserID: "u1", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	m.Text = "twice" // a resend carries the same id; the first body wins
	seq2, dup, err := e.st.PublishMessage(ctx, m)
	if err != nil || !dup || seq2 != seq {
		t.Fatalf("second publish = %d dup=%v %v; want %d dup", seq2, dup, err, seq)
	}
	got := must[[]store.Message](t)(e.st.Messages(ctx, "c1", store.Page{}))
	if len(got) != 2 || got[0].ID != m.ID || got[0].Text != "once" || got[0].Seq != seq {
		t.Fatalf("stored %+v", got)
	}
	tests := []store.Message{
		{ChatID: "c1", ID: "x", UserID: "u1", Text: " \n"},
		{ChatID: "c 1", ID: "x", UserID: "u1", Text: "t"},
		{ChatID: "c1", ID: "", UserID: "u1", Text: "t"},
		{ChatID: "c1", ID: "x", UserID: "", Text: "t"},
		{ChatID: "c1", ID: "x", UserID: "u1", DeviceID: "d.1", Text: "t"},
	}
	for _, m := range tests {
		if _, _, err := e.st.PublishMessage(ctx, m); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("PublishMessage(%+v) = %v, want ErrInvalid", m, err)
		}
	}
}

// TestPublishRetriesUntilStreamExists shows a publish that finds no stream
// (as during a leader election) is retried with the same id until it is
// stored, and gives up when ctx ends.
func TestPublishRetriesUntilStreamExists(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	if err := e.st.JetStream().DeleteStream(ctx, subjects.StreamMessages); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := e.st.PublishMessage(ctx, store.Message{ChatID: "c1", ID: "m1", UserID: "u1", Text: "t"})
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	if _, err := store.Open(ctx, e.nc, store.Config{}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("publish across a missing stream: %v", err)
	}
	if n, err := e.st.LastSeq(ctx, "c1"); err != nil || n != 1 {
		t.Fatalf("LastSeq = %d, %v", n, err)
	}

	if err := e.st.JetStream().DeleteStream(ctx, subjects.StreamMessages); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, e.nc, store.Config{PublishRetries: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.JetStream().DeleteStream(ctx, subjects.StreamMessages); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.PublishMessage(ctx, store.Message{ChatID: "c1", ID: "m2", UserID: "u1", Text: "t"}); err == nil {
		t.Fatal("publish with no stream and 2 retries succeeded")
	}
}

// TestDecodeLivePrevSeq proves what the node's gap detection relies on:
// the RePublish copy's Nats-Last-Sequence is the previous sequence of the
// same chat (0 for its first message), not the stream's previous sequence,
// and a duplicate publish is not republished.
func TestDecodeLivePrevSeq(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	sub, err := e.nc.SubscribeSync(subjects.LiveChatWildcard)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	order := []string{"a", "a", "b", "a", "c", "b", "b", "a", "c"}
	prev := map[string]uint64{}
	for i, c := range order {
		m := store.Message{ChatID: c, ID: fmt.Sprintf("m%d", i), UserID: "u1", UserName: "Alice", Text: fmt.Sprintf("t%d", i)}
		seq, _, err := e.st.PublishMessage(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := sub.NextMsg(5 * time.Second)
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
		if got.ChatID != c || got.Seq != seq || got.ID != m.ID || got.Text != m.Text || got.UserName != "Alice" {
			t.Fatalf("decoded %+v, want %+v seq %d", got, m, seq)
		}
		if prevSeq != prev[c] {
			t.Fatalf("message %d in %s: Nats-Last-Sequence %d, want previous of the chat %d (headers %v)",
				i, c, prevSeq, prev[c], msg.Header)
		}
		prev[c] = seq
	}
	// A duplicate is acknowledged but not republished.
	if _, dup, err := e.st.PublishMessage(ctx, store.Message{ChatID: "a", ID: "m0", UserID: "u1", Text: "t0"}); err != nil || !dup {
		t.Fatalf("duplicate publish: %v %v", dup, err)
	}
	if msg, err := sub.NextMsg(200 * time.Millisecond); !errors.Is(err, nats.ErrTimeout) {
		t.Fatalf("duplicate republished: %v %v", msg, err)
	}

	bad := []*nats.Msg{
		{Subject: "live.chat.a", Data: []byte(`{}`)}, // no headers
		{Subject: "live.chat.b", Data: []byte(`{"id":"x"}`), Header: nats.Header{
			"Nats-Subject": {"chat.a.msg"}, "Nats-Sequence": {"3"}, "Nats-Last-Sequence": {"1"}}}, // chat mismatch
		{Subject: "live.chat.a", Data: []byte(`{`), Header: nats.Header{
			"Nats-Subject": {"chat.a.msg"}, "Nats-Sequence": {"3"}, "Nats-Last-Sequence": {"1"}}}, // body
		{Subject: "live.chat.a", Data: []byte(`{}`), Header: nats.Header{
			"Nats-Subject": {"chat.a.msg"}, "Nats-Sequence": {"3"}}}, // no last sequence
	}
	for _, m := range bad {
		if _, _, err := store.DecodeLive(m); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("DecodeLive(%+v) = %v, want ErrInvalid", m, err)
		}
	}
}

func TestMessagesAscending(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	fill(t, e.st, []string{"x"}, 30)
	got := must[[]store.Message](t)(e.st.Messages(ctx, "x", store.Page{Limit: 30}))
	if !slices.IsSortedFunc(got, func(a, b store.Message) int { return int(a.Seq) - int(b.Seq) }) || len(got) != 30 {
		t.Fatalf("not ascending: %v", got)
	}
}

func BenchmarkPublish(b *testing.B) {
	e := newEnv(b)
	ctx := testCtx(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, _, err := e.st.PublishMessage(ctx, store.Message{ChatID: "c1", ID: fmt.Sprintf("m%d", i), UserID: "u1", Text: "hello world"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMessagesAfter(b *testing.B) {
	e := newEnv(b)
	ctx := testCtx(b)
	want := fill(b, e.st, []string{"a", "b"}, 1000)["a"]
	for _, limit := range []int{50, 500} {
		b.Run(fmt.Sprintf("limit=%d", limit), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				after := want[i%(len(want)-limit)].seq
				i++
				got, err := e.st.Messages(ctx, "a", store.Page{After: after, Limit: limit})
				if err != nil || len(got) != limit {
					b.Fatalf("%d %v", len(got), err)
				}
			}
		})
	}
}

// TestPosition: the stream's position is the newest sequence of any chat.
func TestPosition(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	if p, err := e.st.Position(ctx); err != nil || p != 0 {
		t.Fatalf("empty stream position = %d, %v", p, err)
	}
	var last uint64
	for i, chat := range []string{"a", "b", "a"} {
		seq, _, err := e.st.PublishMessage(ctx, store.Message{ChatID: chat, ID: fmt.Sprintf("m%d", i), UserID: "u", Text: "x", PostedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		last = seq
	}
	if p, err := e.st.Position(ctx); err != nil || p != last {
		t.Fatalf("position = %d, %v; want %d", p, err, last)
	}
}

// TestPositionShared: callers that share a position request while
// messages are stored each get a position at least as new as every
// message acked before they called, which is what a device's catch-up
// relies on.
func TestPositionShared(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	var acked atomic.Uint64
	stop := make(chan struct{})
	var pub sync.WaitGroup
	pub.Add(1)
	go func() {
		defer pub.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			seq, _, err := e.st.PublishMessage(ctx, store.Message{ChatID: "a", ID: fmt.Sprintf("m%d", i), UserID: "u", Text: "x", PostedAt: time.Now()})
			if err != nil {
				t.Error(err)
				return
			}
			acked.Store(seq)
		}
	}()
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				before := acked.Load()
				p, err := e.st.Position(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if p < before {
					t.Errorf("position %d older than sequence %d acked before the call", p, before)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	pub.Wait()
}
