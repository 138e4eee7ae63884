package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/natterchat/natter/store"
)

// Conformance cases of users, chats and memberships.

func testUsers(t *testing.T, st store.Store) {
	ctx := Ctx(t)
	if err := st.CreateUser(ctx, store.User{ID: "u1", Name: "Alice", Roles: []string{"admin"}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		u    store.User
		want error
	}{
		{"same name other case", store.User{ID: "u2", Name: "ALICE"}, store.ErrNameTaken},
		{"same name padded", store.User{ID: "u2", Name: " alice "}, store.ErrNameTaken},
		{"same id", store.User{ID: "u1", Name: "Bob"}, store.ErrConflict},
		{"bad id", store.User{ID: "u.1", Name: "Carol"}, store.ErrInvalid},
		{"empty name", store.User{ID: "u3", Name: ""}, store.ErrInvalid},
		{"blank name", store.User{ID: "u3", Name: "   "}, store.ErrInvalid},
		{"long name", store.User{ID: "u3", Name: strings.Repeat("é", 65)}, store.ErrInvalid},
		{"control char", store.User{ID: "u3", Name: "a\nb"}, store.ErrInvalid},
		{"max length name", store.User{ID: "u4", Name: strings.Repeat("é", 64)}, nil},
		{"emoji name", store.User{ID: "u5", Name: "Dana 🦊"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := st.CreateUser(ctx, tc.u)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("CreateUser(%+v) = %v, want %v", tc.u, err, tc.want)
			}
		})
	}
	// The failed "same id" attempt left its name free.
	if err := st.CreateUser(ctx, store.User{ID: "u6", Name: "bob"}); err != nil {
		t.Fatalf("name of a failed create stays claimed: %v", err)
	}

	u, err := st.User(ctx, "u1")
	if err != nil || u.Name != "Alice" || len(u.Roles) != 1 || u.CreatedAt.IsZero() {
		t.Fatalf("User = %+v, %v", u, err)
	}
	// A caller that changes what it read does not change the store.
	u.Roles[0] = "changed"
	if u, err := st.User(ctx, "u1"); err != nil || u.Roles[0] != "admin" {
		t.Fatalf("User after changing a copy = %+v, %v", u, err)
	}
	for _, name := range []string{"alice", "ALICE", " Alice"} {
		if u, err := st.UserByName(ctx, name); err != nil || u.ID != "u1" {
			t.Fatalf("UserByName(%q) = %+v, %v", name, u, err)
		}
	}
	if _, err := st.UserByName(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UserByName(nobody) = %v", err)
	}
	if _, err := st.User(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("User(nobody) = %v", err)
	}
}

// testUpdateUser: an update changes what it may, refuses what it may not,
// stores nothing when it fails, and concurrent updates are none lost.
func testUpdateUser(t *testing.T, st store.Store) {
	ctx := Ctx(t)
	if err := st.CreateUser(ctx, store.User{ID: "u1", Name: "Alice", PasswordHash: []byte("old")}); err != nil {
		t.Fatal(err)
	}
	before, err := st.User(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.UpdateUser(ctx, "u1", func(u *store.User) error {
		u.PasswordHash = []byte("new")
		u.TokenVersion++
		u.CreatedAt = time.Time{} // not the caller's to change: kept
		return nil
	})
	if err != nil || string(u.PasswordHash) != "new" || u.TokenVersion != 1 || !u.CreatedAt.Equal(before.CreatedAt) {
		t.Fatalf("UpdateUser = %+v, %v", u, err)
	}
	if got, err := st.User(ctx, "u1"); err != nil || string(got.PasswordHash) != "new" || got.TokenVersion != 1 {
		t.Fatalf("User after update = %+v, %v", got, err)
	}

	refused := errors.New("refused by the caller")
	for _, tc := range []struct {
		name   string
		id     string
		update func(u *store.User) error
		want   error
	}{
		{"rename", "u1", func(u *store.User) error { u.Name = "Mallory"; return nil }, store.ErrInvalid},
		{"change id", "u1", func(u *store.User) error { u.ID = "u2"; return nil }, store.ErrInvalid},
		{"caller's error", "u1", func(u *store.User) error { u.TokenVersion = 99; return refused }, refused},
		{"no such user", "nobody", func(*store.User) error { return nil }, store.ErrNotFound},
		{"bad id", "u.1", func(*store.User) error { return nil }, store.ErrInvalid},
	} {
		if _, err := st.UpdateUser(ctx, tc.id, tc.update); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if got, err := st.User(ctx, "u1"); err != nil || got.Name != "Alice" || got.TokenVersion != 1 {
		t.Fatalf("a refused update changed the user: %+v, %v", got, err)
	}

	// Concurrent increments: each read-modify-write lands once.
	const writers, each = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for range writers {
		wg.Go(func() {
			for range each {
				if _, err := st.UpdateUser(ctx, "u1", func(u *store.User) error { u.TokenVersion++; return nil }); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent UpdateUser: %v", err)
	}
	if got, err := st.User(ctx, "u1"); err != nil || got.TokenVersion != 1+writers*each {
		t.Fatalf("after %d concurrent increments TokenVersion = %d, %v; want %d", writers*each, got.TokenVersion, err, 1+writers*each)
	}
}

func testChats(t *testing.T, st store.Store) {
	ctx := Ctx(t)
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
		{"existing id and room name", store.Chat{ID: "p1", Name: "#haskell", Kind: store.Public, CreatedBy: "a"}, nil, store.ErrConflict, 0, 0},
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
			err := st.CreateChat(ctx, tc.c, asMembers(tc.members))
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("CreateChat = %v, want %v", err, tc.want)
			}
			if err != nil {
				return
			}
			c, err := st.Chat(ctx, tc.c.ID)
			if err != nil || c.Name != tc.c.Name || c.Kind != tc.c.Kind || c.CreatedAt.IsZero() {
				t.Fatalf("Chat = %+v, %v", c, err)
			}
			ms, err := st.Members(ctx, tc.c.ID)
			if err != nil {
				t.Fatal(err)
			}
			owners := 0
			for _, m := range ms {
				if m.ChatID != tc.c.ID || m.JoinedAt.IsZero() {
					t.Errorf("membership %+v of chat %s", m, tc.c.ID)
				}
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
	if _, err := st.Chat(ctx, "p2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Chat(p2) = %v", err)
	}
	if c, err := st.PublicRoom(ctx, "#haskell"); err != nil || c.ID != "p1" {
		t.Fatalf("PublicRoom = %+v, %v", c, err)
	}
	if _, err := st.PublicRoom(ctx, "#nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("PublicRoom(#nope) = %v", err)
	}
	// Only public rooms are found by name.
	if _, err := st.PublicRoom(ctx, "team 🦊"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("PublicRoom(private group's name) = %v", err)
	}
}

func testEnsurePublicRoomRace(t *testing.T, st store.Store) {
	ctx := Ctx(t)
	const n = 8
	var (
		wg      sync.WaitGroup
		rooms   [n]store.Chat
		created [n]bool
		errs    [n]error
	)
	for i := range n {
		wg.Go(func() {
			rooms[i], created[i], errs[i] = st.EnsurePublicRoom(ctx, "lobby", fmt.Sprintf("user%d", i))
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
	ms, err := st.Members(ctx, rooms[0].ID)
	if err != nil || len(ms) != 0 {
		t.Fatalf("members %+v, %v", ms, err)
	}
	c, created2, err := st.EnsurePublicRoom(ctx, "lobby", "late")
	if err != nil || created2 || c.ID != rooms[0].ID {
		t.Fatalf("late EnsurePublicRoom = %+v %v %v", c, created2, err)
	}
	if c, err := st.Chat(ctx, rooms[0].ID); err != nil || c.Name != "lobby" || c.CreatedAt.IsZero() {
		t.Fatalf("Chat(%s) = %+v, %v", rooms[0].ID, c, err)
	}
}

func testMembership(t *testing.T, st store.Store) {
	ctx := Ctx(t)
	added, err := st.AddMember(ctx, store.Member{ChatID: "c1", UserID: "u1", Name: "Alice", Role: store.RoleOwner, Since: 7})
	if err != nil || !added {
		t.Fatalf("first add = %v, %v", added, err)
	}
	first, err := st.Member(ctx, "c1", "u1")
	if err != nil || first.Name != "Alice" || first.Since != 7 || first.JoinedAt.IsZero() {
		t.Fatalf("Member = %+v, %v", first, err)
	}
	time.Sleep(5 * time.Millisecond)
	added, err = st.AddMember(ctx, store.Member{ChatID: "c1", UserID: "u1", Role: store.RoleMember, Since: 9})
	if err != nil || added {
		t.Fatalf("second add = %v, %v", added, err)
	}
	again, err := st.Member(ctx, "c1", "u1")
	if err != nil || !again.JoinedAt.Equal(first.JoinedAt) || again.Role != store.RoleOwner || again.Since != 7 {
		t.Fatalf("second add overwrote %+v with %+v (%v)", first, again, err)
	}
	if _, err := st.AddMember(ctx, store.Member{ChatID: "c1", UserID: "u2", Role: "admin"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("bad role: %v", err)
	}
	for _, c := range []string{"c2", "c3"} {
		if _, err := st.AddMember(ctx, store.Member{ChatID: c, UserID: "u1", Role: ""}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.AddMember(ctx, store.Member{ChatID: "c1", UserID: "u2", Role: ""}); err != nil {
		t.Fatal(err)
	}
	if m, err := st.Member(ctx, "c1", "u2"); err != nil || m.Role != store.RoleMember {
		t.Fatalf("Member(c1, u2) with an empty role = %+v, %v", m, err)
	}
	if cs := Must[[]store.Member](t)(st.UserChats(ctx, "u1")); len(cs) != 3 {
		t.Fatalf("UserChats(u1) = %+v", cs)
	}
	removed, err := st.RemoveMember(ctx, "c2", "u1")
	if err != nil || !removed {
		t.Fatalf("remove = %v, %v", removed, err)
	}
	removed, err = st.RemoveMember(ctx, "c2", "u1")
	if err != nil || removed {
		t.Fatalf("second remove = %v, %v", removed, err)
	}
	if _, err := st.Member(ctx, "c2", "u1"); !errors.Is(err, store.ErrNotMember) {
		t.Fatalf("Member after remove: %v", err)
	}
	cs := Must[[]store.Member](t)(st.UserChats(ctx, "u1"))
	if len(cs) != 2 || cs[0].ChatID != "c1" || cs[1].ChatID != "c3" || cs[0].Since != 7 {
		t.Fatalf("UserChats(u1) after remove = %+v", cs)
	}
	ms := Must[[]store.Member](t)(st.Members(ctx, "c1"))
	if len(ms) != 2 || ms[0].UserID != "u1" || ms[1].UserID != "u2" {
		t.Fatalf("Members(c1) = %+v", ms)
	}
	// Rejoining after leaving is a new membership.
	if added, err := st.AddMember(ctx, store.Member{ChatID: "c2", UserID: "u1", Role: ""}); err != nil || !added {
		t.Fatalf("rejoin = %v, %v", added, err)
	}
	// A chat id that is a prefix of another does not leak into its listing.
	if _, err := st.AddMember(ctx, store.Member{ChatID: "c1x", UserID: "u9", Role: ""}); err != nil {
		t.Fatal(err)
	}
	if ms := Must[[]store.Member](t)(st.Members(ctx, "c1")); len(ms) != 2 {
		t.Fatalf("Members(c1) includes c1x: %+v", ms)
	}
	if ms := Must[[]store.Member](t)(st.Members(ctx, "empty")); len(ms) != 0 {
		t.Fatalf("Members(empty) = %+v", ms)
	}
	if cs := Must[[]store.Member](t)(st.UserChats(ctx, "nobody")); len(cs) != 0 {
		t.Fatalf("UserChats(nobody) = %+v", cs)
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
