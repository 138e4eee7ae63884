package node

import (
	"bufio"
	"context"
	"encoding/binary"
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

// These tests feed a real node bad input over real WebSocket connections
// (docs/protocol.md, "Errors" and "Close codes"): a rejected frame is
// answered with a coded Error and the connection stays open; a protocol
// violation closes it with the documented close code; a bad handshake is
// refused with an HTTP status before the upgrade.

// TestBadInputErrorFrames sends one bad frame per case and checks the
// Error frame (channel, code, ref, type, and that the message names the
// field), then proves the connection is still usable.
func TestBadInputErrorFrames(t *testing.T) {
	tn := startNode(t, nil)

	// owner owns "other" (a public room the tested user is not in) and a
	// private chat; user is a member of "lobby" only.
	owner := tn.register("bi-owner")
	user := tn.register("bi-user")
	oc := tn.dialUser(owner)
	joinRoom(oc, "other")
	var private struct{ ID string }
	if st := tn.api("POST", "/api/chats", owner.Token, map[string]any{"name": "secret", "kind": "private"}, &private); st != http.StatusCreated {
		t.Fatalf("create private chat: status %d", st)
	}
	// The creator's devices hear of its new membership.
	var joined wire.MemberEvent
	if oc.expect(wire.TypeJoinedRoom).decode(t, &joined); joined.Chat != private.ID || joined.User != owner.ID {
		t.Fatalf("JoinedRoom = %+v, want the private chat", joined)
	}
	uc := tn.dialUser(user)
	joinRoom(uc, "lobby")

	env := func(channel, typ, contents string) string {
		return fmt.Sprintf(`{"channel":%q,"message":{"type":%q,"contents":%s}}`, channel, typ, contents)
	}
	withRef := func(ref, channel, typ, contents string) string {
		return fmt.Sprintf(`{"channel":%q,"ref":%q,"message":{"type":%q,"contents":%s}}`, channel, ref, typ, contents)
	}
	const cr = wire.ChannelChatRoom
	long := strings.Repeat("x", 4001)

	for _, tc := range []struct {
		name    string
		frame   string
		channel string // the Error's channel
		code    string
		ref     string // the echoed ref ("" when none is expected)
		typ     string // the rejected frame's type ("" when unreadable)
		mention string // a word the message must contain
	}{
		// The envelope.
		{"malformed JSON", `{"channel":`, wire.ChannelSession, wire.CodeBadJSON, "", "", ""},
		{"not JSON", `hello`, wire.ChannelSession, wire.CodeBadJSON, "", "", ""},
		{"array", `[]`, wire.ChannelSession, wire.CodeBadJSON, "", "", ""},
		{"no message", `{"channel":"chat-room"}`, wire.ChannelSession, wire.CodeBadJSON, "", "", ""},
		// The type was readable, so the Error names it.
		{"no channel", `{"message":{"type":"JoinRoom","contents":{"room":"lobby"}}}`, wire.ChannelSession, wire.CodeBadJSON, "", wire.TypeJoinRoom, "channel"},
		{"channel not a string", `{"channel":5,"message":{"type":"JoinRoom"}}`, wire.ChannelSession, wire.CodeBadJSON, "", wire.TypeJoinRoom, "channel"},
		// The envelope was readable enough to carry a ref: the contract
		// says an Error echoes the frame's ref.
		{"no type, with ref", `{"channel":"chat-room","ref":"r-env","message":{"contents":{}}}`, wire.ChannelSession, wire.CodeBadJSON, "r-env", "", ""},

		// Channels and types.
		{"unknown channel", withRef("r1", "lounge", "Hello", `{}`), wire.ChannelSession, wire.CodeUnknownChannel, "r1", "Hello", "lounge"},
		{"unknown chat-room type", withRef("r2", cr, "Dance", `{}`), cr, wire.CodeUnknownType, "r2", "Dance", "Dance"},
		{"client frame on ping", withRef("r3", wire.ChannelPing, wire.TypePing, `1`), wire.ChannelPing, wire.CodeUnknownType, "r3", wire.TypePing, ""},
		{"client frame on presence", withRef("r4", wire.ChannelPresence, wire.TypeOnline, `{}`), wire.ChannelPresence, wire.CodeUnknownType, "r4", wire.TypeOnline, ""},
		{"client frame on session", env(wire.ChannelSession, wire.TypeWelcome, `{}`), wire.ChannelSession, wire.CodeUnknownType, "", wire.TypeWelcome, ""},
		{"unknown chat type", env(wire.ChannelChat, "Shout", `"x"`), wire.ChannelChat, wire.CodeUnknownType, "", "Shout", ""},

		// Missing fields.
		{"JoinRoom empty", withRef("r5", cr, wire.TypeJoinRoom, `{}`), cr, wire.CodeMissingField, "r5", wire.TypeJoinRoom, "room"},
		{"SendMessage without message", env(cr, wire.TypeSendMessage, `{"room":"lobby"}`), cr, wire.CodeMissingField, "", wire.TypeSendMessage, "message"},
		{"SendMessage empty message", env(cr, wire.TypeSendMessage, `{"room":"lobby","message":""}`), cr, wire.CodeMissingField, "", wire.TypeSendMessage, "message"},
		{"contents null", env(cr, wire.TypeJoinRoom, `null`), cr, wire.CodeMissingField, "", wire.TypeJoinRoom, "contents"},
		{"contents absent", `{"channel":"chat-room","message":{"type":"GetMembers"}}`, cr, wire.CodeMissingField, "", wire.TypeGetMembers, "contents"},
		{"SubmitMessage empty", env(wire.ChannelChat, wire.TypeSubmitMessage, `""`), wire.ChannelChat, wire.CodeMissingField, "", wire.TypeSubmitMessage, ""},

		// Wrong types and invalid values.
		{"History limit not a number", withRef("r6", cr, wire.TypeHistory, `{"room":"lobby","limit":"ten"}`), cr, wire.CodeInvalidField, "r6", wire.TypeHistory, "limit"},
		{"History negative limit", env(cr, wire.TypeHistory, `{"room":"lobby","limit":-1}`), cr, wire.CodeInvalidField, "", wire.TypeHistory, "limit"},
		{"History limit too large", env(cr, wire.TypeHistory, `{"room":"lobby","limit":1001}`), cr, wire.CodeInvalidField, "", wire.TypeHistory, "limit"},
		{"History before and after", env(cr, wire.TypeHistory, `{"room":"lobby","before":5,"after":1}`), cr, wire.CodeInvalidField, "", wire.TypeHistory, "before"},
		{"invalid chat id", env(cr, wire.TypeGetMembers, `{"chat":"a.b"}`), cr, wire.CodeInvalidField, "", wire.TypeGetMembers, "chat"},
		{"invalid chat id on join", env(cr, wire.TypeJoinRoom, `{"chat":"a b"}`), cr, wire.CodeInvalidField, "", wire.TypeJoinRoom, "chat"},
		{"room name with a control character", env(cr, wire.TypeJoinRoom, `{"room":"a\u0007b"}`), cr, wire.CodeInvalidField, "", wire.TypeJoinRoom, "room"},
		{"echo not a bool", env(cr, wire.TypeSendMessage, `{"room":"lobby","message":"hi","echo":"no"}`), cr, wire.CodeInvalidField, "", wire.TypeSendMessage, "echo"},
		{"bad clientMsgId", env(cr, wire.TypeSendMessage, `{"room":"lobby","message":"hi","clientMsgId":"has space"}`), cr, wire.CodeInvalidField, "has space", wire.TypeSendMessage, "clientMsgId"},
		{"bad clientMsgId, explicit ref wins", withRef("r7", cr, wire.TypeSendMessage, `{"room":"lobby","message":"hi","clientMsgId":"has space"}`), cr, wire.CodeInvalidField, "r7", wire.TypeSendMessage, "clientMsgId"},
		{"clientMsgId too long", env(cr, wire.TypeSendMessage, `{"room":"lobby","message":"hi","clientMsgId":"`+strings.Repeat("a", 65)+`"}`), cr, wire.CodeInvalidField, strings.Repeat("a", 65), wire.TypeSendMessage, "clientMsgId"},
		{"SubmitMessage object", env(wire.ChannelChat, wire.TypeSubmitMessage, `{"text":"hi"}`), wire.ChannelChat, wire.CodeInvalidField, "", wire.TypeSubmitMessage, "string"},
		{"SubmitMessage number", env(wire.ChannelChat, wire.TypeSubmitMessage, `5`), wire.ChannelChat, wire.CodeInvalidField, "", wire.TypeSubmitMessage, "string"},
		{"contents of the wrong kind", env(cr, wire.TypeJoinRoom, `"lobby"`), cr, wire.CodeInvalidField, "", wire.TypeJoinRoom, ""},

		// Chats that do not exist.
		{"unknown chat id", env(cr, wire.TypeGetMembers, `{"chat":"no-such-chat"}`), cr, wire.CodeChatNotFound, "", wire.TypeGetMembers, ""},
		{"unknown room for SendMessage", env(cr, wire.TypeSendMessage, `{"room":"no-such-room","message":"hi","clientMsgId":"c1"}`), cr, wire.CodeChatNotFound, "c1", wire.TypeSendMessage, ""},
		{"unknown room for History", env(cr, wire.TypeHistory, `{"room":"no-such-room"}`), cr, wire.CodeChatNotFound, "", wire.TypeHistory, ""},

		// Length.
		{"message too long", env(cr, wire.TypeSendMessage, `{"room":"lobby","message":"`+long+`"}`), cr, wire.CodeMessageTooLong, "", wire.TypeSendMessage, "4000"},
		{"SubmitMessage too long", env(wire.ChannelChat, wire.TypeSubmitMessage, `"`+long+`"`), wire.ChannelChat, wire.CodeMessageTooLong, "", wire.TypeSubmitMessage, "4000"},

		// Authorization.
		{"send to a public room not joined", env(cr, wire.TypeSendMessage, `{"room":"other","message":"hi"}`), cr, wire.CodeNotMember, "", wire.TypeSendMessage, ""},
		{"History of a public room not joined", env(cr, wire.TypeHistory, `{"room":"other"}`), cr, wire.CodeNotMember, "", wire.TypeHistory, ""},
		{"Resume of a public room not joined", env(cr, wire.TypeResume, `{"room":"other","afterSeq":0}`), cr, wire.CodeNotMember, "", wire.TypeResume, ""},
		{"LeaveRoom of a room not joined", env(cr, wire.TypeLeaveRoom, `{"room":"other"}`), cr, wire.CodeNotMember, "", wire.TypeLeaveRoom, ""},
		{"send to a private chat", env(cr, wire.TypeSendMessage, `{"chat":"`+private.ID+`","message":"hi"}`), cr, wire.CodeNotMember, "", wire.TypeSendMessage, ""},
		{"GetMembers of a private chat", env(cr, wire.TypeGetMembers, `{"chat":"`+private.ID+`"}`), cr, wire.CodeNotMember, "", wire.TypeGetMembers, ""},
		{"JoinRoom of a private chat", withRef("r8", cr, wire.TypeJoinRoom, `{"chat":"`+private.ID+`"}`), cr, wire.CodeForbidden, "r8", wire.TypeJoinRoom, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tn.scopedTo(t).dialUser(user)
			c.send(tc.frame)
			ch, e := nextError(c)
			if ch != tc.channel || e.Code != tc.code || e.Ref != tc.ref || e.Type != tc.typ {
				t.Errorf("Error on %q = %+v; want channel %q, code %q, ref %q, type %q", ch, e, tc.channel, tc.code, tc.ref, tc.typ)
			}
			if e.Message == "" || !strings.Contains(e.Message, tc.mention) {
				t.Errorf("Error message %q does not mention %q", e.Message, tc.mention)
			}
			stillServes(c, "lobby")
		})
	}

	// None of the rejected frames changed anything: the owner's room
	// still has only the owner, and nothing was posted to lobby.
	oc.send(`{"channel":"chat-room","message":{"type":"GetMembers","contents":{"room":"other"}}}`)
	var ml wire.MemberList
	oc.expect(wire.TypeMemberList).decode(t, &ml)
	if len(ml.Users) != 1 || ml.Users[0] != owner.ID {
		t.Errorf("members of other = %v, want only the owner", ml.Users)
	}
	uc.send(`{"channel":"chat-room","message":{"type":"History","contents":{"room":"lobby"}}}`)
	var page wire.HistoryPage
	uc.expect(wire.TypeHistoryPage).decode(t, &page)
	if len(page.Messages) != 0 {
		t.Errorf("lobby has %d messages after only rejected sends: %+v", len(page.Messages), page.Messages)
	}
}

// TestBadInputMessageLenLimit checks Config.MaxMessageLen counts
// characters, not bytes, on both chat channels.
func TestBadInputMessageLenLimit(t *testing.T) {
	tn := startNode(t, func(c *Config) { c.MaxMessageLen = 10 })
	a := tn.register("len-user")
	c := tn.dialUser(a)
	joinRoom(c, "lobby")

	for _, tc := range []struct {
		text string
		ok   bool
	}{
		{"0123456789", true},
		{"ééééééééé€", true}, // 10 characters, 21 bytes
		{"0123456789a", false},
		{"ééééééééééé", false},
	} {
		c.sendf(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"room":"lobby","message":%q,"echo":false}}}`, tc.text)
		if tc.ok {
			var acc wire.MessageAccepted
			c.expect(wire.TypeMessageAccepted).decode(t, &acc)
			if acc.Seq == 0 {
				t.Errorf("%q: MessageAccepted %+v", tc.text, acc)
			}
		} else if _, e := nextError(c); e.Code != wire.CodeMessageTooLong || !strings.Contains(e.Message, "10") {
			t.Errorf("%q: got %+v, want message_too_long naming the limit 10", tc.text, e)
		}
		c.sendf(`{"channel":"chat","message":{"type":"SubmitMessage","contents":%q}}`, tc.text)
		if tc.ok {
			var r wire.NewMessageReceived
			c.expect(wire.TypeNewMessageReceived).decode(t, &r)
			if r.Content != tc.text {
				t.Errorf("NewMessageReceived %+v, want %q", r, tc.text)
			}
		} else if ch, e := nextError(c); ch != wire.ChannelChat || e.Code != wire.CodeMessageTooLong {
			t.Errorf("SubmitMessage %q: got %+v on %q, want message_too_long on chat", tc.text, e, ch)
		}
	}
	stillServes(c, "lobby")
}

// TestBadInputRateLimit floods a device past RateLimit/RateBurst: every
// frame is answered (processed or rejected with rate_limited), at least
// one is rejected, and the connection stays open.
func TestBadInputRateLimit(t *testing.T) {
	tn := startNode(t, func(c *Config) { c.RateLimit = 1; c.RateBurst = 2 })
	a := tn.register("rate-user")
	// The URL's room is joined by the server itself, so it spends none of
	// the device's tokens.
	c := tn.dial("/ws?token=" + a.Token + "&room=lobby")
	c.expect(wire.TypeMemberList)
	c.expect(wire.TypeJoinedRoom)

	const n = 10
	for i := range n {
		c.sendf(`{"channel":"chat-room","ref":"g%d","message":{"type":"GetMembers","contents":{"room":"lobby"}}}`, i)
	}
	served, limited := 0, 0
	for served+limited < n {
		f, ok := c.next(10 * time.Second)
		if !ok {
			t.Fatalf("after %d answers (%d served, %d limited), no more", served+limited, served, limited)
		}
		switch {
		case f.Channel == wire.ChannelPresence:
		case f.Message.Type == wire.TypeMemberList:
			served++
		case f.Message.Type == wire.TypeError:
			var e wire.Error
			f.decode(t, &e)
			if e.Code != wire.CodeRateLimited {
				t.Fatalf("unexpected error %s", f.raw)
			}
			// docs/protocol.md: the limiter drops a frame before reading
			// it, so its Error comes on session without ref or type.
			if f.Channel != wire.ChannelSession || e.Ref != "" || e.Type != "" {
				t.Fatalf("rate_limited Error is %s, want it on session without ref or type", f.raw)
			}
			limited++
		default:
			t.Fatalf("unexpected frame %s", f.raw)
		}
	}
	if limited == 0 || served == 0 {
		t.Fatalf("%d served, %d rate limited; want both", served, limited)
	}
	c.expectNothing(200 * time.Millisecond)

	// The bucket refills at 1 frame/s: once it has, the device is served
	// again on the same connection.
	time.Sleep(1100 * time.Millisecond)
	stillServes(c, "lobby")
}

// TestBadInputProtocolViolations writes raw frames that break RFC 6455 or
// natter's text-only rule and checks the close code the client receives.
func TestBadInputProtocolViolations(t *testing.T) {
	tn := startNode(t, func(c *Config) { c.Conn.MaxMessageSize = 1024 })
	a := tn.register("proto-user")

	masked := func(op ws.OpCode, b []byte) ws.Frame { return ws.MaskFrame(ws.NewFrame(op, true, b)) }
	rsv := masked(ws.OpText, []byte(`{}`))
	rsv.Header.Rsv = ws.Rsv(true, false, false)
	bigPing := ws.NewFrame(ws.OpPing, true, make([]byte, 126))
	bigPing = ws.MaskFrame(bigPing)

	for _, tc := range []struct {
		name  string
		frame ws.Frame
		code  ws.StatusCode
	}{
		{"unmasked text", ws.NewTextFrame([]byte(`{}`)), ws.StatusProtocolError},
		{"reserved bit", rsv, ws.StatusProtocolError},
		{"reserved opcode", masked(ws.OpCode(0x3), []byte("x")), ws.StatusProtocolError},
		{"continuation without a message", masked(ws.OpContinuation, []byte("x")), ws.StatusProtocolError},
		{"control frame over 125 bytes", bigPing, ws.StatusProtocolError},
		{"binary", masked(ws.OpBinary, []byte{1, 2, 3}), ws.StatusUnsupportedData},
		{"invalid UTF-8", masked(ws.OpText, []byte{0xff, 0xfe}), ws.StatusInvalidFramePayloadData},
		{"over MaxMessageSize", masked(ws.OpText, []byte(`"`+strings.Repeat("x", 2000)+`"`)), ws.StatusMessageTooBig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tn.scopedTo(t).dialUser(a)
			c.writeRaw(tc.frame)
			if got := c.closeCode(); got != tc.code {
				t.Fatalf("close code %d, want %d", got, tc.code)
			}
		})
	}

	// A message at the limit, split in fragments, is fine: the limit is on
	// the reassembled message, and fragments are legal.
	t.Run("fragments within the limit", func(t *testing.T) {
		c := tn.scopedTo(t).dialUser(a)
		joinRoom(c, "lobby")
		msg := []byte(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"room":"lobby","echo":false,"message":"` +
			strings.Repeat("y", 900) + `"}}}`)
		c.writeRaw(ws.MaskFrame(ws.NewFrame(ws.OpText, false, msg[:10])))
		c.writeRaw(ws.MaskFrame(ws.NewFrame(ws.OpContinuation, false, msg[10:500])))
		c.writeRaw(ws.MaskFrame(ws.NewFrame(ws.OpContinuation, true, msg[500:])))
		c.expect(wire.TypeMessageAccepted)
	})
	t.Run("fragments over the limit", func(t *testing.T) {
		c := tn.scopedTo(t).dialUser(a)
		c.writeRaw(ws.MaskFrame(ws.NewFrame(ws.OpText, false, make([]byte, 600))))
		c.writeRaw(ws.MaskFrame(ws.NewFrame(ws.OpContinuation, true, make([]byte, 600))))
		if got := c.closeCode(); got != ws.StatusMessageTooBig {
			t.Fatalf("close code %d, want 1009", got)
		}
	})
}

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
	foreign, err := other.Issue(a.ID, a.Name)
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
		{"bad bearer header", "/ws", http.Header{"Authorization": {"Bearer " + expired}}, http.StatusUnauthorized},
		{"alias, no token", "/websockets", nil, http.StatusUnauthorized},
		{"foreign origin", "/ws?token=" + a.Token, http.Header{"Origin": {"http://evil.example"}}, http.StatusForbidden},
		{"same host, other port", "/ws?token=" + a.Token, http.Header{"Origin": {"http://127.0.0.1:1"}}, http.StatusForbidden},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tn.scopedTo(t).tryDial(tc.path, tc.header)
			if err == nil {
				c.conn.Close()
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
		c, hs, err := dialWith(tn.scopedTo(t), d, "/ws")
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		if hs.Protocol != "natter" {
			t.Fatalf("selected protocol %q, want natter", hs.Protocol)
		}
		var w wire.Welcome
		c.expect(wire.TypeWelcome).decode(t, &w)
		if w.User != a.ID {
			t.Fatalf("Welcome %+v, want user %s", w, a.ID)
		}
	})
	t.Run("subprotocol bad token", func(t *testing.T) {
		d := ws.Dialer{Timeout: 5 * time.Second, Protocols: []string{"natter", "token.garbage"}}
		_, _, err := dialWith(tn.scopedTo(t), d, "/ws")
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
			f.raw = payload
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
			t.Fatalf("unexpected frame %s", f.raw)
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
func (tn *testNode) scopedTo(t testing.TB) *testNode {
	return &testNode{Node: tn.Node, addr: tn.addr, dataDir: tn.dataDir, t: t, serve: tn.serve}
}

// joinRoom joins a public room and reads the joiner's MemberList and
// JoinedRoom.
func joinRoom(c *client, room string) {
	c.t.Helper()
	c.sendf(`{"channel":"chat-room","message":{"type":"JoinRoom","contents":{"room":%q}}}`, room)
	c.expect(wire.TypeMemberList)
	c.expect(wire.TypeJoinedRoom)
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
			c.t.Fatalf("got %s, want an Error", f.raw)
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
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := ws.WriteFrame(c.conn, f); err != nil {
		c.t.Fatalf("write frame: %v", err)
	}
}

// dialWith is tryDial with a caller's dialer (for subprotocols); it also
// returns the handshake.
func dialWith(tn *testNode, d ws.Dialer, path string) (*client, ws.Handshake, error) {
	conn, br, hs, err := d.Dial(context.Background(), "ws://"+tn.addr+path)
	if err != nil {
		return nil, hs, err
	}
	c := &client{t: tn.t, conn: conn, r: conn, frames: make(chan frame, 4096), closed: make(chan struct{})}
	if br != nil {
		c.r = io.MultiReader(br, conn)
	}
	go c.read()
	tn.t.Cleanup(func() { conn.Close() })
	return c, hs, nil
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
func signedToken(t *testing.T, userID string, exp time.Time) string {
	return signedTokenWith(t, jwt.RegisteredClaims{
		Subject: userID, Issuer: "natter", IssuedAt: jwt.NewNumericDate(exp.Add(-time.Hour)), ExpiresAt: jwt.NewNumericDate(exp),
	})
}

func signedTokenWith(t *testing.T, c jwt.RegisteredClaims) string {
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
