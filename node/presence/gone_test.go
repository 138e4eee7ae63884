package presence

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/natterchat/natter/store/storetest"
)

// TestGoneNodeStaysGone: once a node said goodbye, a late snapshot
// answer, event or heartbeat of that run brings back neither the node nor
// its devices: they came back online until the next sweep dropped them
// again, with a second Offline (and LeftRoom for its guests). A new run
// of the node is heard of as usual. A run dropped as silent ignores late
// answers and events too, but its heartbeat brings it back: it may have
// been cut off only.
func TestGoneNodeStaysGone(t *testing.T) {
	srv := storetest.RunServer(t)
	v, hub := newTestView(t, srv, "n1", nil)
	localMember(t, hub, "c1")

	const epoch = 42
	handle, up := fromN2(t, v)
	known := func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		return v.nodes["n2"] != nil
	}

	handle(up("x", "dx", 1, epoch))
	if !v.Online("x") {
		t.Fatal("x is not online after its event")
	}
	handle(heartbeat{Node: "n2", Epoch: epoch, Seq: 1, Gone: true})
	if v.Online("x") || known() {
		t.Fatal("the goodbye left n2 or its device in the view")
	}

	v.merge(snapshot{Node: "n2", Epoch: epoch, Seq: 1, Devices: []event{up("x", "dx", 0, 0)}})
	if v.Online("x") || known() {
		t.Error("a late snapshot answer of the gone run brought n2 back")
	}
	handle(up("y", "dy", 2, epoch))
	down := up("x", "dx", 3, epoch)
	down.Up = false
	handle(down)
	if v.Online("y") || known() {
		t.Error("a late event of the gone run brought n2 back")
	}
	handle(heartbeat{Node: "n2", Epoch: epoch, Seq: 3})
	if known() {
		t.Error("a late heartbeat of the gone run brought n2 back")
	}

	// The node restarts: its new run is heard of.
	handle(up("z", "dz", 1, epoch+1))
	if !v.Online("z") || !known() {
		t.Error("an event of the node's new run was ignored")
	}

	// The new run falls silent: it is dropped, and late messages of it
	// are ignored; but it may only have been cut off, and its next
	// heartbeat brings it back.
	v.Sweep(time.Now().Add(time.Hour))
	if v.Online("z") || known() {
		t.Fatal("the sweep left the silent n2 or its device in the view")
	}
	v.merge(snapshot{Node: "n2", Epoch: epoch + 1, Seq: 1, Devices: []event{up("z", "dz", 0, 0)}})
	handle(up("w", "dw", 2, epoch+1))
	if v.Online("z") || v.Online("w") || known() {
		t.Error("a late answer or event of the silent run brought n2 back")
	}
	handle(heartbeat{Node: "n2", Epoch: epoch + 1, Seq: 2})
	if !known() {
		t.Error("a heartbeat of the silent run did not bring n2 back")
	}
}

// TestOldRunIgnored: once a view heard a node's new run (it restarted),
// whatever of its old run comes late is ignored: a goodbye, a heartbeat,
// an event, a snapshot answer or a sync answer. The goodbye dropped the
// node and took the new run's devices offline, told to their
// co-members; an event or answer of the old run brought its devices back
// or took the new run's down. A run that only looks older (a clock that
// stepped back) is heard once the newer one is swept.
func TestOldRunIgnored(t *testing.T) {
	srv := storetest.RunServer(t)
	v, hub := newTestView(t, srv, "n1", nil)
	localMember(t, hub, "c1")

	const oldRun, newRun = 42, 43
	handle, up := fromN2(t, v)
	run := func() int64 {
		v.mu.Lock()
		defer v.mu.Unlock()
		if st := v.nodes["n2"]; st != nil {
			return st.run
		}
		return 0
	}

	handle(up("x", "dx", 1, oldRun))
	// n2 restarts: its new run's first event and heartbeat.
	handle(up("y", "dy", 1, newRun))
	handle(heartbeat{Node: "n2", Epoch: newRun, Seq: 1})
	if !v.Online("y") || run() != newRun {
		t.Fatal("the new run of n2 is not heard")
	}
	frames := v.FramesOut()

	handle(heartbeat{Node: "n2", Epoch: oldRun, Seq: 7})
	if run() != newRun {
		t.Error("a late heartbeat of the old run was taken as n2's run")
	}
	handle(up("z", "dz", 2, oldRun))
	if v.Online("z") || run() != newRun {
		t.Error("a late event of the old run was applied")
	}
	v.merge(snapshot{Node: "n2", Epoch: oldRun, Seq: 1, Devices: []event{up("w", "dw", 0, 0)}})
	if v.Online("w") {
		t.Error("a late snapshot answer of the old run was merged")
	}
	if _, ok := v.SeqOf("n2"); !ok {
		t.Error("a late snapshot answer of the old run marked n2 for a sync")
	}
	v.applySync("n2", nil, nil, oldRun, 1)
	if !v.Online("y") {
		t.Error("a late sync answer of the old run took the new run's device down")
	}
	handle(heartbeat{Node: "n2", Epoch: oldRun, Seq: 7, Gone: true})
	if !v.Online("y") || run() != newRun {
		t.Error("a late goodbye of the old run dropped n2's new run")
	}
	if n := v.FramesOut(); n != frames {
		t.Errorf("the old run's late messages told %d Online or Offline", n-frames)
	}

	// A run that looks older is heard once the run held is swept as
	// silent: a node whose clock stepped back across its restart is not
	// shut out while its runs are remembered as gone.
	v.Sweep(time.Now().Add(time.Hour))
	handle(heartbeat{Node: "n2", Epoch: oldRun, Seq: 0})
	if run() != oldRun {
		t.Error("a run older than the one swept was not heard")
	}
}

// fromN2 is how the tests of gone.go speak as node n2 to v: handle hands
// v an event or a heartbeat as NATS would, up is n2's device coming
// online in c1 in n2's run.
func fromN2(t *testing.T, v *View) (handle func(x any), up func(user, device string, seq uint64, run int64) event) {
	handle = func(x any) {
		t.Helper()
		b, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		switch x.(type) {
		case event:
			v.Handle(b)
		case heartbeat:
			v.HandleHeartbeat(b)
		}
	}
	up = func(user, device string, seq uint64, run int64) event {
		return event{User: user, Name: user, Device: device, Node: "n2", Up: true, At: time.Now(), Chats: []string{"c1"}, Epoch: run, Seq: seq}
	}
	return handle, up
}
