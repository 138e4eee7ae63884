package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/store/storetest"
)

// ensureResult is what one EnsurePublicRoom call of the race returned.
type ensureResult struct {
	caller  string
	chat    store.Chat
	created bool
	err     error
}

// TestEnsurePublicRoomRace races EnsurePublicRoom for the same new name
// from callers on every server of a 3-server cluster (R3), as the guests
// of a fresh cluster do when they join a room by name through different
// nodes. A loser of the name key's create can be refused while the
// winner's write is proposed but not yet applied on the leader, so that
// its read of the name finds nothing yet: every caller must still get
// the one room, and exactly one caller must have made it.
func TestEnsurePublicRoomRace(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-server JetStream cluster")
	}
	srvs := storetest.RunCluster(t, 3)
	ctx := storetest.Ctx(t)
	var stores []*store.JetStream
	for i, srv := range srvs {
		// Two connections per server: callers that share neither a
		// connection nor, across servers, a route to the leader.
		for c := range 2 {
			st, err := store.Open(ctx, storetest.Connect(t, srv), store.Config{Replicas: 3})
			if err != nil {
				t.Fatalf("open store %d on server %d: %v", c+1, i+1, err)
			}
			stores = append(stores, st)
		}
	}
	const rounds, perStore = 100, 2
	for r := range rounds {
		results := raceEnsure(stores, perStore, fmt.Sprintf("race-%d", r))
		checkOneRoom(t, r, results)
	}
}

// raceEnsure calls EnsurePublicRoom(name) perStore times on each store at
// once (released together) and returns every call's answer.
func raceEnsure(stores []*store.JetStream, perStore int, name string) []ensureResult {
	// Each call has a join's budget: the node's default request timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	results := make([]ensureResult, len(stores)*perStore)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, st := range stores {
		for k := range perStore {
			slot := &results[i*perStore+k]
			slot.caller = fmt.Sprintf("store %d caller %d", i+1, k+1)
			creator := fmt.Sprintf("u%d-%d", i, k)
			wg.Go(func() {
				<-start
				slot.chat, slot.created, slot.err = st.EnsurePublicRoom(ctx, name, creator)
			})
		}
	}
	close(start)
	wg.Wait()
	return results
}

// checkOneRoom fails the test unless every call of round r succeeded with
// the same room and exactly one of them created it.
func checkOneRoom(t *testing.T, r int, results []ensureResult) {
	t.Helper()
	created := 0
	var id string
	for _, res := range results {
		if res.err != nil {
			t.Fatalf("round %d: %s: EnsurePublicRoom: %v", r, res.caller, res.err)
		}
		if id == "" {
			id = res.chat.ID
		}
		if res.chat.ID != id || res.chat.Kind != store.Public {
			t.Fatalf("round %d: %s got room %+v, another caller got %s", r, res.caller, res.chat, id)
		}
		if res.created {
			created++
		}
	}
	if created != 1 {
		t.Fatalf("round %d: %d callers created the room, want exactly 1", r, created)
	}
}
