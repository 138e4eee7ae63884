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
