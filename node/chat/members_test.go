package chat

import (
	"context"
	"fmt"
	"testing"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// TestJoinerMemberList: the list a joiner gets shows them online though
// presence does not know them yet (no device of theirs is on the hub), and
// a joining guest, whose membership presence learns later, is listed
// after the registered members; the plain list shows only what presence
// knows.
func TestJoinerMemberList(t *testing.T) {
	s, mem, _ := newTestService(t)
	ctx := context.Background()
	c := store.Chat{ID: "chat1", Name: "lobby", Kind: store.Public, CreatedBy: "alice1"}
	if err := mem.CreateChat(ctx, c, []store.Member{
		{UserID: "alice1", Name: "alice", Role: store.RoleOwner},
		{UserID: "bob1", Name: "bob", Role: store.RoleMember},
	}); err != nil {
		t.Fatal(err)
	}
	show := func(l wire.MemberList) string {
		return fmt.Sprintf("users %v online %v members %+v", l.Users, l.Online, l.Members)
	}

	l, err := s.MemberList(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Users) != 2 || len(l.Online) != 0 || len(l.Members) != 2 || l.Members[0].Online || l.Members[1].Online {
		t.Fatalf("MemberList: %s; want alice and bob, offline", show(l))
	}

	bob := Identity{ID: "bob1", Name: "bob"}
	l, err = s.JoinerMemberList(ctx, c, bob)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Users) != 2 || fmt.Sprint(l.Online) != "[bob1]" {
		t.Fatalf("bob joining: %s; want bob alone online", show(l))
	}
	for _, m := range l.Members {
		if m.Online != (m.User == bob.ID) {
			t.Fatalf("bob joining: %s; want bob alone online", show(l))
		}
	}

	guest := Identity{ID: "guest1", Name: "guest-1", Guest: true}
	l, err = s.JoinerMemberList(ctx, c, guest)
	if err != nil {
		t.Fatal(err)
	}
	want := wire.MemberInfo{User: guest.ID, Name: guest.Name, Role: store.RoleMember, Online: true}
	if len(l.Users) != 3 || l.Users[2] != guest.ID || fmt.Sprint(l.Online) != "[guest1]" || len(l.Members) != 3 || l.Members[2] != want {
		t.Fatalf("guest joining: %s; want the guest after the members, online", show(l))
	}
}
