package node

import (
	"net/http"
	"testing"
	"time"

	"github.com/natterchat/natter/node/httpapi"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/node/wsconn"
)

// sessionAnswer is the API's answer to the routes that issue tokens.
type sessionAnswer struct {
	User, Name, Token, WsURL string
	ExpiresAt                time.Time
}

// TestTokenExpiry: a connection lives as long as its token. Welcome says
// until when; the node closes it with 4003 once that has passed; a
// Refresh with a newer token of the same user keeps it open; refreshes
// that are not that are refused and change nothing.
func TestTokenExpiry(t *testing.T) {
	// Heartbeats of 100 ms: expired devices are swept every 500 ms.
	tn := startNode(t, func(c *Config) { c.HeartbeatInterval = 100 * time.Millisecond; c.AllowGuests = true })
	a := tn.register("expiring")
	b := tn.register("other-user")

	t.Run("closed when it expires", func(t *testing.T) {
		// JWT expiries are whole seconds: two from now is one at least.
		exp := time.Now().Add(2 * time.Second).Truncate(time.Second)
		c := tn.scopedTo(t).dial("/ws?token=" + signedToken(t, a.ID, exp))
		if c.welcome.ExpiresAt == nil || !c.welcome.ExpiresAt.Equal(exp) {
			t.Fatalf("Welcome expiresAt %v, want %v", c.welcome.ExpiresAt, exp)
		}
		if code := c.closeCode(); code != wsconn.StatusUnauthorized {
			t.Fatalf("close code %d, want %d", code, wsconn.StatusUnauthorized)
		}
		if late := time.Since(exp); late > 3*time.Second {
			t.Errorf("closed %v after the token expired", late)
		}
	})

	t.Run("refreshed stays open", func(t *testing.T) {
		exp := time.Now().Add(2 * time.Second).Truncate(time.Second)
		c := tn.scopedTo(t).dial("/ws?token=" + signedToken(t, a.ID, exp))
		c.strict = true

		// A newer token of the same user, from the API.
		var fresh sessionAnswer
		if st := tn.api("POST", "/api/sessions/refresh", a.Token, nil, &fresh); st != http.StatusOK {
			t.Fatalf("refresh: status %d", st)
		}
		if fresh.User != a.ID || fresh.Token == "" || time.Until(fresh.ExpiresAt) < 23*time.Hour {
			t.Fatalf("refresh answered %+v", fresh)
		}
		c.sendf(`{"channel":"session","message":{"type":"Refresh","contents":{"token":%q}}}`, fresh.Token)
		var r wire.Refreshed
		c.expect(wire.TypeRefreshed).decode(t, &r)
		if !r.ExpiresAt.Equal(fresh.ExpiresAt) {
			t.Fatalf("Refreshed expiresAt %v, want the new token's %v", r.ExpiresAt, fresh.ExpiresAt)
		}

		// An older token changes nothing: a refresh never shortens.
		c.sendf(`{"channel":"session","message":{"type":"Refresh","contents":{"token":%q}}}`, signedToken(t, a.ID, time.Now().Add(time.Hour)))
		c.expect(wire.TypeRefreshed).decode(t, &r)
		if !r.ExpiresAt.Equal(fresh.ExpiresAt) {
			t.Fatalf("an older token moved expiresAt to %v", r.ExpiresAt)
		}

		// Refusals, each an Error on the session channel.
		for _, tc := range []struct{ name, contents, code string }{
			{"another user's token", `{"token":"` + b.Token + `"}`, wire.CodeForbidden},
			{"garbage", `{"token":"garbage"}`, wire.CodeUnauthorized},
			{"expired", `{"token":"` + signedToken(t, a.ID, time.Now().Add(-time.Minute)) + `"}`, wire.CodeUnauthorized},
			{"no token", `{}`, wire.CodeMissingField},
			{"token not a string", `{"token":5}`, wire.CodeInvalidField},
		} {
			c.sendf(`{"channel":"session","ref":"r1","message":{"type":"Refresh","contents":%s}}`, tc.contents)
			if e := c.expectError(); e.Code != tc.code || e.Ref != "r1" || e.Type != wire.TypeRefresh {
				t.Errorf("%s: %+v, want code %s", tc.name, e, tc.code)
			}
		}
		c.send(`{"channel":"session","message":{"type":"Welcome","contents":{}}}`)
		if e := c.expectError(); e.Code != wire.CodeUnknownType {
			t.Errorf("Welcome from a client: %+v, want %s", e, wire.CodeUnknownType)
		}

		// Past the first token's expiry and a sweep, it still works.
		time.Sleep(time.Until(exp) + time.Second)
		c.sendf(`{"channel":"chat-room","message":{"type":"JoinRoom","contents":{"room":"expiry-room"}}}`)
		c.expect(wire.TypeMemberList)
	})

	t.Run("guests have nothing to refresh", func(t *testing.T) {
		c := tn.scopedTo(t).dial("/ws")
		if c.welcome.ExpiresAt != nil {
			t.Errorf("a guest's Welcome has expiresAt %v", c.welcome.ExpiresAt)
		}
		c.sendf(`{"channel":"session","message":{"type":"Refresh","contents":{"token":%q}}}`, a.Token)
		if e := c.expectError(); e.Code != wire.CodeForbidden {
			t.Errorf("guest Refresh: %+v, want %s", e, wire.CodeForbidden)
		}
	})

	t.Run("API refresh needs a valid token", func(t *testing.T) {
		wantAPIError(t, tn, "POST", "/api/sessions/refresh", "", nil, http.StatusUnauthorized, httpapi.CodeUnauthorized)
		wantAPIError(t, tn, "POST", "/api/sessions/refresh", signedToken(t, a.ID, time.Now().Add(-time.Minute)), nil, http.StatusUnauthorized, httpapi.CodeUnauthorized)
		wantAPIError(t, tn, "GET", "/api/sessions/refresh", a.Token, nil, http.StatusMethodNotAllowed, httpapi.CodeMethodNotAllowed)
	})
}
