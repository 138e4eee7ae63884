package presence

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/natterchat/natter/node/fanout"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/store/storetest"
	"github.com/natterchat/natter/subjects"
)

// newTestView builds a view of node id on a hub of its own, both on a new
// connection to srv, with a started hub that starts the view's chat
// snapshots as the node's does, and the view closed at the end.
func newTestView(t *testing.T, srv *server.Server, id string, mod func(*Config)) (*View, *fanout.Hub) {
	t.Helper()
	nc := storetest.Connect(t, srv)
	recent := fanout.NewRecent()
	var v *View
	hub, err := fanout.New(fanout.Config{NodeID: id, NC: nc, Store: store.NewMemory(store.MemoryConfig{}), Recent: recent,
		Render:      func(string, *store.Message) []byte { return nil },
		OnChatStart: func(chatID string) { v.ChatStarted(chatID) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Close)
	cfg := Config{NodeID: id, NC: nc, Hub: hub, Recent: recent}
	if mod != nil {
		mod(&cfg)
	}
	v, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v, hub
}

// TestNoBeatAfterGoodbye: once a node said goodbye, a tick of its loop
// that beats again sends nothing; a plain beat after the goodbye brought
// the node back into every peer's view, which then synced with a node
// that no longer answers.
func TestNoBeatAfterGoodbye(t *testing.T) {
	srv := storetest.RunServer(t)
	v, _ := newTestView(t, srv, "n1", nil)
	watcher := storetest.Connect(t, srv)
	sub, err := watcher.SubscribeSync(subjects.Heartbeat)
	if err != nil {
		t.Fatal(err)
	}
	if err := watcher.Flush(); err != nil {
		t.Fatal(err)
	}
	v.Beat(true)
	v.Beat(false) // a tick after the goodbye
	v.Beat(true)  // a second goodbye marks the end of what was sent
	for i := range 2 {
		m, err := sub.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var hb heartbeat
		if err := json.Unmarshal(m.Data, &hb); err != nil {
			t.Fatal(err)
		}
		if !hb.Gone {
			t.Fatalf("beat %d after the goodbye is not a goodbye", i+1)
		}
	}
}
