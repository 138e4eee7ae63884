package store_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/store/storetest"
	"github.com/natterchat/natter/subjects"
)

// TestDirectGetFacts pins the server behaviour directget.go relies on.
func TestDirectGetFacts(t *testing.T) {
	e := newEnv(t)
	ctx := storetest.Ctx(t)
	s := e.st
	// Seqs 1..20: chat a on odd, chat b on even sequences.
	for i := 1; i <= 20; i++ {
		c := "a"
		if i%2 == 0 {
			c = "b"
		}
		if _, _, err := s.PublishMessage(ctx, store.Message{ChatID: c, ID: fmt.Sprint(i), UserID: "u", Text: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	collect := func(req store.DirectReq) (store.DirectAnswer, error) {
		return s.DirectGet(ctx, subjects.StreamMessages, req)
	}

	t.Run("batch EOB reports pending and last", func(t *testing.T) {
		a, err := collect(store.DirectReq{Seq: 4, NextFor: subjects.ChatMsg("a"), Batch: 3})
		if err != nil || !a.Found || fmt.Sprint(a.Seqs) != "[5 7 9]" || a.Pending != 5 || a.LastSeq != 9 {
			t.Fatalf("answer %+v err %v", a, err)
		}
	})
	t.Run("batch ignores up_to_seq", func(t *testing.T) {
		a, err := collect(store.DirectReq{Seq: 1, NextFor: subjects.ChatMsg("a"), Batch: 4, UpToSeq: 3})
		if err != nil || fmt.Sprint(a.Seqs) != "[1 3 5 7]" {
			t.Fatalf("answer %+v err %v", a, err)
		}
	})
	t.Run("no match is 404", func(t *testing.T) {
		a, err := collect(store.DirectReq{Seq: 21, NextFor: subjects.ChatMsg("a"), Batch: 4})
		if err != nil || a.Found || len(a.Seqs) != 0 {
			t.Fatalf("answer %+v err %v", a, err)
		}
	})
	t.Run("multi_last pins and pages", func(t *testing.T) {
		// Last per subject up to 10: a at 9, b at 10; paged one at a time.
		a, err := collect(store.DirectReq{MultiLast: []string{subjects.ChatMsgWildcard}, UpToSeq: 10, Batch: 1})
		if err != nil || !a.Found || fmt.Sprint(a.Seqs) != "[9]" || a.Pending != 1 || a.UpToSeq != 10 || a.LastSeq != 9 {
			t.Fatalf("first page %+v err %v", a, err)
		}
		a, err = collect(store.DirectReq{MultiLast: []string{subjects.ChatMsgWildcard}, UpToSeq: 10, Batch: 1, Seq: 10})
		if err != nil || fmt.Sprint(a.Seqs) != "[10]" || a.Pending != 0 {
			t.Fatalf("second page %+v err %v", a, err)
		}
	})
	t.Run("multi_last refuses more than 1024 subjects", func(t *testing.T) {
		for i := range 1025 {
			if _, err := s.AddMember(ctx, store.Member{ChatID: "big", UserID: fmt.Sprintf("u%d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		_, err := s.DirectGet(ctx, "KV_"+subjects.BucketMembers,
			store.DirectReq{MultiLast: []string{"$KV." + subjects.BucketMembers + ".chat.big.*"}, Batch: 10})
		if !errors.Is(err, store.ErrTooManyResults) {
			t.Fatalf("err %v, want 413", err)
		}
		ms, err := s.Members(ctx, "big")
		if err != nil || len(ms) != 1025 {
			t.Fatalf("Members = %d, %v", len(ms), err)
		}
	})
	t.Run("missing stream is no responders", func(t *testing.T) {
		_, err := s.DirectGet(ctx, "NOPE", store.DirectReq{Seq: 1})
		if !errors.Is(err, nats.ErrNoResponders) {
			t.Fatalf("err %v", err)
		}
	})
}
