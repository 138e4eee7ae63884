package store_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/store/storetest"
)

// TestManyMembers lists more members than one multi_last answer may hold
// (1024), with some removed, in both directions.
func TestManyMembers(t *testing.T) {
	e := newEnv(t)
	ctx := storetest.Ctx(t)
	const n = 2500
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 32)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if _, err := e.st.AddMember(ctx, store.Member{ChatID: "big", UserID: fmt.Sprintf("u%04d", i)}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := 0; i < n; i += 10 {
		if removed, err := e.st.RemoveMember(ctx, "big", fmt.Sprintf("u%04d", i)); err != nil || !removed {
			t.Fatalf("remove u%04d: %v %v", i, removed, err)
		}
	}
	ms, err := e.st.Members(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool)
	for _, m := range ms {
		if seen[m.UserID] {
			t.Fatalf("duplicate %s", m.UserID)
		}
		seen[m.UserID] = true
	}
	if len(ms) != n-n/10 {
		t.Fatalf("got %d members, want %d", len(ms), n-n/10)
	}
	for i := range n {
		if want := i%10 != 0; seen[fmt.Sprintf("u%04d", i)] != want {
			t.Fatalf("u%04d listed=%v", i, !want)
		}
	}
	// The other direction for one user of the big chat plus many chats.
	for i := range 1100 {
		if _, err := e.st.AddMember(ctx, store.Member{ChatID: fmt.Sprintf("c%04d", i), UserID: "u0001"}); err != nil {
			t.Fatal(err)
		}
	}
	if cs := storetest.Must[[]store.Member](t)(e.st.UserChats(ctx, "u0001")); len(cs) != 1101 {
		t.Fatalf("UserChats(u0001) = %d, want 1101", len(cs))
	}
}
