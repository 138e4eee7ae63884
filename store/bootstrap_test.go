package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/natterchat/natter/internal/testwait"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/store/storetest"
	"github.com/natterchat/natter/subjects"
)

func TestOpenIdempotentAndUpdates(t *testing.T) {
	e := newEnv(t)
	ctx := storetest.Ctx(t)
	// Same config again: no error.
	if _, err := store.Open(ctx, e.nc, store.Config{}); err != nil {
		t.Fatalf("second Open: %v", err)
	}
	// A changed config is applied to the existing stream.
	st, err := store.Open(ctx, e.nc, store.Config{MaxAge: time.Hour, MaxMsgsPerSubject: 1000})
	if err != nil {
		t.Fatalf("Open with new config: %v", err)
	}
	str, err := st.JetStream().Stream(ctx, subjects.StreamMessages)
	if err != nil {
		t.Fatal(err)
	}
	info, err := str.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := info.Config
	if c.MaxAge != time.Hour || c.MaxMsgsPerSubject != 1000 || !c.AllowDirect || c.Duplicates != 5*time.Minute ||
		c.RePublish == nil || c.RePublish.Destination != subjects.RePublishDestination {
		t.Fatalf("stream config not updated: %+v", c)
	}
	// Duplicates is clipped to a shorter MaxAge instead of failing.
	if _, err := store.Open(ctx, e.nc, store.Config{MaxAge: time.Minute}); err != nil {
		t.Fatalf("Open with MaxAge < Duplicates: %v", err)
	}
	if info, err = str.Info(ctx); err != nil {
		t.Fatal(err)
	}
	if c := info.Config; c.MaxAge != time.Minute || c.Duplicates != time.Minute {
		t.Fatalf("MaxAge %v, Duplicates %v: want the dedup window clipped to MaxAge, 1m", c.MaxAge, c.Duplicates)
	}
	for _, b := range []string{subjects.BucketReads, subjects.BucketUsers, subjects.BucketUserNames, subjects.BucketChats,
		subjects.BucketRoomNames, subjects.BucketMembers, subjects.BucketMessageStates} {
		kv, err := st.JetStream().KeyValue(ctx, b)
		if err != nil {
			t.Fatalf("bucket %s: %v", b, err)
		}
		s, err := kv.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s.History() != 1 {
			t.Errorf("bucket %s history %d", b, s.History())
		}
		kvs, err := st.JetStream().Stream(ctx, "KV_"+b)
		if err != nil {
			t.Fatal(err)
		}
		if !kvs.CachedInfo().Config.AllowDirect {
			t.Errorf("bucket %s: AllowDirect off; listings need direct gets", b)
		}
		// Message states expire with the messages (MaxAge), the rest never.
		want := time.Duration(0)
		if b == subjects.BucketMessageStates {
			want = time.Minute
		}
		if got := kvs.CachedInfo().Config.MaxAge; got != want {
			t.Errorf("bucket %s: MaxAge %v, want %v", b, got, want)
		}
	}
}

// TestRestartKeepsData stops the server and starts a new one on the same
// store directory; a store reopened on it sees users, members and messages.
func TestRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	ctx := storetest.Ctx(t)
	srv := storetest.RunServerDir(t, dir)
	nc := storetest.Connect(t, srv)
	st := storetest.Must[*store.JetStream](t)(store.Open(ctx, nc, store.Config{}))
	if err := st.CreateUser(ctx, store.User{ID: "u1", Name: "Alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddMember(ctx, store.Member{ChatID: "c1", UserID: "u1", Role: store.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	seq, _, err := st.PublishMessage(ctx, store.Message{ChatID: "c1", ID: "m1", UserID: "u1", Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
	srv.Shutdown()
	srv.WaitForShutdown()

	srv2 := storetest.RunServerDir(t, dir)
	nc2 := storetest.Connect(t, srv2)
	st2 := storetest.Must[*store.JetStream](t)(store.Open(ctx, nc2, store.Config{}))
	if u, err := st2.UserByName(ctx, "alice"); err != nil || u.ID != "u1" {
		t.Fatalf("UserByName after restart: %+v %v", u, err)
	}
	if ms, err := st2.Members(ctx, "c1"); err != nil || len(ms) != 1 || ms[0].Role != store.RoleOwner {
		t.Fatalf("Members after restart: %+v %v", ms, err)
	}
	// Direct gets may answer from the recovered stream a moment later.
	testwait.For(t, 5*time.Second, 20*time.Millisecond, func() error {
		if last, err := st2.LastSeq(ctx, "c1"); err != nil || last != seq {
			return fmt.Errorf("LastSeq after restart = %d, %v; want %d", last, err, seq)
		}
		return nil
	})
	// The dedup window survives too: the same id is still a duplicate.
	seq2, dup, err := st2.PublishMessage(ctx, store.Message{ChatID: "c1", ID: "m1", UserID: "u1", Text: "hello"})
	if err != nil || !dup || seq2 != seq {
		t.Fatalf("republish after restart = %d dup=%v %v; want %d dup", seq2, dup, err, seq)
	}
}
