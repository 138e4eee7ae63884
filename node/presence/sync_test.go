package presence

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/natterchat/natter/store/storetest"
)

// TestSyncKeepsChatsNotAsked: a sync's answer lists a node's devices in
// the chats delivered when the sync asked; a chat that started while the
// answer came had its members merged by its snapshot, and the answer
// takes down only the devices of users in the chats it was asked for.
// It took down the new chat's members, which stayed offline in the view.
func TestSyncKeepsChatsNotAsked(t *testing.T) {
	srv := storetest.RunServer(t)
	v, hub := newTestView(t, srv, "n1", nil)
	localMember(t, hub, "c1", "c2")
	const epoch = 5
	for i, ev := range []event{
		{User: "x", Name: "x", Device: "dx", Node: "n2", Up: true, Chats: []string{"c1"}},
		{User: "y", Name: "y", Device: "dy", Node: "n2", Up: true, Chats: []string{"c2"}},
	} {
		ev.At, ev.Epoch, ev.Seq = time.Now(), epoch, uint64(i+1)
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		v.Handle(b)
	}
	if !v.Online("x") || !v.Online("y") {
		t.Fatal("the events did not bring x and y online")
	}
	// n2's answer, asked for c1 only (c2 started after the request): x
	// went meanwhile.
	v.applySync("n2", map[string]bool{"c1": true}, nil, epoch, 3)
	if v.Online("x") {
		t.Error("the sync did not take down x, in a chat it asked for and not listed")
	}
	if !v.Online("y") {
		t.Error("the sync took down y, in a chat it did not ask for")
	}
	if seq, ok := v.SeqOf("n2"); !ok || seq != 3 {
		t.Errorf("n2's number after the sync is %d (known %v), want 3", seq, ok)
	}
}
