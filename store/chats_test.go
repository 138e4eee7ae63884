package store_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/natterchat/natter/store"
)

func TestCreateChat(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	tests := []struct {
		name    string
		c       store.Chat
		members []string
		want    error
		owners  int
		count   int
	}{
		{"public", store.Chat{ID: "p1", Name: "#haskell", Kind: store.Public, CreatedBy: "a"}, nil, nil, 1, 1},
		{"public name taken", store.Chat{ID: "p2", Name: "#haskell", Kind: store.Public, CreatedBy: "b"}, nil, store.ErrNameTaken, 0, 0},
		{"public name is case-sensitive", store.Chat{ID: "p3", Name: "#Haskell", Kind: store.Public, CreatedBy: "b"}, nil, nil, 1, 1},
		{"private", store.Chat{ID: "g1", Name: "team 🦊", Kind: store.Private, CreatedBy: "a"}, []string{"b", "c", "b", "a"}, nil, 1, 3},
		{"private same name as a room", store.Chat{ID: "g2", Name: "#haskell", Kind: store.Private, CreatedBy: "a"}, nil, nil, 1, 1},
		{"direct", store.Chat{ID: "d1", Kind: store.Direct, CreatedBy: "a"}, []string{"a", "b"}, nil, 1, 2},
		{"direct other only", store.Chat{ID: "d2", Kind: store.Direct, CreatedBy: "a"}, []string{"c"}, nil, 1, 2},
		{"direct one member", store.Chat{ID: "d3", Kind: store.Direct, CreatedBy: "a"}, []string{"a"}, store.ErrInvalid, 0, 0},
		{"direct three members", store.Chat{ID: "d4", Kind: store.Direct, CreatedBy: "a"}, []string{"b", "c"}, store.ErrInvalid, 0, 0},
		{"existing id", store.Chat{ID: "g1", Name: "x", Kind: store.Private, CreatedBy: "a"}, nil, store.ErrConflict, 0, 0},
		{"bad kind", store.Chat{ID: "x1", Name: "x", Kind: "group", CreatedBy: "a"}, nil, store.ErrInvalid, 0, 0},
		{"bad id", store.Chat{ID: "x.2", Name: "x", Kind: store.Private, CreatedBy: "a"}, nil, store.ErrInvalid, 0, 0},
		{"no creator", store.Chat{ID: "x3", Name: "x", Kind: store.Private}, nil, store.ErrInvalid, 0, 0},
		{"bad member", store.Chat{ID: "x4", Name: "x", Kind: store.Private, CreatedBy: "a"}, []string{"b c"}, store.ErrInvalid, 0, 0},
		{"empty name", store.Chat{ID: "x5", Kind: store.Public, CreatedBy: "a"}, nil, store.ErrInvalid, 0, 0},
		{"long name", store.Chat{ID: "x6", Name: strings.Repeat("n", 101), Kind: store.Private, CreatedBy: "a"}, nil, store.ErrInvalid, 0, 0},
		{"control char", store.Chat{ID: "x7", Name: "a\x00b", Kind: store.Public, CreatedBy: "a"}, nil, store.ErrInvalid, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := e.st.CreateChat(ctx, tc.c, asMembers(tc.members))
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("CreateChat = %v, want %v", err, tc.want)
			}
			if err != nil {
				return
			}
			c, err := e.st.Chat(ctx, tc.c.ID)
			if err != nil || c.Name != tc.c.Name || c.Kind != tc.c.Kind || c.CreatedAt.IsZero() {
				t.Fatalf("Chat = %+v, %v", c, err)
			}
			ms, err := e.st.Members(ctx, tc.c.ID)
			if err != nil {
				t.Fatal(err)
			}
			owners := 0
			for _, m := range ms {
				if m.Role == store.RoleOwner {
					owners++
					if m.UserID != tc.c.CreatedBy {
						t.Errorf("owner %s, want creator %s", m.UserID, tc.c.CreatedBy)
					}
				}
			}
			if len(ms) != tc.count || owners != tc.owners {
				t.Fatalf("members %+v: want %d with %d owner", ms, tc.count, tc.owners)
			}
		})
	}
	// The failed create with a taken name left no record behind.
	if _, err := e.st.Chat(ctx, "p2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Chat(p2) = %v", err)
	}
	if c, err := e.st.PublicRoom(ctx, "#haskell"); err != nil || c.ID != "p1" {
		t.Fatalf("PublicRoom = %+v, %v", c, err)
	}
	if _, err := e.st.PublicRoom(ctx, "#nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("PublicRoom(#nope) = %v", err)
	}
}

func TestEnsurePublicRoomRace(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	const n = 8
	var (
		wg      sync.WaitGroup
		rooms   [n]store.Chat
		created [n]bool
		errs    [n]error
	)
	for i := range n {
		wg.Go(func() {
			rooms[i], created[i], errs[i] = e.st.EnsurePublicRoom(ctx, "lobby", fmt.Sprintf("user%d", i))
		})
	}
	wg.Wait()
	made := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if rooms[i].ID != rooms[0].ID || rooms[i].Kind != store.Public || rooms[i].Name != "lobby" {
			t.Fatalf("caller %d got %+v, caller 0 got %+v", i, rooms[i], rooms[0])
		}
		if created[i] {
			made++
		}
	}
	if made != 1 {
		t.Fatalf("%d callers report created, want 1", made)
	}
	// Creating a room adds no membership: joining is the caller's.
	ms, err := e.st.Members(ctx, rooms[0].ID)
	if err != nil || len(ms) != 0 {
		t.Fatalf("members %+v, %v", ms, err)
	}
	c, created2, err := e.st.EnsurePublicRoom(ctx, "lobby", "late")
	if err != nil || created2 || c.ID != rooms[0].ID {
		t.Fatalf("late EnsurePublicRoom = %+v %v %v", c, created2, err)
	}
}

// asMembers turns user ids into memberships for CreateChat.
func asMembers(ids []string) []store.Member {
	ms := make([]store.Member, len(ids))
	for i, id := range ids {
		ms[i] = store.Member{UserID: id}
	}
	return ms
}
