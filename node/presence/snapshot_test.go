package presence

import (
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
