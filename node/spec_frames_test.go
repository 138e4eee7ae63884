package node

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/natterchat/natter/node/wire"
)

// specClient is a WebSocket client whose every frame, sent or received,
// is validated against its schema.
type specClient struct {
	*client
	s *specs
}

// send validates a client frame and sends it.
func (c *specClient) send(t *testing.T, format string, args ...any) {
	t.Helper()
	raw := fmt.Sprintf(format, args...)
	c.s.checkFrame(t, wire.FromClient, []byte(raw))
	c.client.send(raw)
}

// expect reads frames until one of type typ, validating each, and returns
// it; frames of other types on the way (presence, others' notices) are
// validated and skipped.
func (c *specClient) expect(t *testing.T, typ string) frame {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		f, ok := c.next(time.Until(deadline))
		if !ok {
			t.Fatalf("waiting for %s: none came", typ)
		}
		c.s.checkFrame(t, wire.FromServer, f.Raw)
		if f.Message.Type == typ {
			return f
		}
		if f.Message.Type == wire.TypeError {
			t.Fatalf("waiting for %s: %s", typ, f.Raw)
		}
	}
}

// expectError reads frames until an Error, which must be on channel
// with code.
func (c *specClient) expectError(t *testing.T, channel, code string) {
	t.Helper()
	f := c.expect(t, wire.TypeError)
	var e wire.Error
	f.decode(t, &e)
	if f.Channel != channel || e.Code != code {
		t.Errorf("Error %s, want channel %s code %s", f.Raw, channel, code)
	}
}

// testSpecFrames sends every client frame type and provokes every server
// frame type over real WebSockets, as users a, b and o.
func testSpecFrames(t *testing.T, s *specs, tn *testNode, a, b, o account) {
	dial := func(a account) *specClient {
		t.Helper()
		c, err := tn.tryDial("/ws?token="+a.Token, nil)
		if err != nil {
			t.Fatal(err)
		}
		sc := &specClient{client: c, s: s}
		sc.expect(t, wire.TypeWelcome)
		return sc
	}
	ca, cb := dial(a), dial(b)

	var refreshed struct{ Token string }
	if st := tn.api(http.MethodPost, "/api/sessions/refresh", a.Token, nil, &refreshed); st != 200 {
		t.Fatalf("refresh: %d", st)
	}
	ca.send(t, `{"channel":"session","message":{"type":"Refresh","contents":{"token":%q}}}`, refreshed.Token)
	ca.expect(t, wire.TypeRefreshed)

	ca.send(t, `{"channel":"chat-room","message":{"type":"JoinRoom","contents":{"room":"#spec"}}}`)
	var joined wire.MemberEvent
	ca.expect(t, wire.TypeMemberList)
	ca.expect(t, wire.TypeJoinedRoom).decode(t, &joined)
	room := joined.Chat
	tn.settle()
	cb.send(t, `{"channel":"chat-room","message":{"type":"JoinRoom","contents":{"chat":%q},"ref":"j1"}}`, room)
	cb.expect(t, wire.TypeJoinedRoom)
	ca.expect(t, wire.TypeJoinedRoom)

	// Online and Offline: a third user who shares the chat connects and
	// goes.
	if st := tn.api(http.MethodPost, "/api/chats/"+room+"/join", o.Token, nil, nil); st != 200 {
		t.Fatalf("join: %d", st)
	}
	co := dial(o)
	ca.expect(t, wire.TypeOnline)
	co.Conn.Close()
	ca.expect(t, wire.TypeOffline)

	ca.send(t, `{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":"hi","clientMsgId":"spec-ws-1"}}}`, room)
	ca.expect(t, wire.TypeMessageAccepted)
	cb.expect(t, wire.TypeNewMessage)
	ca.send(t, `{"channel":"chat-room","message":{"type":"SendMessage","contents":{"room":"#spec","message":"no echo","echo":false}}}`)
	ca.expect(t, wire.TypeMessageAccepted)
	ca.send(t, `{"channel":"chat-room","message":{"type":"History","contents":{"chat":%q,"limit":10}}}`, room)
	ca.expect(t, wire.TypeHistoryPage)
	ca.send(t, `{"channel":"chat-room","message":{"type":"History","contents":{"chat":%q,"before":2}}}`, room)
	ca.expect(t, wire.TypeHistoryPage)
	ca.send(t, `{"channel":"chat-room","message":{"type":"Resume","contents":{"chat":%q,"afterSeq":0}}}`, room)
	ca.expect(t, wire.TypeResumed)
	ca.send(t, `{"channel":"chat-room","message":{"type":"GetMembers","contents":{"chat":%q}}}`, room)
	ca.expect(t, wire.TypeMemberList)
	ca.send(t, `{"channel":"chat","message":{"type":"SubmitMessage","contents":"hello everyone"}}`)
	ca.expect(t, wire.TypeNewMessageReceived)
	cb.expect(t, wire.TypeNewMessageReceived)
	if st := tn.api(http.MethodPost, "/api/broadcast", testAPIKey, map[string]any{"channel": "ping", "message": map[string]any{"type": "Ping", "contents": 2}}, nil); st != 202 {
		t.Fatalf("broadcast: %d", st)
	}
	ca.expect(t, wire.TypePing)

	// Errors, on every channel.
	ca.client.send(`{"channel":`)
	ca.expectError(t, wire.ChannelSession, wire.CodeBadJSON)
	ca.client.send(`{"channel":"nope","message":{"type":"X"}}`)
	ca.expectError(t, wire.ChannelSession, wire.CodeUnknownChannel)
	ca.client.send(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":"no-such-chat","message":"x"}},"ref":"r1"}`)
	ca.expectError(t, wire.ChannelChatRoom, wire.CodeChatNotFound)
	ca.client.send(`{"channel":"chat","message":{"type":"SubmitMessage","contents":""}}`)
	ca.expectError(t, wire.ChannelChat, wire.CodeMissingField)
	ca.client.send(`{"channel":"ping","message":{"type":"Ping","contents":1}}`)
	ca.expectError(t, wire.ChannelPing, wire.CodeUnknownType)
	ca.client.send(`{"channel":"presence","message":{"type":"Online","contents":{}}}`)
	ca.expectError(t, wire.ChannelPresence, wire.CodeUnknownType)

	testSpecFramesChanges(t, ca, cb, room) // spec_changes_test.go

	cb.send(t, `{"channel":"chat-room","message":{"type":"LeaveRoom","contents":{"chat":%q}}}`, room)
	cb.expect(t, wire.TypeLeftRoom)
	ca.expect(t, wire.TypeLeftRoom)
}
