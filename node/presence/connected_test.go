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

// TestAnswersCarryConnectTime: a view that learns a device from a sync
// or a chat snapshot, or from its announcement again after a join, shows
// the time the device connected, as the device's own node does; the
// answers and the announcement carried the time they were made. And a
// device's own "up" event, heard after an answer listed it, sets its
// time.
func TestAnswersCarryConnectTime(t *testing.T) {
	srv := storetest.RunServer(t)
	v2, hub2 := newTestView(t, srv, "n2", nil)
	serve(t, v2)
	watcher := storetest.Connect(t, srv)
	events, err := watcher.SubscribeSync(subjects.Presence)
	if err != nil {
		t.Fatal(err)
	}
	if err := watcher.Flush(); err != nil {
		t.Fatal(err)
	}
	nextEvent := func() []byte {
		t.Helper()
		m, err := events.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return m.Data
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	beat2 := func() []byte {
		b, err := json.Marshal(heartbeat{Node: "n2", Epoch: v2.epoch, Seq: v2.Seq()})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	// n3 delivers c1 before x connects on n2, and misses x's event.
	v3, hub3 := newTestView(t, srv, "n3", nil)
	serve(t, v3)
	v3.Beat(false)
	localMember(t, hub3, "c1")
	if _, err := v3.Chat(ctx, "c1"); err != nil { // waits for the snapshot
		t.Fatal(err)
	}

	d := new(fanout.Device)
	d.Init("dx")
	u, _, _, ok := hub2.AddDevice(d, "x", "x", false, 1)
	if !ok {
		t.Fatal("device not added")
	}
	hub2.Link(u, "c1", nil)
	d.SetPresence(true, func() { v2.Announce(d, true, u.ChatIDs()) })
	v2.Handle(nextEvent()) // the node's view hears its own event
	own := v2.Devices("x")
	if len(own) != 1 || own[0].ConnectedAt.IsZero() {
		t.Fatalf("n2's own view shows x's devices %+v", own)
	}
	connected := own[0].ConnectedAt
	check := func(v *View, how string) {
		t.Helper()
		if got := v.Devices("x"); len(got) != 1 || !got[0].ConnectedAt.Equal(connected) {
			t.Errorf("%s: x's devices %+v, want connected at %v as on n2", how, got, connected)
		}
	}

	// n3 hears of n2 and syncs: it learns x from n2's device list.
	v3.HandleHeartbeat(beat2())
	check(v3, "learnt from a sync")

	// n1 knows n2 and starts delivering c1: it learns x from n2's answer
	// to its snapshot.
	v1, hub1 := newTestView(t, srv, "n1", nil)
	serve(t, v1)
	v1.HandleHeartbeat(beat2())
	localMember(t, hub1, "c1")
	if _, err := v1.Chat(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	check(v1, "learnt from a snapshot")

	// x joins c2: its device is announced again with its connect time.
	hub2.Link(u, "c2", nil)
	v2.AnnounceJoin(u)
	var again event
	if err := json.Unmarshal(nextEvent(), &again); err != nil {
		t.Fatal(err)
	}
	if !again.Again || !again.At.Equal(connected) {
		t.Errorf("x announced again %+v, want at %v", again, connected)
	}

	// An answer listed y's device before its own "up" came: the event
	// sets the time.
	at := time.Now().Add(-time.Minute).UTC()
	v1.merge(snapshot{Node: "n9", Epoch: 9, Devices: []event{{User: "y", Name: "y", Device: "dy", Node: "n9", At: time.Now(), Chats: []string{"c1"}}}})
	b, err := json.Marshal(event{User: "y", Name: "y", Device: "dy", Node: "n9", Up: true, At: at, Chats: []string{"c1"}, Epoch: 9, Seq: 1})
	if err != nil {
		t.Fatal(err)
	}
	v1.Handle(b)
	if got := v1.Devices("y"); len(got) != 1 || !got[0].ConnectedAt.Equal(at) {
		t.Errorf("y's devices %+v after its up event, want connected at %v", got, at)
	}
}
