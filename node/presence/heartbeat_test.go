package presence

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

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
		OnChatStart: func(chatID string) { v.ChatStarted(chatID) },
		OnChatStop:  func(chatID string) { v.ChatStopped(chatID) },
		OnUserGone:  func(userID string) { v.UserGone(userID) }})
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
	sub := watchBeats(t, srv)
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

// TestFirstBeatAnswered: a node answers another node's first beat of a
// run with its own beat at once, not at its next tick, and only once per
// run; a view's first beat bounds its wait for the others' answers to
// peerAnswerWait. A node that just started thus counts the live nodes
// within a fraction of a second, instead of making every chat snapshot of
// its first two heartbeat intervals wait them out (a join storm on a
// fresh node waited up to 2 s per join).
func TestFirstBeatAnswered(t *testing.T) {
	srv := storetest.RunServer(t)
	v, _ := newTestView(t, srv, "n1", func(c *Config) { c.HeartbeatInterval = time.Hour })
	sub := watchBeats(t, srv)
	if time.Until(v.peersKnown()) < time.Minute {
		t.Fatalf("before its first beat the view counts on peers known at %v, want two heartbeat intervals", v.peersKnown())
	}
	beat := func(epoch int64) []byte {
		b, _ := json.Marshal(heartbeat{Node: "n2", Epoch: epoch})
		return b
	}
	answered := func(want bool) {
		t.Helper()
		wait := 10 * time.Second
		if !want {
			wait = 300 * time.Millisecond // an answer comes within a round trip
		}
		m, err := sub.NextMsg(wait)
		if !want {
			if err == nil {
				t.Fatalf("answered a run it had heard already: %s", m.Data)
			}
			return
		}
		if err != nil {
			t.Fatalf("no answer to a new run's beat: %v", err)
		}
		var hb heartbeat
		if err := json.Unmarshal(m.Data, &hb); err != nil || hb.Node != "n1" {
			t.Fatalf("answer %s (%v), want n1's beat", m.Data, err)
		}
	}
	v.HandleHeartbeat(beat(1))
	answered(true)
	v.HandleHeartbeat(beat(1))
	answered(false)
	v.HandleHeartbeat(beat(2)) // n2 restarted
	answered(true)
	if time.Until(v.peersKnown()) > peerAnswerWait {
		t.Fatalf("after its first beat the view counts on peers known at %v, want within %v", v.peersKnown(), peerAnswerWait)
	}
}

// TestPeersKnown: a view is not sure it heard every node before its
// first beat, nor within peerAnswerWait after it, and is once that has
// passed; a node's readiness waits for it.
func TestPeersKnown(t *testing.T) {
	srv := storetest.RunServer(t)
	v, _ := newTestView(t, srv, "n1", func(c *Config) { c.HeartbeatInterval = time.Hour })
	if v.PeersKnown() {
		t.Fatal("peers known before the view's first beat")
	}
	beaten := time.Now()
	v.Beat(false)
	for !v.PeersKnown() {
		if time.Since(beaten) > 10*time.Second {
			t.Fatalf("peers not known %v after the first beat, want %v", time.Since(beaten), peerAnswerWait)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d := time.Since(beaten); d < peerAnswerWait {
		t.Fatalf("peers known %v after the first beat, before the others could answer (%v)", d, peerAnswerWait)
	}
}

// watchBeats subscribes a connection of its own to every heartbeat.
func watchBeats(t *testing.T, srv *server.Server) *nats.Subscription {
	t.Helper()
	watcher := storetest.Connect(t, srv)
	sub, err := watcher.SubscribeSync(subjects.Heartbeat)
	if err != nil {
		t.Fatal(err)
	}
	if err := watcher.Flush(); err != nil {
		t.Fatal(err)
	}
	return sub
}
