package node

import (
	"errors"
	"strings"
	"testing"

	"github.com/natterchat/natter/store"
)

// threeStreams spreads the chats over three message streams.
func threeStreams(c *Config) { c.Streams = 3 }

// TestThreeStreams runs the tests of sending, dedup, history, resume,
// catch-up at connect, gap repair and edits with the chats spread over
// three message streams: per chat nothing may change.
func TestThreeStreams(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, func(*Config))
	}{
		{"send", testFanoutDevices},
		{"dedup", testClientMsgIDIdempotent},
		{"history", testAPIMessages},
		{"resume", testResume},
		{"resume during traffic", testResumeDuringTraffic},
		{"catch-up at connect", testNothingLostAroundConnect},
		{"gap repair", testGapRepairAcrossReconnects},
		{"edits", testEditDeleteReactReply},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, threeStreams) })
	}
}

// TestStreamsFixedAtStart: a node restarted on its data with another
// --streams refuses to start, naming the recorded count; with the same
// one it starts and keeps its chats' messages.
func TestStreamsFixedAtStart(t *testing.T) {
	dir := t.TempDir()
	tn := startNodeDir(t, dir, threeStreams)
	alice := tn.register("alice")
	a := tn.dialUser(alice)
	chat := a.joinRoom("fixed")
	sent := a.sendMsg(chat, "kept", "", true)
	a.Conn.Close()
	tn.stop()

	cfg := Config{DataDir: dir, Secret: testSecret, Logger: testLogger(), Streams: 1}
	if n, err := New(cfg); !errors.Is(err, store.ErrStreamsChanged) || !strings.Contains(err.Error(), "the cluster has 3") {
		if n != nil {
			t.Cleanup(func() { _ = n.Shutdown(t.Context()) })
		}
		t.Fatalf("New with --streams 1 on a cluster of 3: %v", err)
	}

	tn = startNodeDir(t, dir, threeStreams)
	var page struct {
		Messages []struct {
			Seq  uint64 `json:"seq"`
			Text string `json:"message"`
		} `json:"messages"`
	}
	tn.api("GET", "/api/chats/"+chat+"/messages", alice.Token, nil, &page)
	if len(page.Messages) != 1 || page.Messages[0].Seq != sent.Seq {
		t.Fatalf("history after the restart = %+v, want seq %d", page, sent.Seq)
	}
}
