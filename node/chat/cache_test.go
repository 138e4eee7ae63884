package chat

import (
	"fmt"
	"testing"

	"github.com/natterchat/natter/store"
)

// TestChatCache: chats are found by id and public rooms by name; past the
// bound one entry goes, and a room's name leaves with its chat.
func TestChatCache(t *testing.T) {
	cc := newChatCache()
	room := store.Chat{ID: "r1", Name: "#general", Kind: store.Public}
	group := store.Chat{ID: "g1", Name: "#general", Kind: store.Private} // a group may share a room's name
	cc.add(room)
	cc.add(group)
	if c, ok := cc.chat("g1"); !ok || c != group {
		t.Fatalf("chat(g1) = %+v, %v", c, ok)
	}
	if c, ok := cc.room("#general"); !ok || c != room {
		t.Fatalf("room(#general) = %+v, %v; want the public room", c, ok)
	}
	if _, ok := cc.room("#other"); ok {
		t.Fatal("an unknown room was found")
	}
	for i := range chatCacheMax {
		cc.add(store.Chat{ID: fmt.Sprint("c", i), Name: fmt.Sprint("room ", i), Kind: store.Public})
	}
	if n := len(cc.byID); n != chatCacheMax {
		t.Fatalf("%d chats kept, want the bound %d", n, chatCacheMax)
	}
	for name, id := range cc.byRoom {
		if c, ok := cc.byID[id]; !ok || c.Name != name {
			t.Fatalf("room %q points at %q, which is not kept", name, id)
		}
	}
}

// TestMemberCache: a list is kept until a change, and a list read while a
// change came is not kept.
func TestMemberCache(t *testing.T) {
	mc := newMemberCache()
	if _, ok, _ := mc.get("c1"); ok {
		t.Fatal("an empty cache had a list")
	}
	_, _, gen := mc.get("c1")
	mc.put("c1", gen, nil)
	if ms, ok, _ := mc.get("c1"); !ok || ms == nil || len(ms) != 0 {
		t.Fatalf("an empty list was not kept: %v %v", ms, ok)
	}
	mc.changed("c1")
	if _, ok, _ := mc.get("c1"); ok {
		t.Fatal("a list was kept after a change")
	}
	_, _, gen = mc.get("c1")
	mc.changed("c1") // a change while the list is read
	mc.put("c1", gen, []store.Member{{UserID: "u1"}})
	if _, ok, _ := mc.get("c1"); ok {
		t.Fatal("a list read across a change was kept")
	}
}
