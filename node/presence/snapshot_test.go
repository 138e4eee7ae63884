package presence

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/natterchat/natter/node/fanout"
	"github.com/natterchat/natter/store/storetest"
	"github.com/natterchat/natter/subjects"
)

// TestSnapshotRestarts: a chat whose delivery stops and starts again
// while its snapshot is in flight gets a snapshot once more after it; the
// users forgotten or taken down in between stayed missing otherwise.
func TestSnapshotRestarts(t *testing.T) {
	srv := storetest.RunServer(t)
	v, hub := newTestView(t, srv, "n1", nil)
	subs, err := v.Serve()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, s := range subs {
			_ = s.Unsubscribe()
		}
	})
	watcher := storetest.Connect(t, srv)
	requests, err := watcher.SubscribeSync(subjects.PresenceSnapshot("c1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := watcher.Flush(); err != nil {
		t.Fatal(err)
	}
	d := new(fanout.Device)
	d.Init("local-device")
	u, _, ok := hub.AddDevice(d, "local", "local", false, 1)
	if !ok {
		t.Fatal("device not added")
	}
	// The snapshot waits for answers for two heartbeat intervals of the
	// view's start (up to snapshotWait): the restart comes well within.
	hub.Link(u, "c1", nil)
	hub.Unlink(u, "c1")
	hub.Link(u, "c1", nil)
	for i := range 2 {
		if _, err := requests.NextMsg(15 * time.Second); err != nil {
			t.Fatalf("snapshot request %d: %v", i+1, err)
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
	subs, err := v.Serve()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, s := range subs {
			_ = s.Unsubscribe()
		}
	})
	// n3 is alive and known, but nothing answers for it.
	b, err := json.Marshal(event{User: "x", Name: "x", Device: "dx", Node: "n3", Up: true, At: time.Now(), Chats: []string{"c9"}, Epoch: 7, Seq: 1})
	if err != nil {
		t.Fatal(err)
	}
	v.Handle(b)
	if _, ok := v.SeqOf("n3"); !ok {
		t.Fatal("n3's numbering is not known after its first event")
	}
	d := new(fanout.Device)
	d.Init("local-device")
	u, _, ok := hub.AddDevice(d, "local", "local", false, 1)
	if !ok {
		t.Fatal("device not added")
	}
	hub.Link(u, "c1", nil)
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
