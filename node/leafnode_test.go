package node

import (
	"net"
	"testing"

	"github.com/natterchat/natter/node/wire"
)

// TestLeafNodeSite: a site node whose embedded server is a leaf of a
// hub node keeps no JetStream of its own, yet its users register, join
// the hub's rooms and talk with the hub's users both ways.
func TestLeafNodeSite(t *testing.T) {
	leafAddr := freeAddr(t)
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

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
