package node

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/natterchat/natter/node/wire"
)

// upgradeRequestText is a WebSocket upgrade request with the given key.
func upgradeRequestText(tn *testNode, path, key, extra string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: " + tn.addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n" + extra + "\r\n"
}

// sendHuge writes prefix and then up to size bytes of filler while reading
// the answer: it returns the status the node answered and how much of the
// filler was written when it did.
func sendHuge(t *testing.T, tn *testNode, prefix string, size int) (status, written int) {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", tn.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	answered := make(chan int, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	chunk := []byte(strings.Repeat("x", 64<<10))
	if _, err := io.WriteString(conn, prefix); err != nil {
		t.Fatal(err)
	}
	for written < size {
		select {
		case status = <-answered:
			return status, written
		default:
		}
		n, err := conn.Write(chunk)
		written += n
		if err != nil {
			break // the node closed the connection
		}
	}
	return <-answered, written
}

// TestHandshakeHeadLimits: a request head over its limits is answered 431
// (414 for the request line) after the node read about the limit, not
// what the client kept sending; with a bad token and with a valid one.
func TestHandshakeHeadLimits(t *testing.T) {
	tn := startNode(t, nil)
	a := tn.register("alice")
	for _, c := range []struct {
		name, prefix string
		status       int
	}{
		{"bad token, one 64 MiB header line", "GET /ws?token=not-a-token HTTP/1.1\r\nHost: x\r\nX-Huge: ", http.StatusRequestHeaderFieldsTooLarge},
		{"valid token, one 4 MiB header line", "GET /ws?token=" + a.Token + " HTTP/1.1\r\nHost: x\r\nX-Huge: ", http.StatusRequestHeaderFieldsTooLarge},
		{"a 64 MiB request line", "GET /ws?token=", http.StatusRequestURITooLong},
	} {
		status, written := sendHuge(t, tn, c.prefix, 64<<20)
		if status != c.status || written >= 32<<20 {
			t.Errorf("%s: status %d after %d bytes, want %d long before the end", c.name, status, written, c.status)
		}
	}
	// 70 header lines of 1 KiB: each line is fine, the head is not.
	many := strings.Repeat("X-Pad: "+strings.Repeat("p", 1017)+"\r\n", 70)
	if st, body := rawUpgrade(t, tn, "/ws?token="+a.Token, many); st != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("70 KiB of header lines: %d %q, want 431", st, body)
	}
	// The plain HTTP path has the same bound.
	req, _ := http.NewRequest("GET", tn.url("/healthz"), nil)
	req.Header.Set("X-Big", strings.Repeat("b", 40<<10))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("HTTP request with a 40 KiB header: %v %v, want 431", resp, err)
	}
}

// TestHandshakeBadKey: a Sec-WebSocket-Key that is not 16 bytes of base64
// is refused with 400 (RFC 6455 §4.2.1).
func TestHandshakeBadKey(t *testing.T) {
	tn := startNode(t, func(c *Config) { c.AllowGuests = true })
	for _, key := range []string{"not+base64+but+24+chars!", "dGhlIHNhbXBsZSBub25j", "dGhlIHNhbXBsZSBub25jZQ"} {
		conn, err := net.DialTimeout("tcp", tn.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(conn, upgradeRequestText(tn, "/ws", key, "")); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		conn.Close()
		if err != nil || resp.StatusCode != http.StatusBadRequest {
			t.Errorf("key %q: %v %v, want 400", key, resp, err)
		}
	}
}

// TestHandshakeEarlyFrames: frames a client sends right behind its
// request, before it has read the 101, are processed, not dropped.
func TestHandshakeEarlyFrames(t *testing.T) {
	tn := startNode(t, func(c *Config) { c.AllowGuests = true })
	types := earlyFrames(t, tn, "/ws", `{"channel":"chat-room","message":{"type":"JoinRoom","contents":{"room":"early"}}}`, 3)
	if want := []string{wire.TypeWelcome, wire.TypeMemberList, wire.TypeJoinedRoom}; fmt.Sprint(types) != fmt.Sprint(want) {
		t.Fatalf("frames %v, want %v: the early JoinRoom was not processed", types, want)
	}
}

// TestHandshakeRoomBeforeEarlyFrames: the room a handshake's URL asks
// for is joined before the client's own frames run, early ones included,
// so a message sent right behind the request reaches the room instead of
// failing with not_member; the joiner's MemberList and JoinedRoom come
// before the message's answers (the ack and the echo, in either order).
func TestHandshakeRoomBeforeEarlyFrames(t *testing.T) {
	tn := startNode(t, func(c *Config) { c.AllowGuests = true })
	types := earlyFrames(t, tn, "/ws?room=first", `{"channel":"chat-room","message":{"type":"SendMessage","contents":{"room":"first","message":"right behind the request"}}}`, 5)
	want := []string{wire.TypeWelcome, wire.TypeMemberList, wire.TypeJoinedRoom, wire.TypeMessageAccepted, wire.TypeNewMessage}
	got := slices.Clone(types)
	slices.Sort(got[3:])
	slices.Sort(want[3:])
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("frames %v, want Welcome, MemberList, JoinedRoom, then NewMessage and MessageAccepted in either order", types)
	}
}

// TestHandshakeRoomJoinedOnce: a guest's room from its handshake URL is
// answered Welcome, MemberList and JoinedRoom without waiting for the
// join's user event, which the node then applies without telling the
// device a second time. A later JoinRoom waits for its own user event,
// which follows the first on the user's subject: once its JoinedRoom is
// in, the first event has been applied, and nothing came in between.
func TestHandshakeRoomJoinedOnce(t *testing.T) {
	tn := startNode(t, func(c *Config) { c.AllowGuests = true })
	c := tn.dial("/ws?room=first")
	c.strict = true
	var ml wire.MemberList
	c.expect(wire.TypeMemberList).decode(t, &ml)
	var joined wire.MemberEvent
	c.expect(wire.TypeJoinedRoom).decode(t, &joined)
	if joined.Chat != ml.Chat || joined.User != c.welcome.User {
		t.Fatalf("JoinedRoom %+v, want the guest %s in chat %s", joined, c.welcome.User, ml.Chat)
	}
	second := c.joinRoom("second")
	if second == ml.Chat {
		t.Fatalf("both rooms are chat %s", second)
	}
	c.expectNothing(200 * time.Millisecond)
}

// earlyFrames upgrades path with frame sent in the same write as the
// request and returns the types of the first n frames the node answers.
func earlyFrames(t *testing.T, tn *testNode, path, frame string, n int) []string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", tn.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var out strings.Builder
	out.WriteString(upgradeRequestText(tn, path, "dGhlIHNhbXBsZSBub25jZQ==", ""))
	w := wsutil.NewWriter(&out, ws.StateClientSide, ws.OpText)
	_, _ = io.WriteString(w, frame)
	_ = w.Flush()
	if _, err := io.WriteString(conn, out.String()); err != nil { // one write: request and frame together
		t.Fatal(err)
	}
	return upgradedFrames(t, conn, n)
}

// upgradedFrames reads the node's 101 on conn and returns the types of
// the first n frames after it.
func upgradedFrames(t *testing.T, conn net.Conn, n int) []string {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	var types []string
	for len(types) < n {
		msg, err := wsutil.ReadServerText(struct {
			io.Reader
			io.Writer
		}{br, conn})
		if err != nil {
			t.Fatalf("after %v: %v", types, err)
		}
		types = append(types, typeOf(msg))
	}
	return types
}

// typeOf is a frame's message type.
func typeOf(msg []byte) string {
	_, rest, _ := strings.Cut(string(msg), `"type":"`)
	typ, _, _ := strings.Cut(rest, `"`)
	return typ
}

// TestHandshakeStalledDoNotBlock: connections that stall in the middle of
// their request head, from one source up to its cap and from others,
// keep neither health checks nor new clients waiting; past the cap, a
// source's connections are closed at once.
func TestHandshakeStalledDoNotBlock(t *testing.T) {
	tn := startNode(t, func(c *Config) {
		c.AllowGuests = true
		c.HeaderTimeout = time.Minute // the stalls last through the test
		c.MaxPendingPerSource = 20
		c.MaxPending = 200 // the 100 stalls below are past a quarter: the per-source cap applies
		c.MaxHandshakes = 4
	})
	var stalled []net.Conn
	defer func() {
		for _, c := range stalled {
			c.Close()
		}
	}()
	stall := func(ip string) net.Conn {
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		c, err := d.Dial("tcp", tn.addr)
		if err != nil {
			t.Fatal(err)
		}
		stalled = append(stalled, c)
		_, _ = io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\n") // and nothing more
		return c
	}
	for range 20 {
		for _, ip := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"} {
			stall(ip)
		}
	}
	// 100 stalled handshakes, 25 times the upgrade slots: the node still
	// answers health checks and upgrades a new client.
	if st, body := httpGet(t, tn.url("/healthz")); st != http.StatusOK {
		t.Fatalf("healthz with 100 stalled handshakes: %d %q", st, body)
	}
	c := tn.dial("/ws?room=lobby")
	c.expect(wire.TypeMemberList)
	// One more from a source at its cap is closed at once.
	extra := stall("127.0.0.2")
	_ = extra.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := extra.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !isReset(err) {
		t.Fatalf("a connection past its source's cap: read %v, want it closed", err)
	}
	checkFor(t, 5*time.Second, func() error {
		if got := tn.scrape(`natter_handshakes_total{result="shed"}`); got < 1 {
			return fmt.Errorf("shed handshakes = %v", got)
		}
		return nil
	})
}

func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && strings.Contains(oe.Err.Error(), "reset")
}
