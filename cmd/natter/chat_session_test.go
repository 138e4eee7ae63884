package main

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/natterchat/natter/node/client"
	"github.com/natterchat/natter/node/wire"
)

// testSession is an interactive guest session in #r with no connection:
// frames and events are handed to it directly, and what it sends is
// dropped.
func testSession(t *testing.T, args ...string) (*chatSession, *bytes.Buffer) {
	t.Helper()
	o, err := parseChatFlags(append([]string{"--guest", "--room", "#r"}, args...), envMap(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	c := newChatSession(o, chatEndpoints{api: "http://127.0.0.1:1", ws: "ws://127.0.0.1:1/ws"}, &out, &out)
	c.me = wire.Welcome{User: "g1", Name: "guest-1"}
	return c, &out
}

// frameOf is a frame as the client reads it off the connection.
func frameOf(t *testing.T, typ string, contents any) client.Frame {
	t.Helper()
	raw := wire.Encode(wire.ChannelChatRoom, typ, contents)
	var f client.Frame
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	f.Raw = raw
	return f
}

// handle hands frames to the session as if the current connection read
// them.
func handle(t *testing.T, c *chatSession, frames ...client.Frame) {
	t.Helper()
	for _, f := range frames {
		if err := c.handleEvent(client.Event{Kind: client.EventFrame, Frame: f}); err != nil {
			t.Fatalf("%s: %v", f.Type(), err)
		}
	}
}

// TestChatQuitWhileDisconnected: the end of input while the connection
// is down ends the session at once, even with a /members unanswered; the
// answer cannot come, as requests die with their connection.
func TestChatQuitWhileDisconnected(t *testing.T) {
	c, out := testSession(t)
	c.everJoin, c.joined = true, true
	c.handleLine("/members")
	if len(c.waiting) != 1 {
		t.Fatalf("waiting = %v after /members", c.waiting)
	}
	if err := c.handleEvent(client.Event{Kind: client.EventDisconnected, Err: io.ErrUnexpectedEOF}); err != nil {
		t.Fatal(err)
	}
	c.quit()
	if done, err := c.finished(); !done || err != nil {
		t.Fatalf("finished() = %v, %v; want true, nil (waiting %v)\n%s", done, err, c.waiting, out)
	}
}

// TestChatJSONJoinHistoryError: with --json in interactive mode, a live
// message that came while the join's history was pending is printed
// once, also when the history request fails.
func TestChatJSONJoinHistoryError(t *testing.T) {
	c, out := testSession(t, "--json")
	handle(t, c,
		frameOf(t, wire.TypeMemberList, wire.MemberList{Room: "#r", Chat: "c1"}),
		frameOf(t, wire.TypeJoinedRoom, wire.MemberEvent{Room: "#r", Chat: "c1", User: "g1", Name: "guest-1"}),
	)
	if !c.joined || !c.joinHistory {
		t.Fatalf("joined %v, joinHistory %v after the join; want both", c.joined, c.joinHistory)
	}
	handle(t, c,
		frameOf(t, wire.TypeNewMessage, wire.NewMessage{Room: "#r", Chat: "c1", Seq: 7, Name: "bob", Message: "while joining"}),
		frameOf(t, wire.TypeError, wire.Error{Code: wire.CodeUnavailable, Message: "store down", Ref: "join-history"}),
	)
	if c.joinHistory {
		t.Fatal("still waiting for the join's history after its error")
	}
	if n := strings.Count(out.String(), "while joining"); n != 1 {
		t.Fatalf("the message was printed %d times, want 1:\n%s", n, out)
	}
	if !strings.Contains(out.String(), "! history: unavailable: store down") {
		t.Fatalf("no problem line about the history:\n%s", out)
	}
}
