package fanout

import (
	"testing"

	"github.com/nats-io/nats.go"
)

// TestChatStartToldBeforeSubscribe: a chat's start is told (OnChatStart)
// as soon as the chat counts as delivered, before the subscription and
// its store reads: the presence view registers its snapshot there, and a
// member list asked for meanwhile read a view without the chat.
func TestChatStartToldBeforeSubscribe(t *testing.T) {
	var nc *nats.Conn
	var r *rig
	subsAtStart, delivered, told := -1, false, 0
	r = newRig(t, func(c *Config) {
		nc = c.NC
		c.OnChatStart = func(chatID string) {
			told++
			subsAtStart, delivered = nc.NumSubscriptions(), r.hub.Delivers(chatID)
		}
	})
	r.start()
	chat := r.room("starts")
	r.device("alice")
	before := nc.NumSubscriptions()
	r.hub.Link(r.hub.User("alice"), chat, nil)
	if told != 1 {
		t.Fatalf("the chat's start was told %d times", told)
	}
	if !delivered {
		t.Error("the chat did not count as delivered when its start was told")
	}
	if subsAtStart != before {
		t.Errorf("the chat's start was told after its subscription (%d subscriptions, %d before the link)", subsAtStart, before)
	}
	if nc.NumSubscriptions() != before+1 {
		t.Errorf("%d subscriptions after the link, %d before", nc.NumSubscriptions(), before)
	}
}
