package node

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/natterchat/natter/node/wire"
)

// testSpecHTTP calls every route, in its success and error cases. It
// returns three users it registered.
func testSpecHTTP(t *testing.T, s *specs, tn *testNode) []account {
	type m = map[string]any
	call := func(method, specPath, path, token string, body any, want int) []byte {
		t.Helper()
		return s.call(t, tn, specCall{method: method, specPath: specPath, path: path, token: token, body: body, want: want})
	}
	session := func(b []byte) account {
		t.Helper()
		var out struct{ User, Name, Token string }
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		return account{ID: out.User, Name: out.Name, Token: out.Token}
	}
	const post, get, del = http.MethodPost, http.MethodGet, http.MethodDelete

	// Accounts.
	alice := session(call(post, "/api/users", "/api/users", "", m{"name": "spec-alice", "password": "password-alice"}, 201))
	bob := session(call(post, "/api/users", "/api/users", "", m{"name": "spec-bob", "password": "password-bob"}, 201))
	carol := session(call(post, "/api/users", "/api/users", "", m{"name": "spec-carol", "password": "password-carol"}, 201))
	call(post, "/api/users", "/api/users", "", m{"name": "spec-alice", "password": "password-alice"}, 409)
	call(post, "/api/users", "/api/users", "", "{not json", 400)
	call(post, "/api/users", "/api/users", "", m{"name": "spec-x"}, 400)
	call(post, "/api/users", "/api/users", "", m{"name": "spec-x", "password": "short"}, 400)
	call(post, "/api/users", "/api/users", "", strings.Repeat(" ", 65<<10), 413)
	call(post, "/api/sessions", "/api/sessions", "", m{"name": "spec-alice", "password": "password-alice"}, 200)
	call(post, "/api/sessions", "/api/sessions", "", m{"name": "spec-alice", "password": "wrong-password"}, 401)
	call(post, "/api/sessions", "/api/sessions", "", m{}, 400)
	call(post, "/api/sessions", "/api/sessions", "", strings.Repeat(" ", 65<<10), 413)
	call(post, "/api/sessions/refresh", "/api/sessions/refresh", alice.Token, nil, 200)
	call(post, "/api/sessions/refresh", "/api/sessions/refresh", "", nil, 401)
	call(get, "/api/me", "/api/me", alice.Token, nil, 200)
	call(get, "/api/me", "/api/me", "not-a-token", nil, 401)
	dave := session(call(post, "/api/users", "/api/users", "", m{"name": "spec-dave", "password": "password-dave"}, 201))
	call(post, "/api/me/password", "/api/me/password", dave.Token, m{"password": "wrong-password", "newPassword": "new-password"}, 403)
	call(post, "/api/me/password", "/api/me/password", dave.Token, m{"password": "password-dave"}, 400)
	call(post, "/api/me/password", "/api/me/password", "", m{}, 401)
	call(post, "/api/me/password", "/api/me/password", dave.Token, strings.Repeat(" ", 65<<10), 413)
	dave = session(call(post, "/api/me/password", "/api/me/password", dave.Token, m{"password": "password-dave", "newPassword": "new-password"}, 200))
	call(del, "/api/sessions", "/api/sessions", dave.Token, nil, 204)
	call(del, "/api/sessions", "/api/sessions", dave.Token, nil, 401)

	// Chats.
	chatID := func(b []byte) string {
		t.Helper()
		var c struct{ ID string }
		if err := json.Unmarshal(b, &c); err != nil || c.ID == "" {
			t.Fatalf("no chat id in %q", b)
		}
		return c.ID
	}
	lobby := chatID(call(post, "/api/chats", "/api/chats", alice.Token, m{"name": "spec-lobby", "kind": "public"}, 201))
	secret := chatID(call(post, "/api/chats", "/api/chats", alice.Token, m{"name": "spec-secret", "kind": "private", "members": []string{bob.ID}}, 201))
	direct := chatID(call(post, "/api/chats", "/api/chats", alice.Token, m{"kind": "direct", "members": []string{bob.ID}}, 201))
	call(post, "/api/chats", "/api/chats", alice.Token, m{"kind": "direct", "members": []string{bob.ID}}, 200)
	call(post, "/api/chats", "/api/chats", alice.Token, m{"name": "spec-lobby", "kind": "public"}, 409)
	call(post, "/api/chats", "/api/chats", alice.Token, m{"name": "no kind"}, 400)
	call(post, "/api/chats", "/api/chats", alice.Token, m{"name": "x", "kind": "private", "members": []string{"no/such id"}}, 400)
	call(post, "/api/chats", "/api/chats", alice.Token, m{"name": "x", "kind": "private", "members": []string{"no-such-user"}}, 404)
	call(post, "/api/chats", "/api/chats", "", m{}, 401)
	call(post, "/api/chats", "/api/chats", alice.Token, strings.Repeat(" ", 65<<10), 413)
	call(get, "/api/chats", "/api/chats", alice.Token, nil, 200)
	call(get, "/api/chats", "/api/chats", "", nil, 401)

	const chat = "/api/chats/{id}"
	call(get, chat, "/api/chats/"+lobby, alice.Token, nil, 200)
	call(get, chat, "/api/chats/bad!id", alice.Token, nil, 400)
	call(get, chat, "/api/chats/no-such-chat", alice.Token, nil, 404)
	call(get, chat, "/api/chats/"+secret, carol.Token, nil, 403)
	call(get, chat, "/api/chats/"+lobby, "", nil, 401)

	const join, leave = chat + "/join", chat + "/leave"
	call(post, join, "/api/chats/"+lobby+"/join", carol.Token, nil, 200)
	call(post, join, "/api/chats/"+secret+"/join", carol.Token, nil, 403)
	call(post, join, "/api/chats/no-such-chat/join", carol.Token, nil, 404)
	call(post, join, "/api/chats/bad!id/join", carol.Token, nil, 400)
	call(post, join, "/api/chats/"+lobby+"/join", "", nil, 401)
	call(post, leave, "/api/chats/"+lobby+"/leave", carol.Token, nil, 200)
	call(post, leave, "/api/chats/"+secret+"/leave", carol.Token, nil, 403)
	call(post, leave, "/api/chats/no-such-chat/leave", carol.Token, nil, 404)
	call(post, leave, "/api/chats/bad!id/leave", carol.Token, nil, 400)
	call(post, leave, "/api/chats/"+lobby+"/leave", "", nil, 401)

	const members, member = chat + "/members", chat + "/members/{user}"
	call(post, members, "/api/chats/"+secret+"/members", alice.Token, m{"user": carol.ID}, 200)
	call(post, members, "/api/chats/"+direct+"/members", alice.Token, m{"user": carol.ID}, 403)
	call(post, members, "/api/chats/"+secret+"/members", alice.Token, m{"user": "no-such-user"}, 404)
	call(post, members, "/api/chats/"+secret+"/members", alice.Token, m{}, 400)
	call(post, members, "/api/chats/"+secret+"/members", alice.Token, strings.Repeat(" ", 65<<10), 413)
	call(post, members, "/api/chats/"+secret+"/members", "", m{}, 401)
	call(del, member, "/api/chats/"+secret+"/members/"+carol.ID, bob.Token, nil, 403)
	call(del, member, "/api/chats/"+secret+"/members/"+carol.ID, alice.Token, nil, 200)
	call(del, member, "/api/chats/"+secret+"/members/bad!id", alice.Token, nil, 400)
	call(del, member, "/api/chats/no-such-chat/members/"+carol.ID, alice.Token, nil, 404)
	call(del, member, "/api/chats/"+secret+"/members/"+carol.ID, "", nil, 401)

	// Presence, with a device of alice online.
	c := tn.dialUser(alice)
	defer c.Conn.Close()
	const presence = chat + "/presence"
	checkFor(t, 10*time.Second, func() error {
		var out struct{ Online []any }
		if st := tn.api(get, "/api/chats/"+lobby+"/presence", alice.Token, nil, &out); st != 200 || len(out.Online) == 0 {
			return fmt.Errorf("presence: %d %+v", st, out)
		}
		return nil
	})
	call(get, presence, "/api/chats/"+lobby+"/presence", alice.Token, nil, 200)
	call(get, presence, "/api/chats/"+secret+"/presence", carol.Token, nil, 403)
	call(get, presence, "/api/chats/no-such-chat/presence", alice.Token, nil, 404)
	call(get, presence, "/api/chats/bad!id/presence", alice.Token, nil, 400)
	call(get, presence, "/api/chats/"+lobby+"/presence", "", nil, 401)

	// Messages.
	const msgs = chat + "/messages"
	call(post, msgs, "/api/chats/"+lobby+"/messages", alice.Token, m{"text": "hello"}, 201)
	call(post, msgs, "/api/chats/"+lobby+"/messages", alice.Token, m{"text": "once", "clientMsgId": "spec-1"}, 201)
	call(post, msgs, "/api/chats/"+lobby+"/messages", alice.Token, m{"text": "once", "clientMsgId": "spec-1"}, 201)
	call(post, msgs, "/api/chats/"+lobby+"/messages", alice.Token, m{"text": strings.Repeat("x", 5000)}, 400)
	call(post, msgs, "/api/chats/"+lobby+"/messages", alice.Token, m{}, 400)
	call(post, msgs, "/api/chats/"+lobby+"/messages", alice.Token, strings.Repeat(" ", 65<<10), 413)
	call(post, msgs, "/api/chats/"+lobby+"/messages", carol.Token, m{"text": "not a member"}, 403)
	call(post, msgs, "/api/chats/no-such-chat/messages", alice.Token, m{"text": "x"}, 404)
	call(post, msgs, "/api/chats/bad!id/messages", alice.Token, m{"text": "x"}, 400)
	call(post, msgs, "/api/chats/"+lobby+"/messages", "", m{"text": "x"}, 401)
	c.sendf(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":"from a device"}}}`, lobby)
	c.waitFor(wire.TypeMessageAccepted)
	for _, q := range []string{"", "?limit=2", "?after=0", "?before=3&limit=1"} {
		call(get, msgs, "/api/chats/"+lobby+"/messages"+q, alice.Token, nil, 200)
	}
	call(get, msgs, "/api/chats/"+lobby+"/messages?limit=0", alice.Token, nil, 400)
	call(get, msgs, "/api/chats/"+lobby+"/messages?limit=1001", alice.Token, nil, 400)
	call(get, msgs, "/api/chats/"+lobby+"/messages?before=3&after=1", alice.Token, nil, 400)
	call(get, msgs, "/api/chats/"+lobby+"/messages?before=x", alice.Token, nil, 400)
	call(get, msgs, "/api/chats/"+lobby+"/messages", carol.Token, nil, 403)
	call(get, msgs, "/api/chats/no-such-chat/messages", alice.Token, nil, 404)
	call(get, msgs, "/api/chats/"+lobby+"/messages", "", nil, 401)

	testSpecHTTPChanges(t, s, tn, alice, bob, carol, secret) // spec_changes_test.go

	// The server API and the node.
	call(post, "/api/broadcast", "/api/broadcast", testAPIKey, m{"channel": "ping", "message": m{"type": "Ping", "contents": 1}}, 202)
	call(post, "/api/broadcast", "/api/broadcast", testAPIKey, m{"message": m{"type": "Ping"}}, 400)
	call(post, "/api/broadcast", "/api/broadcast", testAPIKey, strings.Repeat(" ", 65<<10), 413)
	call(post, "/api/broadcast", "/api/broadcast", alice.Token, m{}, 401)
	call(get, "/api/stats", "/api/stats", "", nil, 200)
	call(get, "/healthz", "/healthz", "", nil, 200)
	tn.waitReady(t) // a node just started says 503 until its presence view heard every node
	call(get, "/readyz", "/readyz", "", nil, 200)
	call(get, "/metrics", "/metrics", "", nil, 200)
	call(get, "/debug/pprof/", "/debug/pprof/", "", nil, 200)
	call(get, "/debug/pprof/{profile}", "/debug/pprof/heap", "", nil, 200)
	call(get, "/debug/pprof/{profile}", "/debug/pprof/goroutine?debug=1", "", nil, 200)
	call(get, "/debug/pprof/{profile}", "/debug/pprof/no-such-profile", "", nil, 404)
	call(get, "/debug/pprof/cmdline", "/debug/pprof/cmdline", "", nil, 200)
	call(get, "/debug/pprof/symbol", "/debug/pprof/symbol", "", nil, 200)
	call(get, "/debug/pprof/profile", "/debug/pprof/profile?seconds=1", "", nil, 200)
	call(get, "/debug/pprof/trace", "/debug/pprof/trace?seconds=0.05", "", nil, 200)
	call(get, "/", "/", "", nil, 200)
	resp, err := http.Get(tn.url("/"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s.call(t, tn, specCall{method: get, specPath: "/", path: "/", header: http.Header{"If-None-Match": {resp.Header.Get("ETag")}}, want: 304})
	call(get, "/", "/no-such-file", "", nil, 404)

	// Answers the paths describe in prose: a method a path does not
	// serve, and a path under /api/ without a route.
	for _, r := range []struct {
		method, path string
		want         int
	}{{http.MethodPut, "/api/me", 405}, {get, "/api/no-such-route", 404}} {
		var body json.RawMessage
		st := tn.api(r.method, r.path, alice.Token, nil, &body)
		if st != r.want {
			t.Errorf("%s %s: %d, want %d", r.method, r.path, st, r.want)
		}
		s.checkSchema(t, "Error", body)
	}

	testSpecUpgrade(t, s, tn, alice)
	return []account{alice, bob, carol}
}

// testSpecUpgrade checks the WebSocket upgrade's answers: 101, and the
// refusals both as a connection's first request (plain text) and as a
// later one (the API's error body).
func testSpecUpgrade(t *testing.T, s *specs, tn *testNode, a account) {
	upgrade := func(path string, header map[string]string, first bool) {
		t.Helper()
		conn, err := net.Dial("tcp", tn.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
		br := bufio.NewReader(conn)
		if !first {
			fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", tn.addr)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", path, tn.addr)
		for k, v := range header {
			req += k + ": " + v + "\r\n"
		}
		if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		var body []byte
		if resp.StatusCode != http.StatusSwitchingProtocols {
			body, _ = io.ReadAll(resp.Body)
		}
		resp.Body.Close()
		specPath, _, _ := strings.Cut(path, "?")
		s.checkResponse(t, http.MethodGet, specPath, resp.StatusCode, resp.Header, body)
	}
	for _, first := range []bool{true, false} {
		for _, p := range []string{"/ws", "/websockets"} {
			upgrade(p+"?token="+a.Token, nil, first)
			upgrade(p, map[string]string{"Authorization": "Bearer " + a.Token}, first)
			upgrade(p, map[string]string{"Sec-WebSocket-Protocol": "natter, token." + a.Token}, first)
			upgrade(p+"?token=not-a-token", nil, first)
			upgrade(p, nil, first)
			upgrade(p+"?token="+a.Token+"&resume=bad", nil, first)
			upgrade(p+"?token="+a.Token, map[string]string{"Origin": "http://elsewhere.example"}, first)
		}
	}
}
