package fanout

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/natterchat/natter/internal/testwait"
	"github.com/natterchat/natter/internal/wstest"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/node/wsconn"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/store/storetest"
)

// testRender encodes a stored message as the node does (chat.Render,
// which this package cannot import).
func testRender(room string, m *store.Message) []byte {
	return wire.Encode(wire.ChannelChatRoom, wire.TypeNewMessage, wire.NewMessage{
		Room: room, User: m.UserID, Message: m.Text, Chat: m.ChatID, Seq: m.Seq, ID: m.ID, PostedAt: m.PostedAt, Device: m.DeviceID,
	})
}

// rig is a hub on a real embedded NATS server with JetStream, and a
// connection layer whose devices are real loopback WebSockets.
type rig struct {
	t     testing.TB
	hub   *Hub
	store *store.JetStream
	conns *wsconn.Server
	ln    net.Listener
}

// nopHandler ignores client frames: these tests only deliver.
type nopHandler struct{}

func (nopHandler) OnMessage(*wsconn.Conn, []byte)           {}
func (nopHandler) OnClose(*wsconn.Conn, wsconn.CloseReason) {}

// newRig starts a hub; mod adjusts its config. The hub is not started:
// tests that deliver through NATS call start.
func newRig(tb testing.TB, mod func(*Config)) *rig {
	tb.Helper()
	return newRigOn(tb, store.Config{}, mod)
}

// newRigOn is newRig on a store opened with sc.
func newRigOn(tb testing.TB, sc store.Config, mod func(*Config)) *rig {
	tb.Helper()
	ns := storetest.RunServer(tb)
	nc := storetest.Connect(tb, ns)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, nc, sc)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	cfg := Config{NodeID: "n1", NC: nc, Store: st, Recent: NewRecent(), Render: testRender, Log: slog.New(slog.DiscardHandler)}
	if mod != nil {
		mod(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	conns, err := wsconn.New(wsconn.Config{Logger: cfg.Log}, nopHandler{})
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	r := &rig{t: tb, hub: h, store: st, conns: conns, ln: ln}
	tb.Cleanup(func() {
		ln.Close()
		conns.Close()
		h.Close()
	})
	return r
}

// start runs the hub's loops and subscriptions.
func (r *rig) start() {
	r.t.Helper()
	if err := r.hub.Start(); err != nil {
		r.t.Fatal(err)
	}
	if err := r.hub.cfg.NC.Flush(); err != nil {
		r.t.Fatal(err)
	}
}

// peer is the client end of a device's WebSocket.
type peer struct{ *wstest.Client }

// device connects a WebSocket, attaches its server end as a device of
// userID (registered in the hub, chats loaded) and returns both ends.
func (r *rig) device(userID string) (*Device, *peer) {
	r.t.Helper()
	var wc *wstest.Client
	d := r.attach(userID, func(url string) (err error) {
		wc, err = wstest.Dial(context.Background(), ws.Dialer{Timeout: 5 * time.Second}, url)
		return err
	})
	r.t.Cleanup(func() { wc.Conn.Close() })
	return d, &peer{wc}
}

// member connects a device of userID and makes the user a local member
// of chatID, delivered from now on.
func (r *rig) member(chatID, userID string) *peer {
	r.t.Helper()
	_, p := r.device(userID)
	var since uint64
	r.hub.Link(r.hub.User(userID), chatID, &since)
	return p
}

// drainedDevice is device for benchmarks: its client end discards what
// it reads without decoding it, so that the client costs little of the
// machine the benchmark measures.
func (r *rig) drainedDevice(userID string) *Device {
	r.t.Helper()
	return r.attach(userID, func(url string) error {
		conn, _, _, err := ws.Dialer{Timeout: 5 * time.Second}.Dial(context.Background(), url)
		if err != nil {
			return err
		}
		r.t.Cleanup(func() { conn.Close() })
		go func() { _, _ = io.Copy(io.Discard, conn) }()
		return nil
	})
}

// attach runs dial against the rig's listener, attaches the server end
// as a device of userID and registers it in the hub.
func (r *rig) attach(userID string, dial func(url string) error) *Device {
	r.t.Helper()
	type accepted struct {
		c   net.Conn
		err error
	}
	ch := make(chan accepted, 1)
	go func() {
		c, err := r.ln.Accept()
		if err == nil {
			_, err = ws.Upgrade(c)
		}
		ch <- accepted{c, err}
	}()
	if err := dial("ws://" + r.ln.Addr().String() + "/"); err != nil {
		r.t.Fatalf("dial: %v", err)
	}
	a := <-ch
	if a.err != nil {
		r.t.Fatalf("accept: %v", a.err)
	}
	d := &Device{}
	d.Init("dev-" + userID + fmt.Sprint(time.Now().UnixNano()))
	if err := r.conns.AttachConn(d.Conn(), a.c, d); err != nil {
		r.t.Fatal(err)
	}
	u, first, _, ok := r.hub.AddDevice(d, userID, userID, false, 10)
	if !ok {
		r.t.Fatal("AddDevice refused")
	}
	if err := r.hub.Ready(u, first); err != nil {
		r.t.Fatal(err)
	}
	return d
}

// next returns the next NewMessage the peer received; any other frame
// fails.
func (p *peer) next(t testing.TB) wire.NewMessage {
	t.Helper()
	f, err := p.Find(wire.TypeNewMessage, true, 10*time.Second)
	var m wire.NewMessage
	if err == nil {
		err = f.Decode(&m)
	}
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// nothing fails if the peer receives a frame within d.
func (p *peer) nothing(t testing.TB, d time.Duration) {
	t.Helper()
	if f, ok := p.Next(d); ok {
		t.Fatalf("unexpected frame %s", f.Raw)
	}
}

// room creates a public room and returns its id.
func (r *rig) room(name string) string {
	r.t.Helper()
	c, _, err := r.store.EnsurePublicRoom(context.Background(), name, "creator")
	if err != nil {
		r.t.Fatal(err)
	}
	return c.ID
}

// publish stores a message in chatID and returns its sequence.
func (r *rig) publish(chatID, text string) uint64 {
	r.t.Helper()
	seq, _, err := r.store.PublishMessage(context.Background(), store.Message{ChatID: chatID, ID: fmt.Sprintf("m-%s-%d", text, time.Now().UnixNano()), UserID: "sender", Text: text})
	if err != nil {
		r.t.Fatal(err)
	}
	return seq
}

// checkFor polls f until it returns nil or the timeout passes.
func checkFor(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	testwait.For(t, timeout, 10*time.Millisecond, f)
}
