package node

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/natterchat/natter/node/wire"
)

// clientText is a client's masked text frame carrying msg.
func clientText(msg string) string {
	var out strings.Builder
	w := wsutil.NewWriter(&out, ws.StateClientSide, ws.OpText)
	_, _ = io.WriteString(w, msg)
	_ = w.Flush()
	return out.String()
}

// TestAcceptHeadArrivals: a node on a TCP listener accepts sockets past
// the runtime's poller and upgrades at once a request whose whole head
// is in the socket; every other arrival goes the runtime's way. Each is
// served the same: a head and frame in the socket before the accept, a
// head sent after it, a head in two parts, a plain HTTP request after a
// pause, and a client that leaves without a word.
func TestAcceptHeadArrivals(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	dial := func() net.Conn {
		t.Helper()
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	write := func(c net.Conn, s string) {
		t.Helper()
		if _, err := io.WriteString(c, s); err != nil {
			t.Fatal(err)
		}
	}
	head := func(path string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	}
	join := clientText(`{"channel":"chat-room","message":{"type":"JoinRoom","contents":{"room":"arrivals"}}}`)
	joined := fmt.Sprint([]string{wire.TypeWelcome, wire.TypeMemberList, wire.TypeJoinedRoom})

	// Dialed and written before the node serves: the kernel has the
	// connection and its bytes when the first accept comes.
	waiting := dial()
	write(waiting, head("/ws")+join)
	startNodeOn(t, t.TempDir(), l, func(c *Config) { c.AllowGuests = true })
	if got := fmt.Sprint(upgradedFrames(t, waiting, 3)); got != joined {
		t.Fatalf("request in the socket before the accept: frames %s, want %s", got, joined)
	}

	late := dial()
	time.Sleep(100 * time.Millisecond) // accepted, nothing read
	write(late, head("/ws?room=arrivals"))
	if got := fmt.Sprint(upgradedFrames(t, late, 3)); got != joined {
		t.Fatalf("request after the accept: frames %s, want %s", got, joined)
	}

	split := dial()
	h := head("/ws")
	write(split, h[:20])
	time.Sleep(100 * time.Millisecond)
	write(split, h[20:]+join)
	if got := fmt.Sprint(upgradedFrames(t, split, 3)); got != joined {
		t.Fatalf("request in two parts: frames %s, want %s", got, joined)
	}

	plain := dial()
	time.Sleep(100 * time.Millisecond)
	write(plain, "GET /healthz HTTP/1.1\r\nHost: "+addr+"\r\nConnection: close\r\n\r\n")
	_ = plain.SetReadDeadline(time.Now().Add(10 * time.Second))
	body, err := io.ReadAll(plain)
	if err != nil || !strings.HasPrefix(string(body), "HTTP/1.1 200 ") {
		t.Fatalf("plain HTTP after a pause: %q, %v", body, err)
	}

	silent := dial()
	silent.Close() // EOF before any request: closed without an answer, nothing else changes
	again := dial()
	write(again, head("/ws?room=arrivals"))
	if got := fmt.Sprint(upgradedFrames(t, again, 3)); got != joined {
		t.Fatalf("after a silent client: frames %s, want %s", got, joined)
	}
}
