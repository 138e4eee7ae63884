package node

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/natterchat/natter/node/wire"
)

// graceChat makes two registered users and a private chat of both, and
// connects the second.
func graceChat(t *testing.T, tn *testNode) (alice, bob account, chatID string, cb *client) {
	t.Helper()
	alice, bob = tn.register("grace-a"), tn.register("grace-b")
	var ch apiChat
	if st := tn.api("POST", "/api/chats", alice.Token, map[string]any{"name": "grace", "kind": "private", "members": []string{bob.ID}}, &ch); st != http.StatusCreated {
		t.Fatalf("create: %d", st)
	}
	cb = tn.dialUser(bob)
	return alice, bob, ch.ID, cb
}

// presenceIn returns the presence frames c gets until a frame of type
// until has come and then for d more.
func presenceIn(t *testing.T, c *client, until string, d time.Duration) []string {
	t.Helper()
	var seen []string
	var end time.Time
	for deadline := time.Now().Add(15 * time.Second); ; {
		wait := time.Until(deadline)
		if !end.IsZero() {
			wait = time.Until(end)
		}
		if wait <= 0 {
			return seen
		}
		f, ok := c.next(wait)
		if !ok {
			if end.IsZero() {
				t.Fatalf("no %s within 15s", until)
			}
			return seen
		}
		switch f.Type() {
		case wire.TypeOnline, wire.TypeOffline:
			seen = append(seen, f.Type())
		case until:
			if end.IsZero() {
				end = time.Now().Add(d)
			}
		}
	}
}

// TestPresenceGrace: a registered user whose device closes and who comes
// back within the grace is never seen offline by the other members (no
// Offline, no second Online); one who does not come back still counts
// as online through the grace, and a leaving node announces the downs
// that wait for their grace at once.
func TestPresenceGrace(t *testing.T) {
	tn := startNode(t, func(c *Config) { c.PresenceGrace = time.Minute })
	alice, bob, chatID, cb := graceChat(t, tn)
	ca := tn.dialUser(alice)
	cb.waitFor(wire.TypeOnline)

	ca.Conn.Close()
	ca = tn.dialUser(alice)
	ca.sendf(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":"back","clientMsgId":"g1"}}}`, chatID)
	ca.waitFor(wire.TypeMessageAccepted)
	// Without the grace an Offline and an Online would reach bob within
	// the notice delay (250 ms) of alice's close and return.
	if seen := presenceIn(t, cb, wire.TypeNewMessage, time.Second); len(seen) != 0 {
		t.Fatalf("bob saw %v while alice reconnected within the grace", seen)
	}

	ca.Conn.Close()
	checkFor(t, 10*time.Second, func() error {
		if tn.conns.Len() != 1 {
			return fmt.Errorf("%d connections, want bob's alone", tn.conns.Len())
		}
		return nil
	})
	var p struct{ Online []apiOnline }
	if st := tn.api("GET", "/api/chats/"+chatID+"/presence", bob.Token, nil, &p); st != http.StatusOK || len(p.Online) != 2 {
		t.Fatalf("presence within the grace: %d %+v; want alice still online beside bob", st, p)
	}
	tn.sess.FlushPresence()
	cb.waitFor(wire.TypeOffline)
}

// TestPresenceGraceEnds: a user who does not come back is offline once
// the grace has passed.
func TestPresenceGraceEnds(t *testing.T) {
	tn := startNode(t, func(c *Config) { c.PresenceGrace = 200 * time.Millisecond })
	alice, _, _, cb := graceChat(t, tn)
	ca := tn.dialUser(alice)
	cb.waitFor(wire.TypeOnline)
	ca.Conn.Close()
	cb.waitFor(wire.TypeOffline)
}
