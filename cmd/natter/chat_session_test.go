package main

import (
	"bytes"
	"io"
	"testing"

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
	if err := c.handleEvent(chatEvent{conn: c.connN, err: io.ErrUnexpectedEOF}); err != nil {
		t.Fatal(err)
	}
	c.quit()
	if done, err := c.finished(); !done || err != nil {
		t.Fatalf("finished() = %v, %v; want true, nil (waiting %v)\n%s", done, err, c.waiting, out)
	}
}
