package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natterchat/natter/store/storetest"
	"github.com/natterchat/natter/subjects"
)

// TestDirectGetFacts pins the server behaviour directget.go relies on.
func TestDirectGetFacts(t *testing.T) {
	srv := storetest.RunServer(t)
	nc := storetest.Connect(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, nc, Config{})
	if err != nil {
		t.Fatal(err)
	}
	// Seqs 1..20: chat a on odd, chat b on even sequences.
	for i := 1; i <= 20; i++ {
		c := "a"
		if i%2 == 0 {
			c = "b"
		}
		if _, _, err := s.PublishMessage(ctx, Message{ChatID: c, ID: fmt.Sprint(i), UserID: "u", Text: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	collect := func(req directReq) ([]uint64, batchEnd, bool, error) {
		var seqs []uint64
		end, found, err := s.directGet(ctx, subjects.StreamMessages, req, func(m *nats.Msg) bool {
			seqs = append(seqs, headerUint(m, jetstream.SequenceHeader))
			return true
		})
		return seqs, end, found, err
	}

	t.Run("batch EOB reports pending and last", func(t *testing.T) {
		seqs, end, found, err := collect(directReq{Seq: 4, NextFor: subjects.ChatMsg("a"), Batch: 3})
		if err != nil || !found || fmt.Sprint(seqs) != "[5 7 9]" || end.pending != 5 || end.lastSeq != 9 {
			t.Fatalf("seqs %v end %+v found %v err %v", seqs, end, found, err)
		}
	})
	t.Run("batch ignores up_to_seq", func(t *testing.T) {
		seqs, _, _, err := collect(directReq{Seq: 1, NextFor: subjects.ChatMsg("a"), Batch: 4, UpToSeq: 3})
		if err != nil || fmt.Sprint(seqs) != "[1 3 5 7]" {
			t.Fatalf("seqs %v err %v", seqs, err)
		}
	})
	t.Run("no match is 404", func(t *testing.T) {
		seqs, _, found, err := collect(directReq{Seq: 21, NextFor: subjects.ChatMsg("a"), Batch: 4})
		if err != nil || found || len(seqs) != 0 {
			t.Fatalf("seqs %v found %v err %v", seqs, found, err)
		}
	})
	t.Run("multi_last pins and pages", func(t *testing.T) {
		// Last per subject up to 10: a at 9, b at 10; paged one at a time.
		seqs, end, found, err := collect(directReq{MultiLast: []string{subjects.ChatMsgWildcard}, UpToSeq: 10, Batch: 1})
		if err != nil || !found || fmt.Sprint(seqs) != "[9]" || end.pending != 1 || end.upToSeq != 10 || end.lastSeq != 9 {
			t.Fatalf("first page %v end %+v err %v", seqs, end, err)
		}
		seqs, end, _, err = collect(directReq{MultiLast: []string{subjects.ChatMsgWildcard}, UpToSeq: 10, Batch: 1, Seq: 10})
		if err != nil || fmt.Sprint(seqs) != "[10]" || end.pending != 0 {
			t.Fatalf("second page %v end %+v err %v", seqs, end, err)
		}
	})
	t.Run("multi_last refuses more than 1024 subjects", func(t *testing.T) {
		for i := range 1025 {
			if _, err := s.AddMember(ctx, Member{ChatID: "big", UserID: fmt.Sprintf("u%d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		_, _, err := s.directGet(ctx, "KV_"+subjects.BucketMembers,
			directReq{MultiLast: []string{"$KV." + subjects.BucketMembers + ".chat.big.*"}, Batch: 10}, func(*nats.Msg) bool { return true })
		if !errors.Is(err, errTooManyResults) {
			t.Fatalf("err %v, want 413", err)
		}
		ms, err := s.Members(ctx, "big")
		if err != nil || len(ms) != 1025 {
			t.Fatalf("Members = %d, %v", len(ms), err)
		}
	})
	t.Run("missing stream is no responders", func(t *testing.T) {
		_, _, err := s.directGet(ctx, "NOPE", directReq{Seq: 1}, func(*nats.Msg) bool { return true })
		if !errors.Is(err, nats.ErrNoResponders) {
			t.Fatalf("err %v", err)
		}
	})
}
