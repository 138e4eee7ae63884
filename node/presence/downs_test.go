package presence

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/natterchat/natter/node/fanout"
	"github.com/natterchat/natter/node/wsconn"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/store/storetest"
)

// TestSnapshotAfterLaterDowns: a chat's snapshot answer listed before a
// device's "down" that the view applied first is merged without that
// device, the rest of it kept and no sync needed; once the view no
// longer remembers every down since the answer's number, the answer is
// dropped and the node marked for a sync instead.
func TestSnapshotAfterLaterDowns(t *testing.T) {
	srv := storetest.RunServer(t)
	nc := storetest.Connect(t, srv)
	recent := fanout.NewRecent()
	hub, err := fanout.New(fanout.Config{NodeID: "n1", NC: nc, Store: store.NewMemory(store.MemoryConfig{}), Recent: recent,
		Render: func(string, *store.Message) []byte { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Close)
	v, err := New(Config{NodeID: "n1", NC: nc, Hub: hub, Recent: recent})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	// A local member makes chat c1 delivered here; its device hears the
	// view's Online and Offline on a real socket.
	localMember(t, hub, "c1")

	const epoch = 42
	seq := uint64(0)
	send := func(user, device string, up bool) {
		t.Helper()
		seq++
		b, err := json.Marshal(event{User: user, Name: user, Device: device, Node: "n2", Up: up, At: time.Now(), Chats: []string{"c1"}, Epoch: epoch, Seq: seq})
		if err != nil {
			t.Fatal(err)
		}
		v.Handle(b)
	}
	up := func(user, device string) event {
		return event{User: user, Name: user, Device: device, Node: "n2", Up: true, Chats: []string{"c1"}}
	}
	send("x", "dx", true)
	listedAt := seq
	send("x", "dx", false)
	v.merge(snapshot{Node: "n2", Epoch: epoch, Seq: listedAt, Devices: []event{up("x", "dx"), up("y", "dy")}})
	if v.Online("x") {
		t.Error("the snapshot brought back x, whose device a later event took down")
	}
	if !v.Online("y") {
		t.Error("the snapshot's other device was not merged")
	}
	if _, ok := v.SeqOf("n2"); !ok {
		t.Error("the merge marked n2 for a sync")
	}

	// More downs than the view remembers: an answer listed before them
	// is dropped, and n2 is to be synced.
	listedAt = seq
	for i := range maxRecentDowns + 1 {
		send("z", fmt.Sprintf("dz%d", i), true)
		send("z", fmt.Sprintf("dz%d", i), false)
	}
	v.merge(snapshot{Node: "n2", Epoch: epoch, Seq: listedAt, Devices: []event{up("w", "dw")}})
	if v.Online("w") {
		t.Error("an answer older than the remembered downs was merged")
	}
	if _, ok := v.SeqOf("n2"); ok {
		t.Error("n2 is not marked for a sync after a dropped answer")
	}
}

// nopHandler ignores client frames and closes.
type nopHandler struct{}

func (nopHandler) OnMessage(*wsconn.Conn, []byte)           {}
func (nopHandler) OnClose(*wsconn.Conn, wsconn.CloseReason) {}

// localMember connects user "local" on hub with one device, its socket
// real (attachSocket), and makes it a member of chats: those chats are
// delivered here, and the device hears the view's Online and Offline.
func localMember(t *testing.T, hub *fanout.Hub, chats ...string) *fanout.User {
	t.Helper()
	d := new(fanout.Device)
	d.Init("local-device")
	attachSocket(t, d)
	u, _, _, ok := hub.AddDevice(d, "local", "local", false, 1)
	if !ok {
		t.Fatal("device not added")
	}
	for _, c := range chats {
		hub.Link(u, c, nil)
	}
	return u
}

// attachSocket attaches the server end of a loopback TCP connection to
// d's WebSocket connection; the client end reads and drops what it gets.
func attachSocket(t *testing.T, d *fanout.Device) {
	t.Helper()
	conns, err := wsconn.New(wsconn.Config{}, nopHandler{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conns.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	go func() { _, _ = io.Copy(io.Discard, client) }()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if err := conns.AttachConnBuffered(d.Conn(), server, d, nil, nil); err != nil {
		t.Fatal(err)
	}
}
