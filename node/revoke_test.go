package node

import (
	"net/http"
	"testing"

	"github.com/natterchat/natter/node/httpapi"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/node/wsconn"
	"github.com/natterchat/natter/store/storetest"
)

// TestRevokeAcrossNodes: changing the password, and signing out
// everywhere, refuse every older token on every node of a cluster (the
// other node has already checked the token once, so it must not trust
// its cache) and close the user's connections on every node with 4003.
func TestRevokeAcrossNodes(t *testing.T) {
	ns := storetest.RunServer(t)
	shared := func(c *Config) { c.NATSURL = ns.ClientURL() }
	a := startNode(t, shared)
	b := startNode(t, shared)
	u := a.register("revoked-user")
	other := a.register("bystander")
	password := "password-" + u.Name

	// Connected on both nodes; b's API has seen the token too.
	ca, cb := a.dialUser(u), b.dialUser(u)
	co := b.dialUser(other)
	if st := b.api("GET", "/api/me", u.Token, nil, nil); st != http.StatusOK {
		t.Fatalf("GET /api/me on b: %d", st)
	}

	t.Run("password change refused", func(t *testing.T) {
		tn := a.scopedTo(t)
		wantAPIError(t, tn, "POST", "/api/me/password", u.Token, map[string]string{"password": "not-the-password", "newPassword": "a-new-password-1"}, http.StatusForbidden, wire.CodeForbidden)
		wantAPIError(t, tn, "POST", "/api/me/password", u.Token, map[string]string{"password": password}, http.StatusBadRequest, wire.CodeMissingField)
		wantAPIError(t, tn, "POST", "/api/me/password", u.Token, map[string]string{"newPassword": "a-new-password-1"}, http.StatusBadRequest, wire.CodeMissingField)
		wantAPIError(t, tn, "POST", "/api/me/password", u.Token, map[string]string{"password": password, "newPassword": "short"}, http.StatusBadRequest, wire.CodeInvalidField)
		wantAPIError(t, tn, "POST", "/api/me/password", "", map[string]string{"password": password, "newPassword": "a-new-password-1"}, http.StatusUnauthorized, httpapi.CodeUnauthorized)
		// Nothing changed: the old password and token still work.
		if st := a.api("POST", "/api/sessions", "", map[string]string{"name": u.Name, "password": password}, nil); st != http.StatusOK {
			t.Fatalf("login after refused changes: %d", st)
		}
		ca.send(`{"channel":"chat-room","message":{"type":"JoinRoom","contents":{"room":"still-here"}}}`)
		ca.waitFor(wire.TypeMemberList)
	})

	var fresh sessionAnswer
	t.Run("password change", func(t *testing.T) {
		st := a.api("POST", "/api/me/password", u.Token, map[string]string{"password": password, "newPassword": "a-new-password-1"}, &fresh)
		if st != http.StatusOK || fresh.Token == "" || fresh.User != u.ID {
			t.Fatalf("change password: %d %+v", st, fresh)
		}
		for _, c := range []*client{ca, cb} {
			if code := c.closeCode(); code != wsconn.StatusUnauthorized {
				t.Errorf("connection on %s closed with %d, want %d", c.tn.addr, code, wsconn.StatusUnauthorized)
			}
		}
		// Another user's connection is untouched.
		co.send(`{"channel":"chat-room","message":{"type":"JoinRoom","contents":{"room":"untouched"}}}`)
		co.waitFor(wire.TypeMemberList)

		for _, tn := range []*testNode{a, b} {
			tn := tn.scopedTo(t)
			wantAPIError(t, tn, "GET", "/api/me", u.Token, nil, http.StatusUnauthorized, httpapi.CodeUnauthorized)
			if _, err := tn.tryDial("/ws?token="+u.Token, nil); err == nil {
				t.Errorf("%s: the old token still connects", tn.addr)
			}
			if st := tn.api("GET", "/api/me", fresh.Token, nil, nil); st != http.StatusOK {
				t.Errorf("%s: the new token: %d", tn.addr, st)
			}
			tn.dial("/ws?token=" + fresh.Token)
		}
		wantAPIError(t, a, "POST", "/api/sessions", "", map[string]string{"name": u.Name, "password": password}, http.StatusUnauthorized, httpapi.CodeUnauthorized)
		if st := b.api("POST", "/api/sessions", "", map[string]string{"name": u.Name, "password": "a-new-password-1"}, nil); st != http.StatusOK {
			t.Errorf("login with the new password: %d", st)
		}
	})

	t.Run("sign out everywhere", func(t *testing.T) {
		cb := b.scopedTo(t).dial("/ws?token=" + fresh.Token)
		var later sessionAnswer
		if st := b.api("POST", "/api/sessions", "", map[string]string{"name": u.Name, "password": "a-new-password-1"}, &later); st != http.StatusOK {
			t.Fatalf("login: %d", st)
		}
		if st := a.api("DELETE", "/api/sessions", later.Token, nil, nil); st != http.StatusNoContent {
			t.Fatalf("DELETE /api/sessions: %d", st)
		}
		if code := cb.closeCode(); code != wsconn.StatusUnauthorized {
			t.Errorf("connection on b closed with %d, want %d", code, wsconn.StatusUnauthorized)
		}
		for _, tok := range []string{fresh.Token, later.Token} {
			wantAPIError(t, b, "POST", "/api/sessions/refresh", tok, nil, http.StatusUnauthorized, httpapi.CodeUnauthorized)
		}
		// Logging in again works, on either node.
		if st := b.api("POST", "/api/sessions", "", map[string]string{"name": u.Name, "password": "a-new-password-1"}, &later); st != http.StatusOK {
			t.Fatalf("login after signing out everywhere: %d", st)
		}
		a.scopedTo(t).dial("/ws?token=" + later.Token)
	})
}
