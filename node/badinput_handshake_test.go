package node

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/golang-jwt/jwt/v5"

	"github.com/natterchat/natter/node/auth"
	"github.com/natterchat/natter/node/httpapi"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/node/wsconn"
)

// TestBadInputHandshake checks the upgrade's authorization: tokens from
// the query, header and subprotocol, bad and expired tokens, origins and
// the /websockets alias.
func TestBadInputHandshake(t *testing.T) {
	tn := startNode(t, nil) // guests off
	a := tn.register("hs-user")

	other, err := auth.NewTokens("another-secret-0123456789", 0)
	if err != nil {
		t.Fatal(err)
	}
	foreign, _, err := other.Issue(a.ID, a.Name, 0)
	if err != nil {
		t.Fatal(err)
	}
	// An expired token is signed by hand, already past its expiry: a
	// short-TTL auth.Tokens would need a sleep of over a second, as JWT
	// expiries have one-second precision.
	expired := signedToken(t, a.ID, time.Now().Add(-time.Minute))
	// The expiry check must not be the only thing standing: a token that
	// is unexpired and well signed but from another issuer fails too.
	noIssuer := signedTokenWith(t, jwt.RegisteredClaims{Subject: a.ID, ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))})

	refused := []struct {
		name   string
		path   string
		header http.Header
		status int
	}{
		{"no token, guests off", "/ws", nil, http.StatusUnauthorized},
		{"garbage token", "/ws?token=garbage", nil, http.StatusUnauthorized},
		{"tampered token", "/ws?token=" + a.Token + "x", nil, http.StatusUnauthorized},
		{"expired token", "/ws?token=" + expired, nil, http.StatusUnauthorized},
		{"other secret", "/ws?token=" + foreign, nil, http.StatusUnauthorized},
		{"no issuer", "/ws?token=" + noIssuer, nil, http.StatusUnauthorized},
		{"user never registered", "/ws?token=" + signedToken(t, "u-never-registered", time.Now().Add(time.Hour)), nil, http.StatusUnauthorized},
		{"user id not an id", "/ws?token=" + signedToken(t, "a.b>", time.Now().Add(time.Hour)), nil, http.StatusUnauthorized},
		{"bad bearer header", "/ws", http.Header{"Authorization": {"Bearer " + expired}}, http.StatusUnauthorized},
		{"alias, no token", "/websockets", nil, http.StatusUnauthorized},
		{"foreign origin", "/ws?token=" + a.Token, http.Header{"Origin": {"http://evil.example"}}, http.StatusForbidden},
		{"same host, other port", "/ws?token=" + a.Token, http.Header{"Origin": {"http://127.0.0.1:1"}}, http.StatusForbidden},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tn.scopedTo(t).tryDial(tc.path, tc.header)
			if err == nil {
				c.Conn.Close()
				t.Fatalf("handshake succeeded, want HTTP %d", tc.status)
			}
			var se ws.StatusError
			if !errors.As(err, &se) || int(se) != tc.status {
				t.Fatalf("handshake error %v, want HTTP %d", err, tc.status)
			}
		})
	}

	// The refusal is a plain HTTP answer before any upgrade.
	t.Run("raw 401", func(t *testing.T) {
		status, body := rawUpgrade(t, tn, "/ws?token=garbage", "")
		if status != http.StatusUnauthorized || !strings.Contains(body, "token") {
			t.Fatalf("raw handshake answered %d %q, want 401 naming the token", status, body)
		}
	})

	accepted := []struct {
		name   string
		path   string
		header http.Header
	}{
		{"query token", "/ws?token=" + a.Token, nil},
		{"bearer header", "/ws", http.Header{"Authorization": {"Bearer " + a.Token}}},
		{"alias", "/websockets?token=" + a.Token, nil},
		{"same-host origin", "/ws?token=" + a.Token, http.Header{"Origin": {"http://" + tn.addr}}},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tn.scopedTo(t).tryDial(tc.path, tc.header)
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			var w wire.Welcome
			c.expect(wire.TypeWelcome).decode(t, &w)
			if w.User != a.ID || w.Name != a.Name || w.Node != tn.ID() || w.Device == "" {
				t.Fatalf("Welcome %+v, want user %s", w, a.ID)
			}
		})
	}

	// Browsers offer "natter, token.<token>"; the server must select
	// "natter" (a browser fails the connection otherwise).
	t.Run("subprotocol token", func(t *testing.T) {
		d := ws.Dialer{Timeout: 5 * time.Second, Protocols: []string{"natter", "token." + a.Token}}
		c, err := tn.scopedTo(t).dialWith(d, "/ws")
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		if c.Handshake.Protocol != "natter" {
			t.Fatalf("selected protocol %q, want natter", c.Handshake.Protocol)
		}
		var w wire.Welcome
		c.expect(wire.TypeWelcome).decode(t, &w)
		if w.User != a.ID {
			t.Fatalf("Welcome %+v, want user %s", w, a.ID)
		}
	})
	t.Run("subprotocol bad token", func(t *testing.T) {
		d := ws.Dialer{Timeout: 5 * time.Second, Protocols: []string{"natter", "token.garbage"}}
		_, err := tn.scopedTo(t).dialWith(d, "/ws")
		var se ws.StatusError
		if !errors.As(err, &se) || se != http.StatusUnauthorized {
			t.Fatalf("handshake error %v, want HTTP 401", err)
		}
	})
}

// TestBadInputHandshakeAfterHTTP: an upgrade on a keep-alive connection
// that already served a plain HTTP request reaches /ws through net/http;
// it applies the same checks and, once authorized, serves the protocol.
func TestBadInputHandshakeAfterHTTP(t *testing.T) {
	tn := startNode(t, nil)
	a := tn.register("keepalive-user")
	for _, tc := range []struct {
		name   string
		path   string
		extra  string
		status int
		code   string
	}{
		{"bad token", "/ws?token=garbage", "", http.StatusUnauthorized, httpapi.CodeUnauthorized},
		{"no token", "/websockets", "", http.StatusUnauthorized, httpapi.CodeUnauthorized},
		{"foreign origin", "/ws?token=" + a.Token, "Origin: http://evil.example\r\n", http.StatusForbidden, wire.CodeForbidden},
		{"good token", "/ws?token=" + a.Token, "", http.StatusSwitchingProtocols, ""},
		{"subprotocol token", "/ws", "Sec-WebSocket-Protocol: natter, token." + a.Token + "\r\n", http.StatusSwitchingProtocols, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", tn.addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			br := bufio.NewReader(conn)
			if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: "+tn.addr+"\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("/healthz: %v %v", resp, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()

			req := "GET " + tc.path + " HTTP/1.1\r\nHost: " + tn.addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" + tc.extra + "\r\n"
			if _, err := io.WriteString(conn, req); err != nil {
				t.Fatal(err)
			}
			resp, err = http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("read upgrade answer: %v", err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != http.StatusSwitchingProtocols {
				var e apiErrorBody
				if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Error.Code != tc.code {
					t.Fatalf("body %+v (%v), want code %s", e, err, tc.code)
				}
				return
			}
			if tc.extra != "" && resp.Header.Get("Sec-WebSocket-Protocol") != "natter" {
				t.Errorf("selected protocol %q, want natter", resp.Header.Get("Sec-WebSocket-Protocol"))
			}
			// The first frame is the Welcome.
			hdr, err := ws.ReadHeader(br)
			if err != nil {
				t.Fatal(err)
			}
			payload := make([]byte, hdr.Length)
			if _, err := io.ReadFull(br, payload); err != nil {
				t.Fatal(err)
			}
			var f frame
			if err := json.Unmarshal(payload, &f); err != nil || f.Message.Type != wire.TypeWelcome {
				t.Fatalf("first frame %s (%v), want Welcome", payload, err)
			}
			var w wire.Welcome
			f.Raw = payload
			f.decode(t, &w)
			if w.User != a.ID {
				t.Fatalf("Welcome %+v, want user %s", w, a.ID)
			}
		})
	}
}

// TestBadInputHandshakeAllowedOrigins: configured origins are accepted,
// others still refused.
func TestBadInputHandshakeAllowedOrigins(t *testing.T) {
	tn := startNode(t, func(c *Config) { c.AllowedOrigins = []string{"https://app.example"} })
	a := tn.register("origin-user")
	if _, err := tn.tryDial("/ws?token="+a.Token, http.Header{"Origin": {"https://app.example"}}); err != nil {
		t.Fatalf("configured origin refused: %v", err)
	}
	_, err := tn.tryDial("/ws?token="+a.Token, http.Header{"Origin": {"http://evil.example"}})
	var se ws.StatusError
	if !errors.As(err, &se) || se != http.StatusForbidden {
		t.Fatalf("foreign origin: %v, want HTTP 403", err)
	}
}

// TestBadInputSlowloris: a client that stalls in the middle of a frame is
// closed after the idle timeout, and meanwhile another client on the same
// node is served normally.
func TestBadInputSlowloris(t *testing.T) {
	tn := startNode(t, func(c *Config) {
		c.Conn.IdleTimeout = 500 * time.Millisecond
		c.Conn.PingInterval = 150 * time.Millisecond
	})
	slow := tn.register("slow-user")
	busy := tn.register("busy-user")

	// The stalled client is driven by hand: it must not answer pings (a
	// pong would feed the pending frame), so it gets no reader goroutine.
	d := ws.Dialer{Timeout: 5 * time.Second}
	conn, br, _, err := d.Dial(context.Background(), "ws://"+tn.addr+"/ws?token="+slow.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var r io.Reader = conn
	if br != nil {
		r = io.MultiReader(br, conn)
	}
	// A masked text frame header announcing 100 bytes, then 10 of them.
	half := []byte{0x81, 0x80 | 100, 1, 2, 3, 4}
	half = append(half, []byte(`{"channel"`)...)
	if _, err := conn.Write(half); err != nil {
		t.Fatal(err)
	}
	stalled := make(chan int, 1)
	go func() { stalled <- readUntilClose(conn, r, 10*time.Second) }()

	// Meanwhile a normal client exchanges 20 messages and gets every ack.
	c := tn.dial("/ws?token=" + busy.Token + "&room=busy")
	c.expect(wire.TypeMemberList)
	c.expect(wire.TypeJoinedRoom)
	const n = 20
	for i := range n {
		c.sendf(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"room":"busy","message":"m%d","clientMsgId":"m%d","echo":false}}}`, i, i)
	}
	var last uint64
	for acks := 0; acks < n; {
		f, ok := c.next(10 * time.Second)
		if !ok {
			t.Fatalf("only %d of %d acks", acks, n)
		}
		switch f.Message.Type {
		case wire.TypeMessageAccepted:
			var acc wire.MessageAccepted
			f.decode(t, &acc)
			if acc.ClientMsgID != fmt.Sprintf("m%d", acks) || acc.Seq <= last || acc.Duplicate {
				t.Fatalf("ack %d = %+v after seq %d", acks, acc, last)
			}
			last = acc.Seq
			acks++
		case wire.TypeOnline, wire.TypeOffline:
		default:
			t.Fatalf("unexpected frame %s", f.Raw)
		}
	}

	select {
	case code := <-stalled:
		// 4000 when the close frame got through, 0 when only the socket
		// closing was seen; -1 means the server never closed it.
		if code != int(wsconn.StatusIdleTimeout) && code != 0 {
			t.Fatalf("stalled client closed with %d, want 4000", code)
		}
		t.Logf("stalled client closed with code %d", code)
	case <-time.After(10 * time.Second):
		t.Fatal("stalled client still open")
	}
	// The busy client, which answers pings, outlived the idle timeout.
	stillServes(c, "busy")
}

// --- helpers ---

// scopedTo returns a view of tn whose clients report to t (a subtest), so
// that their failures stop the right goroutine and their connections
// close when t ends.
