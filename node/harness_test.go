package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/natterchat/natter/internal/testwait"
	"github.com/natterchat/natter/internal/wstest"
	"github.com/natterchat/natter/node/wire"
)

// testSecret signs tokens in tests.
const testSecret = "test-secret-0123456789"

// testAPIKey enables the server API in tests.
const testAPIKey = "test-api-key"

// testLogger discards node logs unless NATTER_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("NATTER_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// testNode is a running node on 127.0.0.1 with its own embedded NATS.
type testNode struct {
	*Node
	addr    string // host:port
	dataDir string
	t       testing.TB
	serve   chan error
	once    sync.Once
}

// startNode starts a node on a fresh data dir; mod adjusts its config.
func startNode(t testing.TB, mod func(*Config)) *testNode {
	t.Helper()
	return startNodeDir(t, t.TempDir(), mod)
}

// startNodeDir starts a node on dataDir, so a test can restart a node on
// the same data.
func startNodeDir(t testing.TB, dataDir string, mod func(*Config)) *testNode {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startNodeOn(t, dataDir, l, mod)
}

// startNodeOn starts a node on dataDir serving l, which a test may have
// dialed already.
func startNodeOn(t testing.TB, dataDir string, l net.Listener, mod func(*Config)) *testNode {
	t.Helper()
	// Tests send faster than people, and register and fail logins from
	// one address; rate limiting, the login limits and the presence
	// grace (a closed device announced offline only after it) have
	// their own tests.
	cfg := Config{DataDir: dataDir, Secret: testSecret, APIKey: testAPIKey, Logger: testLogger(), RateLimit: 10000, RateBurst: 10000,
		MaxLoginFailuresPerAccount: -1, MaxLoginFailuresPerSource: -1, MaxRegistrationsPerSource: -1, PresenceGrace: -1}
	if mod != nil {
		mod(&cfg)
	}
	n, err := New(cfg)
	if err != nil {
		l.Close()
		t.Fatalf("node.New: %v", err)
	}
	tn := &testNode{Node: n, addr: l.Addr().String(), dataDir: dataDir, t: t, serve: make(chan error, 1)}
	go func() { tn.serve <- n.Serve(l) }()
	t.Cleanup(tn.stop)
	return tn
}

// stop shuts the node down (idempotent) and checks Serve returned.
func (tn *testNode) stop() { tn.once.Do(tn.shutdown) }

func (tn *testNode) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := tn.Shutdown(ctx); err != nil {
		tn.t.Errorf("Shutdown: %v", err)
	}
	select {
	case <-tn.serve:
	case <-time.After(10 * time.Second):
		tn.t.Errorf("Serve did not return after Shutdown")
	}
}

func (tn *testNode) url(path string) string { return "http://" + tn.addr + path }

// api makes an HTTP request with an optional bearer token and JSON body
// and decodes the JSON answer into out (if non-nil). It returns the status.
func (tn *testNode) api(method, path, token string, body, out any) int {
	tn.t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequest(method, tn.url(path), rd)
	if err != nil {
		tn.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tn.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			tn.t.Fatalf("%s %s: decode %q: %v", method, path, b, err)
		}
	}
	return resp.StatusCode
}

// account is a registered user.
type account struct {
	ID, Name, Token string
}

// register creates a user through the API.
func (tn *testNode) register(name string) account {
	tn.t.Helper()
	var out struct{ User, Name, Token string }
	if st := tn.api("POST", "/api/users", "", map[string]string{"name": name, "password": "password-" + name}, &out); st != http.StatusCreated {
		tn.t.Fatalf("register %s: status %d", name, st)
	}
	return account{ID: out.User, Name: out.Name, Token: out.Token}
}

// frame is a received server frame.
type frame struct{ wstest.Frame }

func (f frame) decode(t testing.TB, v any) {
	t.Helper()
	if err := f.Decode(v); err != nil {
		t.Fatal(err)
	}
}

// client is a real WebSocket client (internal/wstest) with the test's
// expectations on top.
type client struct {
	*wstest.Client
	t       testing.TB
	tn      *testNode // the node it is connected to
	welcome wire.Welcome
	// unread is the Unread a user's device gets right after its Welcome.
	unread wire.Unread
	// strict makes waitFor refuse the frames it would skip (see waitFor).
	strict bool
	// own is the sending device's own copy of the last sendMsg with echo.
	own wire.NewMessage
}

// dial connects to path (e.g. "/ws?token=...") and reads the Welcome.
func (tn *testNode) dial(path string) *client {
	tn.t.Helper()
	c, err := tn.tryDial(path, nil)
	if err != nil {
		tn.t.Fatalf("dial %s: %v", path, err)
	}
	f := c.expect(wire.TypeWelcome)
	f.decode(tn.t, &c.welcome)
	if c.welcome.ExpiresAt != nil { // a user's device, not a guest's
		f, err := c.find(wire.TypeUnread, true, 10*time.Second)
		switch {
		case err == nil:
			f.decode(tn.t, &c.unread)
		case !c.closed(): // a device closed in its setup has none
			tn.t.Fatal(err)
		}
	}
	return c
}

// tryDial connects without reading anything.
func (tn *testNode) tryDial(path string, header http.Header) (*client, error) {
	d := ws.Dialer{Timeout: 5 * time.Second}
	if header != nil {
		d.Header = ws.HandshakeHeaderHTTP(header)
	}
	return tn.dialWith(d, path)
}

// dialWith is tryDial with a caller's dialer (for subprotocols); the
// client's Handshake is the server's answer.
func (tn *testNode) dialWith(d ws.Dialer, path string) (*client, error) {
	wc, err := wstest.Dial(context.Background(), d, "ws://"+tn.addr+path)
	if err != nil {
		return nil, err
	}
	tn.t.Cleanup(func() { wc.Conn.Close() })
	return &client{Client: wc, t: tn.t, tn: tn}, nil
}

// dialUser connects as a registered user.
func (tn *testNode) dialUser(a account) *client {
	return tn.dial("/ws?token=" + a.Token)
}

// closed reports whether the connection has ended.
func (c *client) closed() bool {
	select {
	case <-c.Done():
		return true
	default:
		return false
	}
}

// send writes a text frame; only the test's goroutine may call it (see
// write).
func (c *client) send(s string) {
	c.t.Helper()
	if err := c.write(s); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// write writes a text frame and returns the error: for goroutines other
// than the test's, which must not fail the test themselves.
func (c *client) write(s string) error { return c.Write([]byte(s)) }

// sendf formats and writes a text frame.
func (c *client) sendf(format string, args ...any) { c.send(fmt.Sprintf(format, args...)) }

// next returns the next frame, or false after the timeout or once the
// connection has ended.
func (c *client) next(timeout time.Duration) (frame, bool) {
	f, ok := c.Next(timeout)
	return frame{f}, ok
}

// expect returns the next frame of type typ, failing on any other frame
// (presence aside, which arrive whenever co-members come and go).
func (c *client) expect(typ string) frame {
	c.t.Helper()
	f, err := c.find(typ, true, 10*time.Second)
	if err != nil {
		c.t.Fatal(err)
	}
	return f
}

// waitFor skips frames until one of type typ arrives: for clients whose
// frame order is not known (several senders, or answers racing live
// messages). With c.strict set it is expect: tests that know the order
// set it, so that a duplicate or a stray frame before the wanted one
// fails them instead of being skipped.
func (c *client) waitFor(typ string) frame {
	c.t.Helper()
	f, err := c.find(typ, c.strict, 10*time.Second)
	if err != nil {
		c.t.Fatal(err)
	}
	return f
}

// find is wstest's Find: it returns errors, so that goroutines other than
// the test's may use it.
func (c *client) find(typ string, strict bool, timeout time.Duration) (frame, error) {
	f, err := c.Find(typ, strict, timeout)
	return frame{f}, err
}

// expectError returns the next Error frame's contents, skipping presence.
func (c *client) expectError() wire.Error {
	c.t.Helper()
	var e wire.Error
	c.expect(wire.TypeError).decode(c.t, &e)
	return e
}

// expectNothing fails if a frame (other than presence) arrives within d.
func (c *client) expectNothing(d time.Duration) {
	c.t.Helper()
	if f, ok := c.Unexpected(d); ok {
		c.t.Fatalf("unexpected frame %s", f.Raw)
	}
}

// closeCode waits for the server to close the connection and returns the
// close code it sent (0 if none).
func (c *client) closeCode() ws.StatusCode {
	c.t.Helper()
	select {
	case <-c.Done():
	case <-time.After(15 * time.Second):
		c.t.Fatalf("server did not close the connection")
	}
	return c.CloseCode()
}

// settle waits until the chat events the node has published or received
// so far have been delivered: the fan-out's canaries travel behind them.
// A join notice still in flight reaches a member who joined after it
// (notices are best-effort; the member list is the truth), which tests
// that join one user right after another must not take for a stray frame.
func (tn *testNode) settle() {
	tn.t.Helper()
	if err := tn.hub.CheckLoops(context.Background()); err != nil {
		tn.t.Fatal(err)
	}
}

// checkFor polls f every 20*time.Millisecond until it returns nil or the timeout passes.
func checkFor(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	testwait.For(t, timeout, 20*time.Millisecond, f)
}

// apiMessage is a message of GET /api/chats/{id}/messages as a client
// reads it (docs/api.md).
type apiMessage struct {
	Seq      uint64    `json:"seq"`
	ID       string    `json:"id"`
	User     string    `json:"user"`
	Name     string    `json:"name"`
	Device   string    `json:"device"`
	Message  string    `json:"message"`
	PostedAt time.Time `json:"postedAt"`
}
