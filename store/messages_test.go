package store_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/store/storetest"
	"github.com/natterchat/natter/subjects"
)

// The contract of messages is storetest's conformance suite; here is what
// is JetStream's own.

// TestPublishRetriesUntilStreamExists shows a publish that finds no stream
// (as during a leader election) is retried with the same id until it is
// stored, and gives up when ctx ends.
func TestPublishRetriesUntilStreamExists(t *testing.T) {
	e := newEnv(t)
	ctx := storetest.Ctx(t)
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

// TestDecodeLiveInvalid: DecodeLive refuses what is not a RePublish copy
// of a stored message on its own chat's subject. (What it decodes from a
// real copy is RunLiveConformance's.)
func TestDecodeLiveInvalid(t *testing.T) {
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

func BenchmarkPublish(b *testing.B) {
	e := newEnv(b)
	ctx := storetest.Ctx(b)
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
	ctx := storetest.Ctx(b)
	var want []uint64 // chat a's sequences, between chat b's
	for i := range 2000 {
		chat := []string{"a", "b"}[i%2]
		seq, _, err := e.st.PublishMessage(ctx, store.Message{ChatID: chat, ID: fmt.Sprintf("m%d", i), UserID: "u1", Text: "hello world"})
		if err != nil {
			b.Fatal(err)
		}
		if chat == "a" {
			want = append(want, seq)
		}
	}
	for _, limit := range []int{50, 500} {
		b.Run(fmt.Sprintf("limit=%d", limit), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				after := want[i%(len(want)-limit)]
				i++
				got, err := e.st.Messages(ctx, "a", store.Page{After: after, Limit: limit})
				if err != nil || len(got) != limit {
					b.Fatalf("%d %v", len(got), err)
				}
			}
		})
	}
}
