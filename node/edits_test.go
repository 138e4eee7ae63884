package node

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/store/storetest"
	"github.com/natterchat/natter/subjects"
)

// msgState is what a client knows of one message after applying the
// frames it got: what the page shows.
type msgState struct {
	Text      string
	Edited    bool
	Deleted   bool
	Reactions map[string][]string
	ReplyTo   uint64
}

// view is a client's fold of a chat's frames, by message seq; cursor is
// the last stream position seen (NewMessage.seq or an event's eventSeq).
type view struct {
	msgs   map[uint64]*msgState
	cursor uint64
}

func newView() *view { return &view{msgs: make(map[uint64]*msgState)} }

// apply folds one frame into the view as a client would; it reports
// whether the frame was one of the chat's.
func (v *view) apply(t testing.TB, f frame) bool {
	t.Helper()
	switch f.Message.Type {
	case wire.TypeNewMessage:
		var m wire.NewMessage
		f.decode(t, &m)
		st := &msgState{Text: m.Message}
		if m.ReplyTo != nil {
			st.ReplyTo = m.ReplyTo.Seq
		}
		v.msgs[m.Seq], v.cursor = st, max(v.cursor, m.Seq)
	case wire.TypeMessageEdited:
		var e wire.MessageEdited
		f.decode(t, &e)
		if st := v.msgs[e.Seq]; st != nil && !st.Deleted {
			st.Text, st.Edited = e.Message, true
		}
		v.cursor = max(v.cursor, e.EventSeq)
	case wire.TypeMessageDeleted:
		var e wire.MessageDeleted
		f.decode(t, &e)
		// Also for a message the device never saw (deleted before a
		// resume replayed it): history shows the tombstone too.
		v.msgs[e.Seq] = &msgState{Deleted: true}
		v.cursor = max(v.cursor, e.EventSeq)
	case wire.TypeReaction:
		var e wire.Reaction
		f.decode(t, &e)
		if st := v.msgs[e.Seq]; st != nil && !st.Deleted {
			if st.Reactions == nil {
				st.Reactions = make(map[string][]string)
			}
			users := slices.DeleteFunc(st.Reactions[e.Emoji], func(u string) bool { return u == e.User })
			if e.On {
				users = append(users, e.User)
			}
			if len(users) == 0 {
				delete(st.Reactions, e.Emoji)
			} else {
				st.Reactions[e.Emoji] = users
			}
		}
		v.cursor = max(v.cursor, e.EventSeq)
	default:
		return false
	}
	return true
}

// String prints the view in seq order, for comparisons.
func (v *view) String() string {
	var b bytes.Buffer
	for _, seq := range slices.Sorted(maps.Keys(v.msgs)) {
		st := v.msgs[seq]
		fmt.Fprintf(&b, "%d:%q edited=%v deleted=%v reply=%d", seq, st.Text, st.Edited, st.Deleted, st.ReplyTo)
		for _, e := range slices.Sorted(maps.Keys(st.Reactions)) {
			fmt.Fprintf(&b, " %s=%v", e, st.Reactions[e])
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// historyView is the view a device builds from History alone.
func historyView(t testing.TB, c *client, chat string) *view {
	t.Helper()
	c.sendf(`{"channel":"chat-room","message":{"type":"History","contents":{"chat":%q,"limit":100}}}`, chat)
	var page wire.HistoryPage
	c.waitFor(wire.TypeHistoryPage).decode(t, &page)
	v := newView()
	for _, m := range page.Messages {
		st := &msgState{Text: m.Message, Edited: m.EditedAt != nil, Deleted: m.Deleted, Reactions: m.Reactions}
		if m.ReplyTo != nil {
			st.ReplyTo = m.ReplyTo.Seq
		}
		v.msgs[m.Seq] = st
	}
	return v
}

// change sends an EditMessage, DeleteMessage or React frame.
func (c *client) change(typ, chat string, seq uint64, extra string) {
	c.t.Helper()
	c.sendf(`{"channel":"chat-room","message":{"type":%q,"contents":{"chat":%q,"seq":%d%s}}}`, typ, chat, seq, extra)
}

// wantError expects an Error frame with code.
func (c *client) wantError(code string) {
	c.t.Helper()
	if e := c.expectError(); e.Code != code || e.Message == "" {
		c.t.Fatalf("error %+v, want code %s", e, code)
	}
}

// TestEditDeleteReactReply runs every new frame and error on one node,
// then checks that the history a new device reads equals what a device
// that was there all along folded from the frames.
func TestEditDeleteReactReply(t *testing.T) { testEditDeleteReactReply(t, nil) }

// testEditDeleteReactReply is TestEditDeleteReactReply on nodes adjusted by mod.
func testEditDeleteReactReply(t *testing.T, mod func(*Config)) {
	tn := startNode(t, mod)
	alice, bob, carol := tn.register("alice"), tn.register("bob"), tn.register("carol")
	a := tn.dialUser(alice)
	chat := a.joinRoom("edits")
	b := tn.dialUser(bob)
	b.joinRoom("edits")
	a.expect(wire.TypeJoinedRoom)
	a.strict, b.strict = true, true
	va, vb := newView(), newView()
	pump := func(want ...string) { // each of a and b gets these frames, in order
		t.Helper()
		for _, typ := range want {
			va.apply(t, a.expect(typ))
			vb.apply(t, b.expect(typ))
		}
	}

	first := a.sendMsg(chat, "helo wrold", "m1", true)
	va.msgs[first.Seq] = &msgState{Text: "helo wrold"}
	vb.apply(t, b.expect(wire.TypeNewMessage))

	// A reply carries the original's sender and excerpt.
	b.sendf(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":"hi!","replyTo":%d,"clientMsgId":"r1"}}}`, chat, first.Seq)
	for got := 0; got < 2; { // the ack and the own copy, in either order
		f, ok := b.next(10 * time.Second)
		switch {
		case !ok:
			t.Fatal("no ack and copy of the reply")
		case f.Message.Type == wire.TypeNewMessage:
			vb.apply(t, f)
			got++
		case f.Message.Type == wire.TypeMessageAccepted:
			got++
		}
	}
	f := a.expect(wire.TypeNewMessage)
	var reply wire.NewMessage
	f.decode(t, &reply)
	if reply.ReplyTo == nil || reply.ReplyTo.Seq != first.Seq || reply.ReplyTo.User != alice.ID || reply.ReplyTo.Excerpt != "helo wrold" {
		t.Fatalf("reply = %+v", reply)
	}
	va.apply(t, f)

	a.change(wire.TypeEditMessage, chat, first.Seq, `,"message":"hello world"`)
	pump(wire.TypeMessageEdited)
	b.change(wire.TypeReact, chat, first.Seq, `,"emoji":"👍"`)
	pump(wire.TypeReaction)
	a.change(wire.TypeReact, chat, first.Seq, `,"emoji":"👍","on":true`)
	b.change(wire.TypeReact, chat, reply.Seq, `,"emoji":"❤️"`)
	pump(wire.TypeReaction, wire.TypeReaction)
	b.change(wire.TypeReact, chat, reply.Seq, `,"emoji":"❤️","on":false`)
	pump(wire.TypeReaction)
	if got := va.msgs[first.Seq]; got.Text != "hello world" || !slices.Equal(got.Reactions["👍"], []string{bob.ID, alice.ID}) {
		t.Fatalf("a's view of the first message: %+v", got)
	}

	// Errors: each its own code, nothing stored.
	b.change(wire.TypeEditMessage, chat, first.Seq, `,"message":"mine now"`)
	b.wantError(wire.CodeNotSender)
	b.change(wire.TypeDeleteMessage, chat, first.Seq, ``)
	b.wantError(wire.CodeNotSender)
	b.change(wire.TypeEditMessage, chat, 1<<40, `,"message":"x"`)
	b.wantError(wire.CodeMessageNotFound)
	a.change(wire.TypeEditMessage, chat, va.cursor, `,"message":"an edit is not a message"`)
	a.wantError(wire.CodeMessageNotFound)
	b.change(wire.TypeReact, chat, first.Seq, `,"emoji":"ok"`)
	b.wantError(wire.CodeBadEmoji)
	b.change(wire.TypeReact, chat, first.Seq, `,"emoji":"👍 "`)
	b.wantError(wire.CodeBadEmoji)
	b.change(wire.TypeReact, chat, first.Seq, ``)
	b.wantError(wire.CodeMissingField)
	a.change(wire.TypeEditMessage, chat, 0, `,"message":"x"`)
	a.wantError(wire.CodeMissingField)
	a.change(wire.TypeEditMessage, chat, first.Seq, `,"message":""`)
	a.wantError(wire.CodeMissingField)
	b.sendf(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":"?","replyTo":%d}}}`, chat, 1<<40)
	b.wantError(wire.CodeMessageNotFound)
	b.sendf(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":"?","replyTo":%d}}}`, chat, uint64(1)<<60)
	b.wantError(wire.CodeInvalidField)
	b.change(wire.TypeReact, chat, first.Seq, `,"emoji":"👍","clientMsgId":"not valid!"`)
	b.wantError(wire.CodeInvalidField)
	c := tn.dialUser(carol)
	c.change(wire.TypeEditMessage, chat, first.Seq, `,"message":"x"`)
	c.wantError(wire.CodeNotMember)

	a.change(wire.TypeDeleteMessage, chat, first.Seq, ``)
	pump(wire.TypeMessageDeleted)
	a.change(wire.TypeEditMessage, chat, first.Seq, `,"message":"back"`)
	a.wantError(wire.CodeMessageDeleted)
	b.change(wire.TypeReact, chat, first.Seq, `,"emoji":"👍"`)
	b.wantError(wire.CodeMessageDeleted)
	b.sendf(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":"?","replyTo":%d}}}`, chat, first.Seq)
	b.wantError(wire.CodeMessageDeleted)
	a.expectNothing(200 * time.Millisecond)

	if va.String() != vb.String() {
		t.Fatalf("a and b disagree:\n%s\n%s", va, vb)
	}
	// A new device reads the same from history; the reply's quote of the
	// deleted message lost its excerpt.
	b2 := tn.dialUser(bob)
	hv := historyView(t, b2, chat)
	if hv.String() != va.String() {
		t.Fatalf("history:\n%s\nfolded frames:\n%s", hv, va)
	}
	var page wire.HistoryPage
	b2.sendf(`{"channel":"chat-room","message":{"type":"History","contents":{"chat":%q}}}`, chat)
	b2.waitFor(wire.TypeHistoryPage).decode(t, &page)
	if r := page.Messages[1].ReplyTo; r == nil || !r.Deleted || r.Excerpt != "" {
		t.Fatalf("history reply = %+v", page.Messages[1])
	}
	if m := page.Messages[0]; !m.Deleted || m.Message != "" || m.User != "" || m.Seq != first.Seq {
		t.Fatalf("tombstone = %+v", m)
	}
}

// TestDeletedTextIsErased deletes an edited message and reads CHAT_MSGS
// directly: neither the original nor its edit is stored any more.
func TestDeletedTextIsErased(t *testing.T) {
	tn := startNode(t, nil)
	alice := tn.register("alice")
	a := tn.dialUser(alice)
	chat := a.joinRoom("erase")
	a.strict = true
	sent := a.sendMsg(chat, "my secret password", "s1", true)
	a.change(wire.TypeEditMessage, chat, sent.Seq, `,"message":"my other secret"`)
	var ed wire.MessageEdited
	a.expect(wire.TypeMessageEdited).decode(t, &ed)
	a.sendMsg(chat, "after", "s2", true)
	a.change(wire.TypeDeleteMessage, chat, sent.Seq, ``)
	var del wire.MessageDeleted
	a.expect(wire.TypeMessageDeleted).decode(t, &del)

	js := tn.store.(*store.JetStream).JetStream()
	st, err := js.Stream(t.Context(), subjects.StreamMessages)
	if err != nil {
		t.Fatal(err)
	}
	// The members hear of the deletion as soon as it is stored; the
	// erasing follows.
	for _, seq := range []uint64{sent.Seq, ed.EventSeq} {
		checkFor(t, 10*time.Second, func() error {
			if _, err := st.GetMsg(t.Context(), seq); !errors.Is(err, jetstream.ErrMsgNotFound) {
				return fmt.Errorf("stream message %d: %v, want it erased", seq, err)
			}
			return nil
		})
	}
	// Nothing left on the chat's subject mentions the texts.
	for seq := uint64(1); seq <= del.EventSeq; seq++ {
		m, err := st.GetMsg(t.Context(), seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(m.Data, []byte("secret")) {
			t.Fatalf("stream message %d still holds the text: %s", seq, m.Data)
		}
	}
	// The deletion entry and the later message remain: resume still works.
	if _, err := st.GetMsg(t.Context(), del.EventSeq); err != nil {
		t.Fatalf("deletion entry: %v", err)
	}
}

// TestResumeAfterChangesOnAnotherNode: three nodes share one NATS
// server. Bob stays connected on node b while alice, on node a, sends,
// edits, deletes and reacts; carol, away meanwhile, resumes on node c
// and ends with the same state as bob, and a history read on any node
// agrees.
func TestResumeAfterChangesOnAnotherNode(t *testing.T) {
	ns := storetest.RunServer(t)
	shared := func(c *Config) { c.NATSURL = ns.ClientURL() }
	na, nb, nc := startNode(t, shared), startNode(t, shared), startNode(t, shared)
	alice, bob, carol := na.register("alice"), na.register("bob"), na.register("carol")
	a := na.dialUser(alice)
	chat := a.joinRoom("spread")
	b := nb.dialUser(bob)
	b.joinRoom("spread")
	c := nc.dialUser(carol)
	c.joinRoom("spread")
	a.waitFor(wire.TypeJoinedRoom) // bob
	a.waitFor(wire.TypeJoinedRoom) // carol
	b.waitFor(wire.TypeJoinedRoom) // carol
	for _, tn := range []*testNode{na, nb, nc} {
		tn.settle()
	}

	vb, vc := newView(), newView()
	m0 := a.sendMsg(chat, "before", "", true).Seq
	for vb.msgs[m0] == nil {
		vb.apply(t, b.waitFor(wire.TypeNewMessage))
	}
	for vc.msgs[m0] == nil {
		vc.apply(t, c.waitFor(wire.TypeNewMessage))
	}
	c.Conn.Close()

	// While carol is away: messages, edits, a deletion, reactions from
	// two nodes.
	m1 := a.sendMsg(chat, "one", "", true).Seq
	m2 := a.sendMsg(chat, "two", "", true).Seq
	a.change(wire.TypeEditMessage, chat, m0, `,"message":"before, edited"`)
	a.change(wire.TypeEditMessage, chat, m1, `,"message":"one, edited"`)
	b.change(wire.TypeReact, chat, m1, `,"emoji":"🎉"`)
	b.change(wire.TypeReact, chat, m2, `,"emoji":"🎉"`)
	a.change(wire.TypeDeleteMessage, chat, m2, ``)
	b.change(wire.TypeReact, chat, m0, `,"emoji":"👀"`)
	a.change(wire.TypeReact, chat, m0, `,"emoji":"👀"`)
	b.change(wire.TypeReact, chat, m0, `,"emoji":"👀","on":false`)
	b.sendf(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":"re","replyTo":%d}}}`, chat, m1)
	a.sendf(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":"last"}}}`, chat)
	for !strings.Contains(vb.String(), `"last"`) || !strings.Contains(vb.String(), `"re"`) {
		f, ok := b.next(10 * time.Second)
		if !ok {
			t.Fatalf("bob did not get everything; has\n%s", vb)
		}
		vb.apply(t, f)
	}

	// Carol resumes on node a, another node than she was on.
	c2 := na.dialUser(carol)
	c2.sendf(`{"channel":"chat-room","message":{"type":"Resume","contents":{"chat":%q,"afterSeq":%d}}}`, chat, vc.cursor)
	for {
		f, ok := c2.next(10 * time.Second)
		if !ok {
			t.Fatal("no Resumed")
		}
		if f.Message.Type == wire.TypeResumed {
			break
		}
		vc.apply(t, f)
	}
	if vc.String() != vb.String() {
		t.Fatalf("carol after resuming:\n%s\nbob, who stayed:\n%s", vc, vb)
	}
	if got := vb.msgs[m0]; got.Text != "before, edited" || !slices.Equal(got.Reactions["👀"], []string{alice.ID}) {
		t.Fatalf("bob's m0 = %+v", got)
	}
	if !vb.msgs[m2].Deleted || len(vb.msgs[m1].Reactions["🎉"]) != 1 {
		t.Fatalf("bob's view:\n%s", vb)
	}
	for _, tn := range []*testNode{na, nb, nc} {
		if hv := historyView(t, tn.dialUser(bob), chat); hv.String() != vb.String() {
			t.Fatalf("history on node %s:\n%s\nwant\n%s", tn.ID(), hv, vb)
		}
	}
}

// TestEditsOverHTTP runs the HTTP routes: edit, react, delete by the
// chat's owner, their errors, and history with the folded state.
func TestEditsOverHTTP(t *testing.T) {
	tn := startNode(t, nil)
	owner, bob, eve := tn.register("owner"), tn.register("bob"), tn.register("eve")
	var ch apiChat
	if st := tn.api("POST", "/api/chats", owner.Token, map[string]any{"name": "team", "kind": "private", "members": []string{bob.ID}}, &ch); st != http.StatusCreated {
		t.Fatalf("create chat: %d", st)
	}
	b := tn.dialUser(bob)
	p := postMessage(t, tn, bob, ch.ID, "draft", "")
	path := fmt.Sprintf("/api/chats/%s/messages/%d", ch.ID, p.Seq)

	var ed wire.MessageEdited
	if st := tn.api("PATCH", path, bob.Token, map[string]string{"text": "final"}, &ed); st != http.StatusOK || ed.Message != "final" || ed.Seq != p.Seq || ed.EventSeq <= p.Seq {
		t.Fatalf("PATCH: %d %+v", st, ed)
	}
	var re wire.Reaction
	if st := tn.api("POST", path+"/reactions", owner.Token, map[string]string{"emoji": "✅"}, &re); st != http.StatusOK || !re.On || re.User != owner.ID {
		t.Fatalf("POST reactions: %d %+v", st, re)
	}
	var reply apiPosted
	if st := tn.api("POST", "/api/chats/"+ch.ID+"/messages", owner.Token, map[string]any{"text": "ok", "replyTo": p.Seq}, &reply); st != http.StatusCreated {
		t.Fatalf("reply: %d", st)
	}
	// bob's device got every change live.
	for _, typ := range []string{wire.TypeNewMessage, wire.TypeMessageEdited, wire.TypeReaction, wire.TypeNewMessage} {
		b.waitFor(typ)
	}

	wantAPIError(t, tn, "PATCH", path, owner.Token, map[string]string{"text": "not yours"}, http.StatusForbidden, wire.CodeNotSender)
	wantAPIError(t, tn, "PATCH", path, eve.Token, map[string]string{"text": "x"}, http.StatusForbidden, wire.CodeNotMember)
	wantAPIError(t, tn, "PATCH", path, bob.Token, map[string]string{"text": ""}, http.StatusBadRequest, wire.CodeMissingField)
	wantAPIError(t, tn, "PATCH", fmt.Sprintf("/api/chats/%s/messages/%d", ch.ID, 1<<40), bob.Token, map[string]string{"text": "x"}, http.StatusNotFound, wire.CodeMessageNotFound)
	wantAPIError(t, tn, "PATCH", "/api/chats/"+ch.ID+"/messages/abc", bob.Token, map[string]string{"text": "x"}, http.StatusBadRequest, wire.CodeInvalidField)
	wantAPIError(t, tn, "POST", path+"/reactions", bob.Token, map[string]string{"emoji": "<b>"}, http.StatusBadRequest, wire.CodeBadEmoji)
	wantAPIError(t, tn, "DELETE", fmt.Sprintf("/api/chats/%s/messages/%d", ch.ID, reply.Seq), bob.Token, nil, http.StatusForbidden, wire.CodeNotSender)

	var hist struct{ Messages []apiMessageFolded }
	tn.api("GET", "/api/chats/"+ch.ID+"/messages", bob.Token, nil, &hist)
	if len(hist.Messages) != 2 || hist.Messages[0].Message != "final" || hist.Messages[0].EditedAt == nil ||
		!slices.Equal(hist.Messages[0].Reactions["✅"], []string{owner.ID}) || hist.Messages[1].ReplyTo == nil || hist.Messages[1].ReplyTo.Excerpt != "final" {
		t.Fatalf("history = %+v", hist.Messages)
	}

	// The owner may delete bob's message.
	var del wire.MessageDeleted
	if st := tn.api("DELETE", path, owner.Token, nil, &del); st != http.StatusOK || del.Seq != p.Seq || del.User != owner.ID {
		t.Fatalf("DELETE: %d %+v", st, del)
	}
	b.waitFor(wire.TypeMessageDeleted)
	wantAPIError(t, tn, "PATCH", path, bob.Token, map[string]string{"text": "again"}, http.StatusGone, wire.CodeMessageDeleted)
	wantAPIError(t, tn, "DELETE", path, bob.Token, nil, http.StatusGone, wire.CodeMessageDeleted)
	hist.Messages = nil
	tn.api("GET", "/api/chats/"+ch.ID+"/messages", bob.Token, nil, &hist)
	if len(hist.Messages) != 2 || !hist.Messages[0].Deleted || hist.Messages[0].Message != "" || hist.Messages[0].Seq != p.Seq || !hist.Messages[1].ReplyTo.Deleted {
		t.Fatalf("history after delete = %+v", hist.Messages)
	}
}

// apiMessageFolded is a history message with its changes (docs/api.md).
type apiMessageFolded struct {
	apiMessage
	ReplyTo   *wire.ReplyRef
	EditedAt  *time.Time
	Deleted   bool
	Reactions map[string][]string
}
