package node

import (
	"fmt"
	"testing"

	"github.com/natterchat/natter/internal/testport"
	"github.com/natterchat/natter/node/wire"
)

// TestLeafNodeSite: a site node whose embedded server is a leaf of a
// hub node keeps no JetStream of its own, yet its users register, join
// the hub's rooms and talk with the hub's users both ways.
func TestLeafNodeSite(t *testing.T) {
	leafAddr := fmt.Sprintf("127.0.0.1:%d", testport.Free(t, 1)[0])
	hub := startNode(t, func(c *Config) { c.LeafNodeListen = leafAddr; c.JetStreamDomain = "hub" })
	site := startNode(t, func(c *Config) { c.LeafNodeRemotes = []string{"nats-leaf://" + leafAddr}; c.JetStreamDomain = "hub" })
	if site.ns.JetStreamEnabled() {
		t.Fatal("the site node runs JetStream of its own")
	}
	alice := hub.register("alice")
	bob := site.register("bob") // stored in the hub's JetStream
	a, b := hub.dialUser(alice), site.dialUser(bob)
	chat := a.joinRoom("bridge")
	if got := b.joinRoom("bridge"); got != chat {
		t.Fatalf("the site found room %s, the hub %s", got, chat)
	}
	a.waitFor(wire.TypeJoinedRoom)
	for _, m := range []struct {
		from, to *client
		text     string
	}{{a, b, "from the hub"}, {b, a, "from the site"}} {
		m.from.sendMsg(chat, m.text, "", false)
		var got wire.NewMessage
		m.to.waitFor(wire.TypeNewMessage).decode(t, &got)
		if got.Message != m.text {
			t.Fatalf("got %+v, want %q", got, m.text)
		}
	}
}
