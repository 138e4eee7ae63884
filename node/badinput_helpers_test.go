package node

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/golang-jwt/jwt/v5"

	"github.com/natterchat/natter/node/wire"
)

// scopedTo is tn reporting to t, a subtest's.
func (tn *testNode) scopedTo(t testing.TB) *testNode {
	return &testNode{Node: tn.Node, addr: tn.addr, dataDir: tn.dataDir, t: t, serve: tn.serve}
}

// stillServes proves a connection is open and served after bad input: a
// GetMembers of a room the user is in is answered with its MemberList.
func stillServes(c *client, room string) {
	c.t.Helper()
	c.sendf(`{"channel":"chat-room","ref":"alive","message":{"type":"GetMembers","contents":{"room":%q}}}`, room)
	var ml wire.MemberList
	c.expect(wire.TypeMemberList).decode(c.t, &ml)
	if ml.Room != room || len(ml.Users) == 0 {
		c.t.Fatalf("MemberList after bad input = %+v", ml)
	}
}

// nextError returns the channel and contents of the next Error frame. It
// skips presence notices but not an Error on the presence channel (the
// answer to a client frame sent there), and fails on anything else.
func nextError(c *client) (string, wire.Error) {
	c.t.Helper()
	for {
		f, ok := c.next(10 * time.Second)
		if !ok {
			c.t.Fatalf("timed out waiting for an Error")
		}
		if f.Channel == wire.ChannelPresence && f.Message.Type != wire.TypeError {
			continue
		}
		if f.Message.Type != wire.TypeError {
			c.t.Fatalf("got %s, want an Error", f.Raw)
		}
		var e wire.Error
		f.decode(c.t, &e)
		return f.Channel, e
	}
}

// writeRaw writes f as is (no masking added), under the client's write
// lock, to send what a well-behaved client never would.
func (c *client) writeRaw(f ws.Frame) {
	c.t.Helper()
	if err := c.WriteFrame(f); err != nil {
		c.t.Fatalf("write frame: %v", err)
	}
}

// rawUpgrade sends a WebSocket upgrade request by hand and returns the
// HTTP status and body of the answer.
func rawUpgrade(t *testing.T, tn *testNode, path, extra string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", tn.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: " + tn.addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" + extra + "\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read handshake answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b)
}

// signedToken returns a token signed with the test secret, as the node
// issues them, expiring at exp.
func signedToken(t testing.TB, userID string, exp time.Time) string {
	return signedTokenWith(t, jwt.RegisteredClaims{
		Subject: userID, Issuer: "natter", IssuedAt: jwt.NewNumericDate(exp.Add(-time.Hour)), ExpiresAt: jwt.NewNumericDate(exp),
	})
}

func signedTokenWith(t testing.TB, c jwt.RegisteredClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// readUntilClose reads frames (answering nothing) until the server's close
// frame, whose code it returns, or the socket closing (0); -1 if neither
// happens within d.
func readUntilClose(conn net.Conn, r io.Reader, d time.Duration) int {
	_ = conn.SetReadDeadline(time.Now().Add(d))
	for {
		hdr, err := ws.ReadHeader(r)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return -1
			}
			return 0
		}
		payload := make([]byte, hdr.Length)
		if _, err := io.ReadFull(r, payload); err != nil {
			return 0
		}
		if hdr.OpCode == ws.OpClose {
			if len(payload) < 2 {
				return 0
			}
			return int(binary.BigEndian.Uint16(payload))
		}
	}
}
