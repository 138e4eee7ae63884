package node

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/natterchat/natter/node/wire"
)

// The TestSpec steps of read state, replies, edits, deletions and
// reactions: every route and frame of them, in success and error cases,
// so that their specs are checked against real answers.

// testSpecHTTPChanges calls the read-state and message-change routes on
// chat, a private chat of owner (a member), member and outsider (not a
// member), which has no messages yet.
func testSpecHTTPChanges(t *testing.T, s *specs, tn *testNode, owner, member, outsider account, chat string) {
	type m = map[string]any
	call := func(method, specPath, path, token string, body any, want int) []byte {
		t.Helper()
		return s.call(t, tn, specCall{method: method, specPath: specPath, path: path, token: token, body: body, want: want})
	}
	seqOf := func(b []byte) string {
		t.Helper()
		var out struct{ Seq uint64 }
		if err := json.Unmarshal(b, &out); err != nil || out.Seq == 0 {
			t.Fatalf("no seq in %q", b)
		}
		return strconv.FormatUint(out.Seq, 10)
	}
	const post, get, del, patch = http.MethodPost, http.MethodGet, http.MethodDelete, http.MethodPatch
	tooLarge := strings.Repeat(" ", 65<<10)
	base := "/api/chats/" + chat

	// Replies.
	const msgs = "/api/chats/{id}/messages"
	original := seqOf(call(post, msgs, base+"/messages", member.Token, m{"text": "the original"}, 201))
	first, _ := strconv.ParseUint(original, 10, 64)
	reply := seqOf(call(post, msgs, base+"/messages", owner.Token, m{"text": "a reply", "replyTo": first}, 201))
	call(post, msgs, base+"/messages", owner.Token, m{"text": "a reply", "replyTo": 999999999}, 404)

	// Read markers.
	const read, reads = "/api/chats/{id}/read", "/api/chats/{id}/reads"
	call(post, read, base+"/read", owner.Token, m{"seq": first}, 200)
	call(post, read, base+"/read", owner.Token, m{"seq": first}, 200) // not moved
	call(post, read, base+"/read", owner.Token, m{}, 400)
	call(post, read, base+"/read", owner.Token, m{"seq": 999999999}, 400)
	call(post, read, "/api/chats/bad!id/read", owner.Token, m{"seq": 1}, 400)
	call(post, read, base+"/read", outsider.Token, m{"seq": 1}, 403)
	call(post, read, "/api/chats/no-such-chat/read", owner.Token, m{"seq": 1}, 404)
	call(post, read, base+"/read", owner.Token, tooLarge, 413)
	call(post, read, base+"/read", "", m{"seq": 1}, 401)
	call(get, reads, base+"/reads", owner.Token, nil, 200)
	call(get, reads, "/api/chats/bad!id/reads", owner.Token, nil, 400)
	call(get, reads, base+"/reads", outsider.Token, nil, 403)
	call(get, reads, "/api/chats/no-such-chat/reads", owner.Token, nil, 404)
	call(get, reads, base+"/reads", "", nil, 401)

	// Edits.
	const msg = msgs + "/{seq}"
	call(patch, msg, base+"/messages/"+reply, owner.Token, m{"text": "a reply, edited", "clientMsgId": "spec-edit-1"}, 200)
	call(patch, msg, base+"/messages/"+reply, member.Token, m{"text": "not mine"}, 403)
	call(patch, msg, base+"/messages/"+reply, outsider.Token, m{"text": "not a member"}, 403)
	call(patch, msg, base+"/messages/999999999", owner.Token, m{"text": "x"}, 404)
	call(patch, msg, "/api/chats/no-such-chat/messages/1", owner.Token, m{"text": "x"}, 404)
	call(patch, msg, base+"/messages/x", owner.Token, m{"text": "x"}, 400)
	call(patch, msg, base+"/messages/"+reply, owner.Token, m{}, 400)
	call(patch, msg, base+"/messages/"+reply, owner.Token, tooLarge, 413)
	call(patch, msg, base+"/messages/"+reply, "", m{"text": "x"}, 401)

	// Reactions, up to the most distinct ones a message may have.
	const reactions = msg + "/reactions"
	call(post, reactions, base+"/messages/"+reply+"/reactions", member.Token, m{"emoji": "👍"}, 200)
	call(post, reactions, base+"/messages/"+reply+"/reactions", owner.Token, m{"emoji": "🎉", "clientMsgId": "spec-react-1"}, 200)
	call(post, reactions, base+"/messages/"+reply+"/reactions", owner.Token, m{"emoji": "🎉", "on": false}, 200)
	call(post, reactions, base+"/messages/"+reply+"/reactions", owner.Token, m{"emoji": "not an emoji"}, 400)
	call(post, reactions, base+"/messages/"+reply+"/reactions", outsider.Token, m{"emoji": "👍"}, 403)
	call(post, reactions, base+"/messages/999999999/reactions", owner.Token, m{"emoji": "👍"}, 404)
	call(post, reactions, base+"/messages/"+reply+"/reactions", owner.Token, tooLarge, 413)
	call(post, reactions, base+"/messages/"+reply+"/reactions", "", m{"emoji": "👍"}, 401)
	crowded := seqOf(call(post, msgs, base+"/messages", owner.Token, m{"text": "react to me"}, 201))
	for i := range 32 { // the limit of docs/protocol.md
		if st := tn.api(post, base+"/messages/"+crowded+"/reactions", owner.Token, m{"emoji": string(rune(0x1F600 + i))}, nil); st != 200 {
			t.Fatalf("reaction %d: %d", i, st)
		}
	}
	call(post, reactions, base+"/messages/"+crowded+"/reactions", owner.Token, m{"emoji": string(rune(0x1F600 + 32))}, 409)

	// Deletions; then what a deleted message refuses.
	call(del, msg, base+"/messages/"+reply, member.Token, nil, 403)
	call(del, msg, base+"/messages/"+original, owner.Token, nil, 200) // the owner deletes another's
	call(del, msg, base+"/messages/"+original, member.Token, nil, 410)
	call(del, msg, base+"/messages/999999999", owner.Token, nil, 404)
	call(del, msg, base+"/messages/0", owner.Token, nil, 400)
	call(del, msg, base+"/messages/"+reply, "", nil, 401)
	call(patch, msg, base+"/messages/"+original, member.Token, m{"text": "too late"}, 410)
	call(post, reactions, base+"/messages/"+original+"/reactions", owner.Token, m{"emoji": "👍"}, 410)
	call(post, msgs, base+"/messages", owner.Token, m{"text": "too late", "replyTo": first}, 410)

	// The history of it all: a tombstone, a reply to it, an edit, reactions.
	call(get, msgs, base+"/messages?after=0", member.Token, nil, 200)
	call(get, "/api/chats", "/api/chats", member.Token, nil, 200)
}

// testSpecFramesChanges sends the frames of typing, read state, replies,
// edits, deletions and reactions on room, where a (its owner) and b are
// members and connected as ca and cb.
func testSpecFramesChanges(t *testing.T, ca, cb *specClient, room string) {
	post := func(text string) uint64 {
		t.Helper()
		ca.send(t, `{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":%q,"echo":false}}}`, room, text)
		var acc wire.MessageAccepted
		ca.expect(t, wire.TypeMessageAccepted).decode(t, &acc)
		return acc.Seq
	}
	first, second := post("to be deleted"), post("to be edited")

	// Typing: notices for the others.
	cb.send(t, `{"channel":"chat-room","message":{"type":"Typing","contents":{"chat":%q}}}`, room)
	ca.expect(t, wire.TypeTyping)
	cb.send(t, `{"channel":"chat-room","message":{"type":"StopTyping","contents":{"chat":%q}}}`, room)
	ca.expect(t, wire.TypeStopTyping)

	// Read state: a marker that moves, one past the end.
	ca.send(t, `{"channel":"chat-room","message":{"type":"MarkRead","contents":{"chat":%q,"seq":%d}}}`, room, second)
	ca.expect(t, wire.TypeReadMarker)
	ca.send(t, `{"channel":"chat-room","message":{"type":"MarkRead","contents":{"chat":%q,"seq":999999999}}}`, room)
	ca.expectError(t, wire.ChannelChatRoom, wire.CodeSeqOutOfRange)

	// A reply, delivered with its quote.
	cb.send(t, `{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":"a reply","replyTo":%d,"clientMsgId":"spec-ws-reply"}}}`, room, first)
	var acc wire.MessageAccepted
	cb.expect(t, wire.TypeMessageAccepted).decode(t, &acc)
	for {
		var nm wire.NewMessage
		ca.expect(t, wire.TypeNewMessage).decode(t, &nm)
		if nm.Seq == acc.Seq {
			if nm.ReplyTo == nil || nm.ReplyTo.Seq != first {
				t.Errorf("reply %+v does not answer %d", nm, first)
			}
			break
		}
	}

	// Edits, reactions and deletions reach every member's devices.
	ca.send(t, `{"channel":"chat-room","message":{"type":"EditMessage","contents":{"chat":%q,"seq":%d,"message":"edited","clientMsgId":"spec-ws-edit"}}}`, room, second)
	ca.expect(t, wire.TypeMessageEdited)
	cb.expect(t, wire.TypeMessageEdited)
	cb.send(t, `{"channel":"chat-room","message":{"type":"EditMessage","contents":{"chat":%q,"seq":%d,"message":"not mine"}}}`, room, second)
	cb.expectError(t, wire.ChannelChatRoom, wire.CodeNotSender)
	cb.send(t, `{"channel":"chat-room","message":{"type":"React","contents":{"chat":%q,"seq":%d,"emoji":"👍"}}}`, room, second)
	cb.expect(t, wire.TypeReaction)
	ca.expect(t, wire.TypeReaction)
	cb.send(t, `{"channel":"chat-room","message":{"type":"React","contents":{"chat":%q,"seq":%d,"emoji":"ab","on":true}}}`, room, second)
	cb.expectError(t, wire.ChannelChatRoom, wire.CodeBadEmoji)
	ca.send(t, `{"channel":"chat-room","message":{"type":"DeleteMessage","contents":{"chat":%q,"seq":%d,"clientMsgId":"spec-ws-delete"}}}`, room, first)
	ca.expect(t, wire.TypeMessageDeleted)
	cb.expect(t, wire.TypeMessageDeleted)
	cb.send(t, `{"channel":"chat-room","message":{"type":"React","contents":{"chat":%q,"seq":999999999,"emoji":"👍"}}}`, room)
	cb.expectError(t, wire.ChannelChatRoom, wire.CodeMessageNotFound)

	// History folds it all in: the tombstone shows once the deletion is
	// folded into the message's state, which happens after its frame
	// went out. Then the deleted message refuses changes.
	checkFor(t, 15*time.Second, func() error {
		cb.send(t, `{"channel":"chat-room","message":{"type":"History","contents":{"chat":%q,"after":0}}}`, room)
		var page wire.HistoryPage
		cb.expect(t, wire.TypeHistoryPage).decode(t, &page)
		for _, m := range page.Messages {
			if m.Seq == first && m.Deleted {
				return nil
			}
		}
		return fmt.Errorf("no tombstone at %d in %+v", first, page.Messages)
	})
	cb.send(t, `{"channel":"chat-room","message":{"type":"React","contents":{"chat":%q,"seq":%d,"emoji":"👍"}}}`, room, first)
	cb.expectError(t, wire.ChannelChatRoom, wire.CodeMessageDeleted)

	// Resume replays the changes as their frames.
	cb.send(t, `{"channel":"chat-room","message":{"type":"Resume","contents":{"chat":%q,"afterSeq":0}}}`, room)
	cb.expect(t, wire.TypeResumed)
}
