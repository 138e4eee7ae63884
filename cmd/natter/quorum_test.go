package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/natterchat/natter/node/client"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/subjects"
)

// testQuorumLoss: with the first node dead, storage has elected leaders
// on the two left and a send is acked; then the second dies, so node3
// holds the only live replica of every R3 stream. A send over WebSocket
// is answered with an Error, one over HTTP with an error status, within
// node3's request timeout; what node3's replica stores is exactly what
// was acked, and no ack comes for the refused send.
func testQuorumLoss(t *testing.T, g *guestRoom, first, second int) {
	survivor := g.procs[2]
	g.procs[first].kill() // already dead unless the subtest before stopped early
	checkLeaders(t, g.procs, survivor, storeStreams, first)
	info, err := streamInfo(survivor, subjects.StreamMessages)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Replicas != 3 {
		t.Fatalf("the message stream has %d replicas, want 3", info.Config.Replicas)
	}
	sender := g.ritaOn(t, 2)
	const before = "stored while two of three nodes were up"
	acked := map[uint64]string{g.sendAcked(t, sender, "q-before", before): before}

	g.procs[second].kill()
	from := len(sender.all())
	if f := g.sendOnce(t, sender, "q-ws", "sent without a quorum"); f.Type() != wire.TypeError {
		t.Errorf("a send without a quorum was answered %s", f.Raw)
	} else if e := errorOf(f); e.Type != wire.TypeSendMessage {
		t.Errorf("a send without a quorum was answered with %+v, an Error not naming SendMessage", e)
	}
	if st, code, seq := g.post(t, survivor, "q-http", "posted without a quorum"); st/100 == 2 || code == "" || seq != 0 {
		t.Errorf("an HTTP send without a quorum was answered %d, code %q, seq %d; want an error", st, code, seq)
	}
	// Nothing acknowledged that is not stored, nothing stored that was
	// not acknowledged: node3's own replica answers the direct gets.
	stored := storedMessages(t, connectNATS(t, survivor), g.chat)
	if len(stored) != len(acked) || stored[0] != "" {
		t.Errorf("node3's replica stores %v; acked were %v", stored, acked)
	}
	for seq, text := range acked {
		if stored[seq] != text {
			t.Errorf("node3's replica stores %q at seq %d, acked for %q", stored[seq], seq, text)
		}
	}
	for _, f := range sender.all()[from:] {
		if answers("q-ws")(f) && f.Type() == wire.TypeMessageAccepted {
			t.Errorf("q-ws was acknowledged without a quorum: %s", f.Raw)
		}
	}
	// The first node's guests left once, and nobody on node3 left.
	// (Whether the second node's guests leave depends on when node3
	// drops the two nodes: see TestClusterGuestsOfTwoDeadNodes.)
	g.checkLeftOnce(t, []int{first}, []int{2})
}

// testUnavailable: with the quorum lost for good (node3's JetStream
// knows the chats bucket has no leader), sends are answered with the
// documented code unavailable, "retry": over WebSocket an Error, over
// HTTP 503 (docs/protocol.md, docs/cluster.md "Loss of quorum").
func testUnavailable(t *testing.T, g *guestRoom) {
	g.procs[0].kill()
	g.procs[1].kill()
	survivor := g.procs[2]
	awaitLeaderlessReads(t, connectNATS(t, survivor), g.chat)
	sender := g.ritaOn(t, 2)
	if f := g.sendOnce(t, sender, "q-ws-late", "sent long after the quorum was lost"); f.Type() != wire.TypeError {
		t.Errorf("a send without a quorum was answered %s", f.Raw)
	} else if e := errorOf(f); e.Code != wire.CodeUnavailable || e.Type != wire.TypeSendMessage {
		t.Errorf("a send without a quorum was answered with %+v, want code %s for SendMessage", e, wire.CodeUnavailable)
	}
	if st, code, _ := g.post(t, survivor, "q-http-late", "posted long after the quorum was lost"); st != http.StatusServiceUnavailable || code != wire.CodeUnavailable {
		t.Errorf("an HTTP send without a quorum was answered %d %q, want 503 %s", st, code, wire.CodeUnavailable)
	}
}

// sendOnce sends text with clientMsgId id from d and returns the answer:
// its MessageAccepted or its Error, which must come within the node's
// request timeout (and a margin for a busy machine).
func (g *guestRoom) sendOnce(t *testing.T, d roomDev, id, text string) client.Frame {
	t.Helper()
	from := len(d.all())
	if err := d.c.Send(wire.ChannelChatRoom, wire.TypeSendMessage, wire.SendMessage{ChatRef: wire.ChatRef{Chat: g.chat}, Message: text, ClientMsgID: id}); err != nil {
		t.Fatalf("%s: send %s: %v", d.name, id, err)
	}
	return d.await(t, from, quorumTimeout+30*time.Second, "answer to "+id, answers(id))
}

// sendAcked sends text with clientMsgId id from d until it is acked,
// resending with the same id after an unavailable Error, and returns its
// seq.
func (g *guestRoom) sendAcked(t *testing.T, d roomDev, id, text string) uint64 {
	t.Helper()
	for attempt := 1; ; attempt++ {
		f := g.sendOnce(t, d, id, text)
		if f.Type() == wire.TypeMessageAccepted {
			var a wire.MessageAccepted
			if err := f.Decode(&a); err != nil {
				t.Fatal(err)
			}
			return a.Seq
		}
		if e := errorOf(f); e.Code != wire.CodeUnavailable || attempt >= 10 {
			t.Fatalf("%s: send %s answered %+v (attempt %d)", d.name, id, e, attempt)
		}
	}
}

// post sends text with clientMsgId id as rita over p's HTTP API and
// returns the status, the error code and the seq of the answer.
func (g *guestRoom) post(t *testing.T, p *proc, id, text string) (status int, code string, seq uint64) {
	t.Helper()
	var out struct {
		Seq   uint64
		Error struct{ Code string }
	}
	st := api(t, p.addr, "POST", "/api/chats/"+g.chat+"/messages", g.rita.Token, map[string]string{"text": text, "clientMsgId": id}, &out)
	return st, out.Error.Code, out.Seq
}

// answers matches the answer to the send with clientMsgId id: its
// MessageAccepted or its Error.
func answers(id string) func(client.Frame) bool {
	return func(f client.Frame) bool {
		switch f.Type() {
		case wire.TypeMessageAccepted:
			var a wire.MessageAccepted
			return f.Decode(&a) == nil && a.ClientMsgID == id
		case wire.TypeError:
			return errorOf(f).Ref == id
		}
		return false
	}
}
