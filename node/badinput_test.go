package node

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/natterchat/natter/node/wire"
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
	oc.joinRoom("other")
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
	uc.joinRoom("lobby")

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
	c.joinRoom("lobby")

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
// frame is answered (processed or rejected with rate_limited, which says
// when to retry), at least one is rejected, and the connection stays
// open.
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
				t.Fatalf("unexpected error %s", f.Raw)
			}
			// docs/protocol.md: the limiter drops a frame before reading
			// it, so its Error comes on session without ref or type.
			if f.Channel != wire.ChannelSession || e.Ref != "" || e.Type != "" {
				t.Fatalf("rate_limited Error is %s, want it on session without ref or type", f.Raw)
			}
			// At 1 frame/s the bucket holds a frame again within 1 s.
			if e.RetryAfter < 1 || e.RetryAfter > 1000 {
				t.Fatalf("rate_limited Error %s: retryAfter %d ms, want 1 to 1000", f.Raw, e.RetryAfter)
			}
			limited++
		default:
			t.Fatalf("unexpected frame %s", f.Raw)
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
		c.joinRoom("lobby")
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
