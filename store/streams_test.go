package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/natterchat/natter/internal/testwait"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/store/storetest"
	"github.com/natterchat/natter/subjects"
)

// TestStreamsRecorded: the number of message streams is recorded at the
// first start; a later start with another number is refused, naming the
// recorded one, and one with the same number opens.
func TestStreamsRecorded(t *testing.T) {
	ctx := storetest.Ctx(t)
	e := newEnvWith(t, store.Config{Streams: 3})
	for p := range 3 {
		if _, err := e.st.JetStream().Stream(ctx, subjects.MessageStream(p, 3)); err != nil {
			t.Fatalf("stream %d: %v", p, err)
		}
	}
	for _, k := range []int{0, 1, 2} { // 0: the default, 1
		_, err := store.Open(ctx, e.nc, store.Config{Streams: k})
		if !errors.Is(err, store.ErrStreamsChanged) || !strings.Contains(err.Error(), "the cluster has 3") {
			t.Fatalf("Open with %d streams on a cluster of 3: %v", k, err)
		}
	}
	if _, err := e.st.JetStream().Stream(ctx, subjects.StreamMessages); err == nil {
		t.Fatal("a refused Open created CHAT_MSGS")
	}
	if _, err := store.Open(ctx, e.nc, store.Config{Streams: 3}); err != nil {
		t.Fatalf("Open with the recorded count: %v", err)
	}
	if _, err := store.Open(ctx, e.nc, store.Config{Streams: store.MaxStreams + 1}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("Open with %d streams: %v", store.MaxStreams+1, err)
	}
}

// TestStreamsOfOldCluster: a cluster from before the count was recorded
// has CHAT_MSGS; it opens with one stream (and keeps its messages), and a
// node asking for more is refused rather than hide them.
func TestStreamsOfOldCluster(t *testing.T) {
	ctx := storetest.Ctx(t)
	e := newEnv(t)
	seq, _, err := e.st.PublishMessage(ctx, store.Message{ChatID: "c", ID: "m1", UserID: "u", Text: "old"})
	if err != nil {
		t.Fatal(err)
	}
	// Forget the record, as a cluster from before it.
	if err := e.st.JetStream().DeleteKeyValue(ctx, subjects.BucketCluster); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Open(ctx, e.nc, store.Config{Streams: 3}); !errors.Is(err, store.ErrStreamsChanged) || !strings.Contains(err.Error(), subjects.StreamMessages) {
		t.Fatalf("Open with 3 streams on an old cluster: %v", err)
	}
	st, err := store.Open(ctx, e.nc, store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got := storetest.Must[uint64](t)(st.LastSeq(ctx, "c")); got != seq {
		t.Fatalf("LastSeq after reopening = %d, want %d", got, seq)
	}
}

// TestPartitionSpreads: the hash puts chats in every stream, about evenly,
// and a chat always in the same one.
func TestPartitionSpreads(t *testing.T) {
	const k, n = 3, 3000
	var counts [k]int
	for i := range n {
		id := fmt.Sprintf("chat-%d", i)
		p := store.Partition(id, k)
		if p != store.Partition(id, k) {
			t.Fatalf("%s moves", id)
		}
		counts[p]++
	}
	for p, c := range counts {
		if c < n/k/2 {
			t.Fatalf("stream %d holds %d of %d chats: %v", p, c, n, counts)
		}
	}
	if store.Partition("anything", 1) != 0 {
		t.Fatal("one stream is not partition 0")
	}
}

// TestStreamLeadersSpread: on three servers, three message streams of
// three replicas end up with their leaders on three different servers,
// so that no one server orders every send; the stores opened on each
// server at once agree on the placement.
func TestStreamLeadersSpread(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-server JetStream cluster")
	}
	srvs := storetest.RunCluster(t, 3)
	ctx := storetest.Ctx(t)
	cfg := store.Config{Replicas: 3, Streams: 3}
	stores := make([]*store.JetStream, len(srvs))
	errs := make([]error, len(srvs))
	var wg sync.WaitGroup
	for i, srv := range srvs {
		nc := storetest.Connect(t, srv)
		wg.Go(func() { stores[i], errs[i] = store.Open(ctx, nc, cfg) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	js := stores[0].JetStream()
	testwait.For(t, 30*time.Second, 100*time.Millisecond, func() error {
		leaders := make(map[string]string)
		for p := range 3 {
			name := subjects.MessageStream(p, 3)
			// Answered by the leader: not while one is elected.
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			st, err := js.Stream(rctx, name)
			cancel()
			if err != nil {
				return err
			}
			l := st.CachedInfo().Cluster.Leader
			if l == "" {
				return fmt.Errorf("%s has no leader", name)
			}
			if other, ok := leaders[l]; ok {
				return fmt.Errorf("%s and %s both led by %s", other, name, l)
			}
			leaders[l] = name
		}
		return nil
	})
	// Sends go to each stream, and each chat reads back its own
	// through another server (direct gets may be answered by a replica
	// a moment behind).
	for i := range 30 {
		c := fmt.Sprintf("chat-%d", i)
		seq, _, err := stores[i%3].PublishMessage(ctx, store.Message{ChatID: c, ID: "m-" + c, UserID: "u", Text: "x"})
		if err != nil {
			t.Fatal(err)
		}
		testwait.For(t, 10*time.Second, 20*time.Millisecond, func() error {
			if got, err := stores[(i+1)%3].LastSeq(ctx, c); err != nil || got != seq {
				return fmt.Errorf("LastSeq(%s) = %d, %v; want %d", c, got, err, seq)
			}
			return nil
		})
	}
}

// TestPartitionIsTheServers: Partition is the NATS server's partition
// subject mapping on the chat id token, so that a server-side transform
// (a stream source's, when a cluster's messages are copied into another
// number of streams, docs/cluster.md) files every chat where natter
// looks for it.
func TestPartitionIsTheServers(t *testing.T) {
	for _, k := range []int{2, 3, 7} {
		tr, err := server.NewSubjectTransform(subjects.ChatMsgWildcard, fmt.Sprintf("chat.{{partition(%d,1)}}.{{wildcard(1)}}.msg", k))
		if err != nil {
			t.Fatal(err)
		}
		for i := range 500 {
			id := fmt.Sprintf("c-%d-%x", i, i*7919)
			got, err := tr.Match(subjects.ChatMsg(id))
			if want := subjects.ChatMsgIn(store.Partition(id, k), k, id); err != nil || got != want {
				t.Fatalf("k=%d: the server maps %s to %q (%v), natter to %q", k, id, got, err, want)
			}
		}
	}
}
