package fanout

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/natterchat/natter/internal/testwait"
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
	ns := storetest.RunServer(tb)
	nc := storetest.Connect(tb, ns)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, nc, store.Config{})
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
type peer struct {
	conn   net.Conn
	frames chan []byte // text payloads, in order; closed when the conn ends
}

// device connects a WebSocket, attaches its server end as a device of
// userID (registered in the hub, chats loaded) and returns both ends.
// With drain, the client end's frames are read and counted instead of
// kept.
func (r *rig) device(userID string) (*Device, *peer) {
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
	cc, _, _, err := ws.Dialer{Timeout: 5 * time.Second}.Dial(context.Background(), "ws://"+r.ln.Addr().String()+"/")
	if err != nil {
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
	u, first, ok := r.hub.AddDevice(d, userID, userID, false, 10)
	if !ok {
		r.t.Fatal("AddDevice refused")
	}
	if err := r.hub.Ready(u, first); err != nil {
		r.t.Fatal(err)
	}
	p := &peer{conn: cc, frames: make(chan []byte, 4096)}
	go p.read()
	r.t.Cleanup(func() { cc.Close() })
	return d, p
}

// read passes the peer's text frames on until the connection ends.
func (p *peer) read() {
	defer close(p.frames)
	for {
		hdr, err := ws.ReadHeader(p.conn)
		if err != nil {
			return
		}
		payload := make([]byte, hdr.Length)
		if _, err := io.ReadFull(p.conn, payload); err != nil {
			return
		}
		if hdr.OpCode == ws.OpText {
			p.frames <- payload
		}
	}
}

// next returns the next NewMessage the peer received.
func (p *peer) next(t testing.TB) wire.NewMessage {
	t.Helper()
	select {
	case b, ok := <-p.frames:
		if !ok {
			t.Fatal("connection ended")
		}
		var f struct {
			Message struct {
				Type     string          `json:"type"`
				Contents json.RawMessage `json:"contents"`
			} `json:"message"`
		}
		var m wire.NewMessage
		if err := json.Unmarshal(b, &f); err != nil || f.Message.Type != wire.TypeNewMessage || json.Unmarshal(f.Message.Contents, &m) != nil {
			t.Fatalf("frame %s is not a NewMessage", b)
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no frame within 10s")
	}
	return wire.NewMessage{}
}

// nothing fails if the peer receives a frame within d.
func (p *peer) nothing(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case b := <-p.frames:
		t.Fatalf("unexpected frame %s", b)
	case <-time.After(d):
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
