package store_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/natterchat/natter/store"
)

func TestMembership(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	added, err := e.st.AddMember(ctx, store.Member{ChatID: "c1", UserID: "u1", Role: store.RoleOwner})
	if err != nil || !added {
		t.Fatalf("first add = %v, %v", added, err)
	}
	first, err := e.st.Member(ctx, "c1", "u1")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	added, err = e.st.AddMember(ctx, store.Member{ChatID: "c1", UserID: "u1", Role: store.RoleMember})
	if err != nil || added {
		t.Fatalf("second add = %v, %v", added, err)
	}
	again, err := e.st.Member(ctx, "c1", "u1")
	if err != nil || !again.JoinedAt.Equal(first.JoinedAt) || again.Role != store.RoleOwner {
		t.Fatalf("second add overwrote %+v with %+v (%v)", first, again, err)
	}
	if _, err := e.st.AddMember(ctx, store.Member{ChatID: "c1", UserID: "u2", Role: "admin"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("bad role: %v", err)
	}
	for _, c := range []string{"c2", "c3"} {
		if _, err := e.st.AddMember(ctx, store.Member{ChatID: c, UserID: "u1", Role: ""}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.st.AddMember(ctx, store.Member{ChatID: "c1", UserID: "u2", Role: ""}); err != nil {
		t.Fatal(err)
	}
	if cs := must[[]store.Member](t)(e.st.UserChats(ctx, "u1")); len(cs) != 3 {
		t.Fatalf("UserChats(u1) = %+v", cs)
	}
	removed, err := e.st.RemoveMember(ctx, "c2", "u1")
	if err != nil || !removed {
		t.Fatalf("remove = %v, %v", removed, err)
	}
	removed, err = e.st.RemoveMember(ctx, "c2", "u1")
	if err != nil || removed {
		t.Fatalf("second remove = %v, %v", removed, err)
	}
	if _, err := e.st.Member(ctx, "c2", "u1"); !errors.Is(err, store.ErrNotMember) {
		t.Fatalf("Member after remove: %v", err)
	}
	cs := must[[]store.Member](t)(e.st.UserChats(ctx, "u1"))
	if len(cs) != 2 || cs[0].ChatID != "c1" || cs[1].ChatID != "c3" {
		t.Fatalf("UserChats(u1) after remove = %+v", cs)
	}
	ms := must[[]store.Member](t)(e.st.Members(ctx, "c1"))
	if len(ms) != 2 || ms[0].UserID != "u1" || ms[1].UserID != "u2" {
		t.Fatalf("Members(c1) = %+v", ms)
	}
	// Rejoining after leaving is a new membership.
	if added, err := e.st.AddMember(ctx, store.Member{ChatID: "c2", UserID: "u1", Role: ""}); err != nil || !added {
		t.Fatalf("rejoin = %v, %v", added, err)
	}
	// A chat id that is a prefix of another does not leak into its listing.
	if _, err := e.st.AddMember(ctx, store.Member{ChatID: "c1x", UserID: "u9", Role: ""}); err != nil {
		t.Fatal(err)
	}
	if ms := must[[]store.Member](t)(e.st.Members(ctx, "c1")); len(ms) != 2 {
		t.Fatalf("Members(c1) includes c1x: %+v", ms)
	}
	if ms := must[[]store.Member](t)(e.st.Members(ctx, "empty")); len(ms) != 0 {
		t.Fatalf("Members(empty) = %+v", ms)
	}
}

// TestManyMembers lists more members than one multi_last answer may hold
// (1024), with some removed, in both directions.
func TestManyMembers(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
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
	if cs := must[[]store.Member](t)(e.st.UserChats(ctx, "u0001")); len(cs) != 1101 {
		t.Fatalf("UserChats(u0001) = %d, want 1101", len(cs))
	}
}
