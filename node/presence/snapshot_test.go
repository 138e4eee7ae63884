package presence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/natterchat/natter/internal/testwait"
	"github.com/natterchat/natter/node/fanout"
	"github.com/natterchat/natter/store/storetest"
	"github.com/natterchat/natter/subjects"
)

// TestSnapshotRestarts: a chat whose delivery stops and starts again
// while its snapshot is in flight gets a snapshot once more after it; the
// users forgotten or taken down in between stayed missing otherwise.
func TestSnapshotRestarts(t *testing.T) {
	srv := storetest.RunServer(t)
	v, hub := newTestView(t, srv, "n1", func(c *Config) { c.NodeDeadAfter = time.Hour })
	serve(t, v)
	// A live node that never answers: a lone node takes no snapshot, and
	// each snapshot waits snapshotWait for n2's answer.
	b, err := json.Marshal(heartbeat{Node: "n2", Epoch: 7})
	if err != nil {
		t.Fatal(err)
	}
	v.HandleHeartbeat(b)
	watcher := storetest.Connect(t, srv)
	requests, err := watcher.SubscribeSync(subjects.PresenceSnapshot("c1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := watcher.Flush(); err != nil {
		t.Fatal(err)
	}
	u := localMember(t, hub)
	// The snapshot waits snapshotWait for n2: the restart comes well
	// within.
	hub.Link(u, "c1", nil)
	hub.Unlink(u, "c1")
	hub.Link(u, "c1", nil)
	for i := range 2 {
		if _, err := requests.NextMsg(15 * time.Second); err != nil {
			t.Fatalf("snapshot request %d: %v", i+1, err)
		}
	}
}

// TestLoneNodeTakesNoSnapshot: a node that knows no other live node
// takes no snapshot of a chat it starts to deliver: it was a goroutine,
// an inbox and a request that only the node itself answered, its answer
// thrown away. A node that joins later is synced at its first heartbeat.
// With another live node, a chat that starts is snapshotted again.
func TestLoneNodeTakesNoSnapshot(t *testing.T) {
	srv := storetest.RunServer(t)
	v, hub := newTestView(t, srv, "n1", func(c *Config) { c.NodeDeadAfter = time.Hour })
	serve(t, v)
	watcher := storetest.Connect(t, srv)
	requests, err := watcher.SubscribeSync(subjects.PresenceSnapshotWildcard)
	if err != nil {
		t.Fatal(err)
	}
	if err := watcher.Flush(); err != nil {
		t.Fatal(err)
	}
	// The view beats and nobody answers: it knows it is alone once
	// peerAnswerWait has passed.
	v.Beat(false)
	testwait.For(t, 10*time.Second, 10*time.Millisecond, func() error {
		if time.Now().Before(v.peersKnown()) {
			return errors.New("the view does not know its peers yet")
		}
		return nil
	})
	u := localMember(t, hub, "c1")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := v.Chat(ctx, "c1"); err != nil { // waits for a snapshot in flight
		t.Fatal(err)
	}
	// A request on the view's own connection after the snapshot's: NATS
	// keeps a publisher's order, so a snapshot request comes before it.
	end := subjects.PresenceSnapshot("end")
	if err := v.cfg.NC.PublishRequest(end, v.cfg.NC.NewInbox(), nil); err != nil {
		t.Fatal(err)
	}
	m, err := requests.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != end {
		t.Errorf("a lone node asked %s", m.Subject)
	}

	// A second node appears: the first hears its heartbeat, and the next
	// chat that starts is snapshotted.
	v2, _ := newTestView(t, srv, "n2", nil)
	serve(t, v2)
	b, err := json.Marshal(heartbeat{Node: "n2", Epoch: v2.epoch, Seq: v2.Seq()})
	if err != nil {
		t.Fatal(err)
	}
	v.HandleHeartbeat(b)
	if _, ok := v.SeqOf("n2"); !ok {
		t.Error("the new node was not synced at its first heartbeat")
	}
	hub.Link(u, "c2", nil)
	for {
		m, err := requests.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("no snapshot of c2 with two nodes: %v", err)
		}
		if m.Subject == subjects.PresenceSnapshot("c2") {
			break
		}
		if m.Subject != end {
			t.Fatalf("request %s, want c2's snapshot", m.Subject)
		}
	}
}

// TestSnapshotMarksSilentNodes: a live node whose answer to a chat's
// snapshot does not come is marked for a sync at its next heartbeat,
// which lists its devices in the chat; before, the snapshot simply ended
// without them and nothing repaired the view.
func TestSnapshotMarksSilentNodes(t *testing.T) {
	srv := storetest.RunServer(t)
	v, hub := newTestView(t, srv, "n1", func(c *Config) { c.NodeDeadAfter = time.Minute })
	serve(t, v)
	// n3 is alive and known, but nothing answers for it.
	b, err := json.Marshal(event{User: "x", Name: "x", Device: "dx", Node: "n3", Up: true, At: time.Now(), Chats: []string{"c9"}, Epoch: 7, Seq: 1})
	if err != nil {
		t.Fatal(err)
	}
	v.Handle(b)
	if _, ok := v.SeqOf("n3"); !ok {
		t.Fatal("n3's numbering is not known after its first event")
	}
	localMember(t, hub, "c1")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := v.Chat(ctx, "c1"); err != nil { // waits for the snapshot
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("the snapshot did not end")
	}
	if _, ok := v.SeqOf("n3"); ok {
		t.Error("n3 did not answer the snapshot and is not marked for a sync")
	}
}

// TestSnapshotAnswerPaged: a node with more online members of a chat than
// one NATS message holds answers the chat's snapshot in pages, and the
// asker hears all of them; the answer was one message, which NATS
// refused past its 1 MiB payload limit, and the asker heard nothing.
func TestSnapshotAnswerPaged(t *testing.T) {
	srv := storetest.RunServer(t)
	v1, _ := newTestView(t, srv, "n1", nil)
	v2, hub2 := newTestView(t, srv, "n2", nil)
	serve(t, v1)
	serve(t, v2)
	// About 1.5 MB of answer: more than NATS's default payload limit.
	const members = 12000
	for i := range members {
		d := new(fanout.Device)
		d.Init(fmt.Sprintf("device-%05d", i))
		u, _, _, ok := hub2.AddDevice(d, fmt.Sprintf("member-%05d", i), fmt.Sprintf("member-%05d", i), false, 1)
		if !ok {
			t.Fatal("device not added")
		}
		hub2.Link(u, "c1", nil)
		d.SetPresence(true, func() {})
	}
	// n1 hears n2's heartbeat, so its query waits for n2's whole answer.
	b, err := json.Marshal(heartbeat{Node: "n2", Epoch: v2.epoch, Seq: v2.Seq()})
	if err != nil {
		t.Fatal(err)
	}
	v1.HandleHeartbeat(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := v1.Chat(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	online := 0
	for i := range members {
		if c.Online(fmt.Sprintf("member-%05d", i)) {
			online++
		}
	}
	if online != members {
		t.Errorf("n1 heard %d of n2's %d online members of the chat", online, members)
	}
}

// serve has v answer the cluster's requests until the test ends, from
// the moment it returns: the subscriptions are in place at the server.
func serve(t *testing.T, v *View) {
	t.Helper()
	subs, err := v.Serve()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.cfg.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, s := range subs {
			_ = s.Unsubscribe()
		}
	})
}
