package presence

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/natterchat/natter/node/fanout"
	"github.com/natterchat/natter/store/storetest"
)

// TestForgetLooksAtChangesOnly: a sweep looks only at the users whose
// interest to this node a change may have ended, and forgets those it
// ended: a user who left the chat delivered here, a user whose last local
// device was unregistered, every user of a chat no longer delivered; a
// sweep after no change looks at nobody, however many users are online.
// Looking at every user at every heartbeat held the one core of a busy
// node for milliseconds per second.
func TestForgetLooksAtChangesOnly(t *testing.T) {
	srv := storetest.RunServer(t)
	v, hub := newTestView(t, srv, "n1", nil)
	local := localMember(t, hub, "c1")

	seq := uint64(0)
	send := func(user, device, node string, up bool, chats ...string) {
		t.Helper()
		seq++
		b, err := json.Marshal(event{User: user, Name: user, Device: device, Node: node, Up: up, At: time.Now(), Chats: chats, Epoch: 42, Seq: seq})
		if err != nil {
			t.Fatal(err)
		}
		v.Handle(b)
	}
	const users = 200
	for i := range users {
		u := fmt.Sprintf("u%d", i)
		send(u, "d-"+u, "n2", true, "c1")
	}
	// sweep runs one heartbeat's sweep and checks how many users it
	// looked at and how many the view holds after it.
	sweep := func(step string, looks, online int) {
		t.Helper()
		before := v.lookedAt()
		v.Sweep(time.Now())
		if got := v.lookedAt() - before; got != looks {
			t.Errorf("%s: the sweep looked at %d users, want %d", step, got, looks)
		}
		if got := v.OnlineUsers(); got != online {
			t.Errorf("%s: the view holds %d online users, want %d", step, got, online)
		}
	}
	// The view also holds "local", the local member, once its own
	// event is back; this test hands the view events itself.
	sweep("nothing changed", 0, users)

	v.ChatChanged("u0", "c1", false)
	sweep("u0 left c1", 1, users-1)

	// u1 has a second device; one goes down and u1 stays, still in c1.
	send("u1", "d2-u1", "n2", true, "c1")
	send("u1", "d-u1", "n2", false)
	sweep("a device of u1 went down", 1, users-1)

	// solo is on this node and on n2. Once it left c1, this node keeps
	// it for its local device alone: through that device's "down", which
	// may be applied before the device is unregistered, until the
	// registry lets it go.
	d := new(fanout.Device)
	d.Init("solo-here")
	attachSocket(t, d)
	if _, _, _, ok := hub.AddDevice(d, "solo", "solo", false, 1); !ok {
		t.Fatal("device not added")
	}
	send("solo", "solo-here", "n1", true, "c1")
	send("solo", "solo-there", "n2", true, "c1")
	v.ChatChanged("solo", "c1", false)
	sweep("solo left c1", 1, users)
	send("solo", "solo-here", "n1", false)
	sweep("solo's local device went down, still registered", 1, users)
	hub.RemoveDevice(d)
	sweep("solo's local device unregistered", 1, users-1)

	sweep("nothing changed again", 0, users-1)

	// The local member leaves c1: nothing here delivers it, every user
	// in the view is looked at, and all are forgotten.
	hub.Unlink(local, "c1")
	sweep("c1 no longer delivered", users-1, 0)
}

// lookedAt is how many users the sweeps looked at so far.
func (v *View) lookedAt() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.forgetLooks
}
