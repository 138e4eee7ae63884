package node

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/natterchat/natter/node/httpapi"
	"github.com/natterchat/natter/node/wire"
)

// These tests drive the HTTP API of docs/api.md against a real node over
// real HTTP, and check its effects on real WebSocket clients.

// TestAPIAccounts covers registration, login and /api/me.
func TestAPIAccounts(t *testing.T) {
	tn := startNode(t, nil)

	t.Run("register", func(t *testing.T) {
		var out map[string]string
		st := tn.api("POST", "/api/users", "", map[string]string{"name": "Alice", "password": "correct horse"}, &out)
		if st != http.StatusCreated || out["user"] == "" || out["name"] != "Alice" || out["token"] == "" {
			t.Fatalf("register: %d %v", st, out)
		}
		var me struct {
			User, Name string
			Roles      []string
			CreatedAt  time.Time
		}
		if st := tn.api("GET", "/api/me", out["token"], nil, &me); st != http.StatusOK || me.User != out["user"] || me.Name != "Alice" || me.Roles == nil || me.CreatedAt.IsZero() {
			t.Fatalf("/api/me: %d %+v", st, me)
		}
	})

	t.Run("duplicate name ignoring case", func(t *testing.T) {
		tn.register("Bob")
		// (Each attempt costs a bcrypt hash, so one variant stands for all.)
		e := wantAPIError(t, tn, "POST", "/api/users", "", map[string]string{"name": "bOB", "password": "password-x"}, http.StatusConflict, httpapi.CodeNameTaken)
		if !strings.Contains(e.Message, "bOB") {
			t.Errorf("message %q does not name the taken name", e.Message)
		}
	})

	t.Run("bad bodies", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			body   string
			status int
			code   string
		}{
			{"invalid JSON", `{"name":`, http.StatusBadRequest, httpapi.CodeInvalidJSON},
			{"not an object", `[1]`, http.StatusBadRequest, httpapi.CodeInvalidJSON},
			{"empty body", ``, http.StatusBadRequest, httpapi.CodeInvalidJSON},
			{"missing name", `{"password":"password-1"}`, http.StatusBadRequest, wire.CodeMissingField},
			{"blank name", `{"name":"  ","password":"password-1"}`, http.StatusBadRequest, wire.CodeMissingField},
			{"missing password", `{"name":"carol"}`, http.StatusBadRequest, wire.CodeMissingField},
			{"short password", `{"name":"carol","password":"short"}`, http.StatusBadRequest, wire.CodeInvalidField},
			{"long password", `{"name":"carol","password":"` + strings.Repeat("p", 257) + `"}`, http.StatusBadRequest, wire.CodeInvalidField},
			{"long name", `{"name":"` + strings.Repeat("n", 65) + `","password":"password-1"}`, http.StatusBadRequest, wire.CodeInvalidField},
			{"control character in name", `{"name":"ca\nrol","password":"password-1"}`, http.StatusBadRequest, wire.CodeInvalidField},
			{"name of the wrong type", `{"name":5,"password":"password-1"}`, http.StatusBadRequest, wire.CodeInvalidField},
			{"body over 64 KiB", `{"name":"carol","password":"password-1","pad":"` + strings.Repeat("x", 64<<10) + `"}`, http.StatusRequestEntityTooLarge, httpapi.CodeTooLarge},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantAPIError(t, tn.scopedTo(t), "POST", "/api/users", "", tc.body, tc.status, tc.code)
			})
		}
	})

	d := tn.register("dave")
	t.Run("login", func(t *testing.T) {
		var out map[string]string
		st := tn.api("POST", "/api/sessions", "", map[string]string{"name": "dave", "password": "password-dave"}, &out)
		if st != http.StatusOK || out["user"] != d.ID || out["name"] != "dave" || out["token"] == "" {
			t.Fatalf("login: %d %v", st, out)
		}
		// The wsUrl points at this node and carries a working token.
		prefix := "ws://" + tn.addr
		path, ok := strings.CutPrefix(out["wsUrl"], prefix)
		if !ok || !strings.HasPrefix(path, "/ws?token=") {
			t.Fatalf("wsUrl %q, want %s/ws?token=...", out["wsUrl"], prefix)
		}
		c, err := tn.scopedTo(t).tryDial(path, nil)
		if err != nil {
			t.Fatalf("dial wsUrl: %v", err)
		}
		var w wire.Welcome
		c.expect(wire.TypeWelcome).decode(t, &w)
		if w.User != d.ID || w.Name != "dave" {
			t.Fatalf("Welcome %+v, want dave", w)
		}
	})

	t.Run("bad login", func(t *testing.T) {
		wrong := wantAPIError(t, tn, "POST", "/api/sessions", "", map[string]string{"name": d.Name, "password": "not-his-password"}, http.StatusUnauthorized, httpapi.CodeUnauthorized)
		unknown := wantAPIError(t, tn, "POST", "/api/sessions", "", map[string]string{"name": "nobody", "password": "whatever-1"}, http.StatusUnauthorized, httpapi.CodeUnauthorized)
		// The answers must not tell an unknown name from a wrong password.
		if wrong.Message != unknown.Message {
			t.Errorf("wrong password says %q, unknown user says %q", wrong.Message, unknown.Message)
		}
		wantAPIError(t, tn, "POST", "/api/sessions", "", `{"name":"dave"}`, http.StatusBadRequest, wire.CodeMissingField)
		wantAPIError(t, tn, "POST", "/api/sessions", "", `{`, http.StatusBadRequest, httpapi.CodeInvalidJSON)
	})

	t.Run("me without a good token", func(t *testing.T) {
		// A token well signed and unexpired is not enough: its user must
		// exist (a forged or leftover token of a user never registered).
		ghost := signedToken(t, "u-never-registered", time.Now().Add(time.Hour))
		for _, tok := range []string{"", "garbage", signedToken(t, "someone", time.Now().Add(-time.Minute)), ghost} {
			wantAPIError(t, tn, "GET", "/api/me", tok, nil, http.StatusUnauthorized, httpapi.CodeUnauthorized)
		}
	})
}

// TestAPIChats covers creating, listing, reading, joining and leaving
// chats.
func TestAPIChats(t *testing.T) {
	tn := startNode(t, nil)
	a := tn.register("chats-a")
	b := tn.register("chats-b")
	c := tn.register("chats-c")

	var pub, priv apiChat
	t.Run("create public", func(t *testing.T) {
		// a's device, connected before, hears of the new membership.
		ac := tn.scopedTo(t).dialUser(a)
		if st := tn.api("POST", "/api/chats", a.Token, map[string]any{"name": "general", "kind": "public"}, &pub); st != http.StatusCreated {
			t.Fatalf("status %d", st)
		}
		var ev wire.MemberEvent
		if ac.expect(wire.TypeJoinedRoom).decode(t, &ev); ev.Chat != pub.ID || ev.Room != "general" || ev.User != a.ID {
			t.Fatalf("JoinedRoom %+v", ev)
		}
		if pub.ID == "" || pub.Name != "general" || pub.Kind != "public" || pub.CreatedBy != a.ID || pub.CreatedAt.IsZero() {
			t.Fatalf("chat %+v", pub)
		}
		wantAPIError(t, tn, "POST", "/api/chats", b.Token, map[string]any{"name": "general", "kind": "public"}, http.StatusConflict, httpapi.CodeNameTaken)
		// A public room made through the API is the room of that name on
		// the WebSocket side too.
		ac.send(`{"channel":"chat-room","message":{"type":"GetMembers","contents":{"room":"general"}}}`)
		var ml wire.MemberList
		ac.expect(wire.TypeMemberList).decode(t, &ml)
		if ml.Chat != pub.ID || len(ml.Members) != 1 || ml.Members[0].User != a.ID || ml.Members[0].Role != "owner" {
			t.Fatalf("MemberList %+v", ml)
		}
	})

	t.Run("create private", func(t *testing.T) {
		if st := tn.api("POST", "/api/chats", a.Token, map[string]any{"name": "inner circle", "kind": "private", "members": []string{b.ID}}, &priv); st != http.StatusCreated {
			t.Fatalf("status %d", st)
		}
		if priv.Kind != "private" || priv.Name != "inner circle" || priv.CreatedBy != a.ID {
			t.Fatalf("chat %+v", priv)
		}
		var got apiChatDetail
		if st := tn.api("GET", "/api/chats/"+priv.ID, b.Token, nil, &got); st != http.StatusOK {
			t.Fatalf("get as member: %d", st)
		}
		roles := map[string]string{}
		for _, m := range got.Members {
			roles[m.User] = m.Role
		}
		if got.ID != priv.ID || got.Kind != "private" || len(roles) != 2 || roles[a.ID] != "owner" || roles[b.ID] != "member" {
			t.Fatalf("chat %+v", got)
		}
		wantAPIError(t, tn, "GET", "/api/chats/"+priv.ID, c.Token, nil, http.StatusForbidden, wire.CodeNotMember)
	})

	t.Run("create direct", func(t *testing.T) {
		var d1, d2, d3 apiChat
		if st := tn.api("POST", "/api/chats", a.Token, map[string]any{"kind": "direct", "members": []string{c.ID}}, &d1); st != http.StatusCreated {
			t.Fatalf("status %d", st)
		}
		if d1.Kind != "direct" || d1.ID == "" {
			t.Fatalf("chat %+v", d1)
		}
		// A pair has one direct chat, whoever asks.
		if st := tn.api("POST", "/api/chats", a.Token, map[string]any{"kind": "direct", "members": []string{c.ID}}, &d2); (st != http.StatusOK && st != http.StatusCreated) || d2.ID != d1.ID {
			t.Fatalf("again: %d %+v, want chat %s", st, d2, d1.ID)
		}
		if st := tn.api("POST", "/api/chats", c.Token, map[string]any{"kind": "direct", "members": []string{a.ID}}, &d3); (st != http.StatusOK && st != http.StatusCreated) || d3.ID != d1.ID {
			t.Fatalf("from the other side: %d %+v, want chat %s", st, d3, d1.ID)
		}
		wantAPIError(t, tn, "GET", "/api/chats/"+d1.ID, b.Token, nil, http.StatusForbidden, wire.CodeNotMember)
		wantAPIError(t, tn, "POST", "/api/chats", a.Token, map[string]any{"kind": "direct", "members": []string{b.ID, c.ID}}, http.StatusBadRequest, wire.CodeInvalidField)
		wantAPIError(t, tn, "POST", "/api/chats", a.Token, map[string]any{"kind": "direct", "members": []string{a.ID}}, http.StatusBadRequest, wire.CodeInvalidField)
		// A direct chat takes no third member.
		wantAPIError(t, tn, "POST", "/api/chats/"+d1.ID+"/members", a.Token, map[string]string{"user": b.ID}, http.StatusForbidden, wire.CodeForbidden)
	})

	t.Run("create errors", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			body   any
			status int
			code   string
		}{
			{"no kind", map[string]any{"name": "x"}, http.StatusBadRequest, wire.CodeMissingField},
			{"bad kind", map[string]any{"name": "x", "kind": "secret"}, http.StatusBadRequest, wire.CodeInvalidField},
			{"no name", map[string]any{"kind": "public"}, http.StatusBadRequest, wire.CodeMissingField},
			{"bad member id", map[string]any{"name": "x", "kind": "private", "members": []string{"a.b"}}, http.StatusBadRequest, httpapi.CodeInvalidID},
			{"unknown member", map[string]any{"name": "x", "kind": "private", "members": []string{"no-such-user"}}, http.StatusNotFound, httpapi.CodeNotFound},
			{"invalid JSON", `{"kind":`, http.StatusBadRequest, httpapi.CodeInvalidJSON},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantAPIError(t, tn.scopedTo(t), "POST", "/api/chats", a.Token, tc.body, tc.status, tc.code)
			})
		}
		wantAPIError(t, tn, "POST", "/api/chats", "", map[string]any{"name": "x", "kind": "public"}, http.StatusUnauthorized, httpapi.CodeUnauthorized)
	})

	t.Run("list mine", func(t *testing.T) {
		var out struct{ Chats []apiChatWithRole }
		if st := tn.api("GET", "/api/chats", b.Token, nil, &out); st != http.StatusOK {
			t.Fatalf("status %d", st)
		}
		// b is only in the private chat (a's direct chat is with c).
		if len(out.Chats) != 1 || out.Chats[0].ID != priv.ID || out.Chats[0].Role != "member" || out.Chats[0].JoinedAt.IsZero() || out.Chats[0].Kind != "private" {
			t.Fatalf("b's chats %+v, want the private chat", out.Chats)
		}
		if st := tn.api("GET", "/api/chats", a.Token, nil, &out); st != http.StatusOK || len(out.Chats) != 3 {
			t.Fatalf("a's chats: %d %+v, want 3", st, out.Chats)
		}
		for _, ch := range out.Chats {
			if ch.Role != "owner" {
				t.Errorf("a's role in %s = %q, want owner", ch.ID, ch.Role)
			}
		}
	})

	t.Run("join and leave public", func(t *testing.T) {
		var out struct {
			Chat   string
			Joined bool
			Left   bool
		}
		// A public chat is readable by anyone, before joining.
		var got apiChatDetail
		if st := tn.api("GET", "/api/chats/"+pub.ID, c.Token, nil, &got); st != http.StatusOK || got.ID != pub.ID {
			t.Fatalf("get public as non-member: %d %+v", st, got)
		}
		if st := tn.api("POST", "/api/chats/"+pub.ID+"/join", c.Token, nil, &out); st != http.StatusOK || out.Chat != pub.ID || !out.Joined {
			t.Fatalf("join: %d %+v", st, out)
		}
		out.Joined = true
		if st := tn.api("POST", "/api/chats/"+pub.ID+"/join", c.Token, nil, &out); st != http.StatusOK || out.Joined {
			t.Fatalf("join again: %d %+v, want joined false", st, out)
		}
		if !isMemberOf(t, tn, c, pub.ID) {
			t.Fatal("c is not listed as a member after joining")
		}
		if st := tn.api("POST", "/api/chats/"+pub.ID+"/leave", c.Token, nil, &out); st != http.StatusOK || out.Chat != pub.ID || !out.Left {
			t.Fatalf("leave: %d %+v", st, out)
		}
		if isMemberOf(t, tn, c, pub.ID) {
			t.Fatal("c is still a member after leaving")
		}
		// Leaving again: no longer a member.
		wantAPIError(t, tn, "POST", "/api/chats/"+pub.ID+"/leave", c.Token, nil, http.StatusForbidden, wire.CodeNotMember)
		// Private chats are not joined through the API.
		wantAPIError(t, tn, "POST", "/api/chats/"+priv.ID+"/join", c.Token, nil, http.StatusForbidden, wire.CodeForbidden)
	})

	t.Run("ids and routes", func(t *testing.T) {
		for _, tc := range []struct {
			method, path string
			status       int
			code         string
		}{
			{"GET", "/api/chats/a.b/messages", http.StatusBadRequest, httpapi.CodeInvalidID},
			{"GET", "/api/chats/bad%20id", http.StatusBadRequest, httpapi.CodeInvalidID},
			{"GET", "/api/chats/" + strings.Repeat("x", 65), http.StatusBadRequest, httpapi.CodeInvalidID},
			{"POST", "/api/chats/a.b/join", http.StatusBadRequest, httpapi.CodeInvalidID},
			{"DELETE", "/api/chats/" + priv.ID + "/members/a.b", http.StatusBadRequest, httpapi.CodeInvalidID},
			// docs/api.md: 404 is not_found.
			{"GET", "/api/chats/no-such-chat", http.StatusNotFound, httpapi.CodeNotFound},
			{"GET", "/api/chats/no-such-chat/messages", http.StatusNotFound, httpapi.CodeNotFound},
			{"POST", "/api/chats/no-such-chat/join", http.StatusNotFound, httpapi.CodeNotFound},
			{"DELETE", "/api/chats", http.StatusMethodNotAllowed, httpapi.CodeMethodNotAllowed},
			{"PUT", "/api/chats/" + pub.ID, http.StatusMethodNotAllowed, httpapi.CodeMethodNotAllowed},
			{"GET", "/api/users", http.StatusMethodNotAllowed, httpapi.CodeMethodNotAllowed},
			{"GET", "/api/nothing-here", http.StatusNotFound, httpapi.CodeNotFound},
			{"GET", "/api/chats/" + pub.ID + "/nothing-here", http.StatusNotFound, httpapi.CodeNotFound},
		} {
			t.Run(tc.method+" "+tc.path, func(t *testing.T) {
				wantAPIError(t, tn.scopedTo(t), tc.method, tc.path, a.Token, nil, tc.status, tc.code)
			})
		}
		// A 405 says what is allowed.
		req, _ := http.NewRequest("DELETE", tn.url("/api/chats"), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if allow := resp.Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
			t.Errorf("Allow %q, want GET and POST", allow)
		}
	})
}

// TestAPIMembers: adding a member reaches its connected device at once,
// removing one stops its delivery, and only the owner removes others.
func TestAPIMembers(t *testing.T) {
	tn := startNode(t, nil)
	owner := tn.register("mem-owner")
	b := tn.register("mem-b")
	c := tn.register("mem-c")
	var priv apiChat
	if st := tn.api("POST", "/api/chats", owner.Token, map[string]any{"name": "team", "kind": "private"}, &priv); st != http.StatusCreated {
		t.Fatalf("create: %d", st)
	}

	bc := tn.dialUser(b)

	// b's device, connected before it was a member, hears of its
	// membership and then gets the chat's messages, without reconnecting.
	var added struct {
		Chat, User string
		Added      bool
	}
	if st := tn.api("POST", "/api/chats/"+priv.ID+"/members", owner.Token, map[string]string{"user": b.ID}, &added); st != http.StatusOK || added.Chat != priv.ID || added.User != b.ID || !added.Added {
		t.Fatalf("add b: %d %+v", st, added)
	}
	var ev wire.MemberEvent
	bc.expect(wire.TypeJoinedRoom).decode(t, &ev)
	if ev.Chat != priv.ID || ev.Room != "team" || ev.User != b.ID || ev.Name != "mem-b" {
		t.Fatalf("JoinedRoom %+v", ev)
	}
	postMessage(t, tn, owner, priv.ID, "welcome b", "")
	var nm wire.NewMessage
	bc.expect(wire.TypeNewMessage).decode(t, &nm)
	if nm.Chat != priv.ID || nm.Message != "welcome b" || nm.User != owner.ID {
		t.Fatalf("NewMessage %+v", nm)
	}
	// b's device may now send to the chat too.
	bc.sendf(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":"thanks","echo":false}}}`, priv.ID)
	bc.expect(wire.TypeMessageAccepted)

	if st := tn.api("POST", "/api/chats/"+priv.ID+"/members", owner.Token, map[string]string{"user": b.ID}, &added); st != http.StatusOK || added.Added {
		t.Fatalf("add b again: %d %+v, want added false", st, added)
	}
	wantAPIError(t, tn, "POST", "/api/chats/"+priv.ID+"/members", c.Token, map[string]string{"user": c.ID}, http.StatusForbidden, wire.CodeNotMember)
	wantAPIError(t, tn, "POST", "/api/chats/"+priv.ID+"/members", owner.Token, map[string]string{}, http.StatusBadRequest, wire.CodeMissingField)
	wantAPIError(t, tn, "POST", "/api/chats/"+priv.ID+"/members", owner.Token, map[string]string{"user": "a b"}, http.StatusBadRequest, httpapi.CodeInvalidID)
	wantAPIError(t, tn, "POST", "/api/chats/"+priv.ID+"/members", owner.Token, map[string]string{"user": "no-such-user"}, http.StatusNotFound, httpapi.CodeNotFound)

	// Members of a private chat add others (not only its owner).
	if st := tn.api("POST", "/api/chats/"+priv.ID+"/members", b.Token, map[string]string{"user": c.ID}, &added); st != http.StatusOK || !added.Added {
		t.Fatalf("b adds c: %d %+v", st, added)
	}
	bc.expect(wire.TypeJoinedRoom).decode(t, &ev)
	if ev.User != c.ID {
		t.Fatalf("b's device got JoinedRoom %+v, want c", ev)
	}

	// Only the owner removes others.
	wantAPIError(t, tn, "DELETE", "/api/chats/"+priv.ID+"/members/"+owner.ID, b.Token, nil, http.StatusForbidden, wire.CodeForbidden)
	wantAPIError(t, tn, "DELETE", "/api/chats/"+priv.ID+"/members/"+c.ID, b.Token, nil, http.StatusForbidden, wire.CodeForbidden)

	// A member removes itself.
	var removed struct {
		Chat, User string
		Removed    bool
	}
	if st := tn.api("DELETE", "/api/chats/"+priv.ID+"/members/"+c.ID, c.Token, nil, &removed); st != http.StatusOK || !removed.Removed || removed.User != c.ID {
		t.Fatalf("c leaves: %d %+v", st, removed)
	}
	bc.expect(wire.TypeLeftRoom).decode(t, &ev)
	if ev.User != c.ID || ev.Chat != priv.ID {
		t.Fatalf("b's device got LeftRoom %+v, want c", ev)
	}

	// The owner removes b: b's device hears it and gets no more messages.
	if st := tn.api("DELETE", "/api/chats/"+priv.ID+"/members/"+b.ID, owner.Token, nil, &removed); st != http.StatusOK || !removed.Removed || removed.Chat != priv.ID || removed.User != b.ID {
		t.Fatalf("owner removes b: %d %+v", st, removed)
	}
	bc.expect(wire.TypeLeftRoom).decode(t, &ev)
	if ev.User != b.ID || ev.Chat != priv.ID || ev.Name != "mem-b" {
		t.Fatalf("LeftRoom %+v", ev)
	}
	postMessage(t, tn, owner, priv.ID, "after b left", "")
	bc.expectNothing(500 * time.Millisecond)
	bc.sendf(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":"let me back"}}}`, priv.ID)
	if _, e := nextError(bc); e.Code != wire.CodeNotMember {
		t.Fatalf("send after removal: %+v, want not_member", e)
	}
	wantAPIError(t, tn, "GET", "/api/chats/"+priv.ID+"/messages", b.Token, nil, http.StatusForbidden, wire.CodeNotMember)

	// Removing a non-member is not an error; it removes nothing.
	if st := tn.api("DELETE", "/api/chats/"+priv.ID+"/members/"+b.ID, owner.Token, nil, &removed); st != http.StatusOK || removed.Removed {
		t.Fatalf("remove b again: %d %+v, want removed false", st, removed)
	}
}
