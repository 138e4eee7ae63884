package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/natterchat/natter/node"
	"github.com/natterchat/natter/node/client"
	"github.com/natterchat/natter/node/wire"
)

const testSecret = "session-test-secret-0123"

// testNode is a real node (embedded NATS and JetStream) on a fixed
// address, so that a restart on the same data comes back where clients
// reconnect to.
type testNode struct {
	t      *testing.T
	rate   float64 // frames per second per device
	dir    string
	addr   string
	n      *node.Node
	served chan error
}

func startNode(t *testing.T) *testNode { return startNodeRate(t, 10000) }

func startNodeRate(t *testing.T, rate float64) *testNode {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tn := &testNode{t: t, rate: rate, dir: t.TempDir(), addr: l.Addr().String()}
	tn.start(l)
	t.Cleanup(tn.stop)
	return tn
}

func (tn *testNode) start(l net.Listener) {
	tn.t.Helper()
	n, err := node.New(node.Config{DataDir: tn.dir, Secret: testSecret, AllowGuests: true,
		RateLimit: tn.rate, RateBurst: int(tn.rate), DrainDelay: time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tn.t.Fatalf("node.New: %v", err)
	}
	if l == nil {
		if l, err = net.Listen("tcp", tn.addr); err != nil {
			tn.t.Fatalf("listen again on %s: %v", tn.addr, err)
		}
	}
	tn.n, tn.served = n, make(chan error, 1)
	go func() { tn.served <- n.Serve(l) }()
}

// stop shuts the node down (devices closed with 1001); idempotent.
func (tn *testNode) stop() {
	if tn.n == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := tn.n.Shutdown(ctx); err != nil {
		tn.t.Errorf("Shutdown: %v", err)
	}
	if err := <-tn.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		tn.t.Errorf("Serve: %v", err)
	}
	tn.n = nil
}

func (tn *testNode) restart() {
	tn.stop()
	tn.start(nil)
}

func (tn *testNode) wsURL() string { return "ws://" + tn.addr + "/ws" }

// register creates a user and returns its token.
func (tn *testNode) register(name string) string {
	tn.t.Helper()
	body, _ := json.Marshal(map[string]string{"name": name, "password": "password-" + name})
	res, err := http.Post("http://"+tn.addr+"/api/users", "application/json", bytes.NewReader(body))
	if err != nil {
		tn.t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct{ Token string }
	if res.StatusCode != http.StatusCreated || json.NewDecoder(res.Body).Decode(&out) != nil {
		tn.t.Fatalf("register %s: status %d", name, res.StatusCode)
	}
	return out.Token
}

// connect starts a session for a token ("" for a guest) whose events a
// recorder keeps.
func connect(t *testing.T, tn *testNode, token string) (*client.Session, *recorder) {
	t.Helper()
	cfg := client.SessionConfig{URL: tn.wsURL(), MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond}
	if token != "" {
		cfg.Token = func(context.Context, bool) (string, error) { return token, nil }
	}
	s, err := client.Connect(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	r := newRecorder(s)
	t.Cleanup(func() { _ = s.Close() })
	return s, r
}

// recorder reads a session's events on its own goroutine and keeps the
// NewMessages of every chat in the order delivered.
type recorder struct {
	msgs    chan wire.NewMessage
	frames  chan client.Frame
	conns   chan wire.Welcome
	dropped chan error
}

func newRecorder(s *client.Session) *recorder {
	r := &recorder{msgs: make(chan wire.NewMessage, 10000), frames: make(chan client.Frame, 10000),
		conns: make(chan wire.Welcome, 100), dropped: make(chan error, 100)}
	go func() {
		for ev := range s.Events() {
			switch ev.Kind {
			case client.EventConnected:
				r.conns <- ev.Welcome
			case client.EventDisconnected:
				r.dropped <- ev.Err
			case client.EventFrame:
				if ev.Frame.Type() == wire.TypeNewMessage {
					var m wire.NewMessage
					if ev.Frame.Decode(&m) == nil {
						r.msgs <- m
					}
					continue
				}
				r.frames <- ev.Frame
			}
		}
	}()
	return r
}

// waitFrame returns the next non-message frame of type typ, skipping
// others.
func (r *recorder) waitFrame(t *testing.T, typ string) client.Frame {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case f := <-r.frames:
			if f.Type() == typ {
				return f
			}
		case <-deadline:
			t.Fatalf("no %s within 20s", typ)
		}
	}
}

// join joins a room and waits for the session's own JoinedRoom and the
// history page after it.
func join(t *testing.T, s *client.Session, r *recorder, room string) string {
	t.Helper()
	if err := s.Join(room, 0); err != nil {
		t.Fatal(err)
	}
	var e wire.MemberEvent
	for e.User != s.Welcome().User {
		if err := r.waitFrame(t, wire.TypeJoinedRoom).Decode(&e); err != nil {
			t.Fatal(err)
		}
	}
	r.waitFrame(t, wire.TypeHistoryPage)
	return e.Chat
}

// collect reads n messages of chat and fails on a duplicate or a seq
// going backwards.
func (r *recorder) collect(t *testing.T, chat string, n int) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	var last uint64
	deadline := time.After(60 * time.Second)
	for len(got) < n {
		select {
		case m := <-r.msgs:
			if m.Chat != chat {
				continue
			}
			if got[m.Message] || m.Seq <= last {
				t.Fatalf("message %q (seq %d after %d) delivered twice or out of order", m.Message, m.Seq, last)
			}
			got[m.Message], last = true, m.Seq
		case <-deadline:
			t.Fatalf("%d of %d messages within 60s", len(got), n)
		}
	}
	return got
}

// TestSessionThroughRestart: two users send while their node restarts;
// the sessions reconnect, resume and send again what was not
// acknowledged: every message is stored once and reaches both, in order,
// once.
func TestSessionThroughRestart(t *testing.T) {
	tn := startNode(t)
	alice, ra := connect(t, tn, tn.register("alice"))
	bob, rb := connect(t, tn, tn.register("bob"))
	<-ra.conns
	<-rb.conns
	chat := join(t, alice, ra, "lobby")
	if got := join(t, bob, rb, "lobby"); got != chat {
		t.Fatalf("bob joined %s, alice %s", got, chat)
	}
	const each = 30
	var results []<-chan client.SendResult
	send := func(from int) {
		for i := from; i < from+each/2; i++ {
			for who, s := range map[string]*client.Session{"alice": alice, "bob": bob} {
				_, res := s.Send(wire.SendMessage{ChatRef: wire.ChatRef{Chat: chat}, Message: fmt.Sprintf("%s-%d", who, i)})
				results = append(results, res)
			}
		}
	}
	send(0)
	tn.restart() // sends in flight: some acknowledged, some not
	send(each / 2)
	acknowledged(t, results)
	for _, r := range []*recorder{ra, rb} {
		got := r.collect(t, chat, 2*each)
		for _, who := range []string{"alice", "bob"} {
			for i := range each {
				if !got[fmt.Sprintf("%s-%d", who, i)] {
					t.Fatalf("%s-%d missing", who, i)
				}
			}
		}
	}
	if alice.Pending() != 0 || bob.Pending() != 0 {
		t.Fatalf("pending after every ack: %d, %d", alice.Pending(), bob.Pending())
	}
	select {
	case err := <-ra.dropped:
		t.Logf("alice was disconnected (%v) and came back", err)
	default:
		t.Fatal("the restart did not disconnect alice")
	}
}

// TestSessionGuestRejoins: a guest's identity ends with its connection;
// after the node restarts the session joins its room again as a new
// guest and resumes what was posted while it was away.
func TestSessionGuestRejoins(t *testing.T) {
	tn := startNode(t)
	alice, ra := connect(t, tn, tn.register("alice"))
	guest, rg := connect(t, tn, "")
	<-ra.conns
	first := <-rg.conns
	chat := join(t, alice, ra, "lobby")
	join(t, guest, rg, "lobby")
	if _, err := alice.SendWait(t.Context(), wire.SendMessage{ChatRef: wire.ChatRef{Chat: chat}, Message: "before"}); err != nil {
		t.Fatal(err)
	}
	rg.collect(t, chat, 1)
	tn.restart()
	for i := range 5 {
		if _, err := alice.SendWait(t.Context(), wire.SendMessage{ChatRef: wire.ChatRef{Chat: chat}, Message: fmt.Sprintf("after-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	second := <-rg.conns
	if second.User == first.User {
		t.Fatalf("the guest came back as the same user %s", first.User)
	}
	got := rg.collect(t, chat, 5)
	for i := range 5 {
		if !got[fmt.Sprintf("after-%d", i)] {
			t.Fatalf("after-%d missing", i)
		}
	}
}

// TestSessionSendRefused: a send the node refuses ends with its error
// and is not sent again.
func TestSessionSendRefused(t *testing.T) {
	tn := startNode(t)
	alice, ra := connect(t, tn, tn.register("alice"))
	<-ra.conns
	_, err := alice.SendWait(t.Context(), wire.SendMessage{ChatRef: wire.ChatRef{Chat: "no-such-chat"}, Message: "hello"})
	var we *wire.Error
	if !errors.As(err, &we) || we.Code != wire.CodeChatNotFound && we.Code != wire.CodeNotMember {
		t.Fatalf("send to no chat: %v", err)
	}
	if alice.Pending() != 0 {
		t.Fatalf("%d pending after a refusal", alice.Pending())
	}
}

// TestSessionConnectRefused: a first dial that cannot work is returned,
// not retried.
func TestSessionConnectRefused(t *testing.T) {
	tn := startNode(t)
	_, err := client.Connect(t.Context(), client.SessionConfig{URL: tn.wsURL(),
		Token: func(context.Context, bool) (string, error) { return "not-a-token", nil }})
	if err == nil {
		t.Fatal("connected with a bad token")
	}
}

// TestSessionRateLimited: sends over the node's rate limit are dropped
// unread (their Error has no ref); the session sends them again until
// every one is stored, once.
func TestSessionRateLimited(t *testing.T) {
	tn := startNodeRate(t, 3)
	alice, ra := connect(t, tn, tn.register("alice"))
	<-ra.conns
	chat := join(t, alice, ra, "lobby")
	var results []<-chan client.SendResult
	for i := range 8 {
		_, res := alice.Send(wire.SendMessage{ChatRef: wire.ChatRef{Chat: chat}, Message: fmt.Sprintf("m-%d", i)})
		results = append(results, res)
	}
	acknowledged(t, results)
	ra.collect(t, chat, 8)
	limited := false
	for len(ra.frames) > 0 {
		var e wire.Error
		if f := <-ra.frames; f.Type() == wire.TypeError && f.Decode(&e) == nil && e.Code == wire.CodeRateLimited {
			limited = true
		}
	}
	if !limited {
		t.Fatal("the node never limited the sends: the test proves nothing")
	}
}

// acknowledged waits for every send's result and fails on an error.
func acknowledged(t *testing.T, results []<-chan client.SendResult) {
	t.Helper()
	for i, res := range results {
		select {
		case r := <-res:
			if r.Err != nil {
				t.Fatalf("send %d: %v", i, r.Err)
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("send %d not acknowledged within 60s", i)
		}
	}
}
