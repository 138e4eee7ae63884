package httpapi

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/natterchat/natter/node/auth"
	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// Sessions: a token is issued by registering, by logging in, and by
// refreshing a token that is still valid, so a client that stays
// connected never has to ask its user for the password again. Signing
// out everywhere (and changing the password) revokes them all.

// session is the answer of every route that issues a token.
type session struct {
	User      string    `json:"user"`
	Name      string    `json:"name"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
	// WsURL is the WebSocket URL with the token in the query (the
	// seeds' "register, get a WebSocket URL").
	WsURL string `json:"wsUrl"`
}

// issueSession issues a token for u, of its current token version, and
// answers with it.
func (a *API) issueSession(w http.ResponseWriter, r *http.Request, status int, u store.User) {
	tok, exp, err := a.cfg.Tokens.Issue(u.ID, u.Name, u.TokenVersion)
	if err != nil {
		a.writeOpError(w, r, err)
		return
	}
	writeJSON(w, status, session{User: u.ID, Name: u.Name, Token: tok, ExpiresAt: exp.UTC(), WsURL: wsURL(r) + "?token=" + tok})
}

// createSession logs in and returns a token and the WebSocket URL.
func (a *API) createSession(w http.ResponseWriter, r *http.Request) {
	var in credentials
	if !decodeBody(w, r, &in) {
		return
	}
	if in.Name == "" || in.Password == "" {
		WriteError(w, http.StatusBadRequest, wire.CodeMissingField, "name and password are required")
		return
	}
	keys := loginKeys(r, in.Name)
	if !a.checkLimits(w, r, keys...) {
		return
	}
	u, err := a.cfg.Store.UserByName(r.Context(), in.Name)
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrInvalid) {
		a.writeOpError(w, r, err)
		return
	}
	hash := u.PasswordHash
	if err != nil {
		hash = a.dummyHash
	}
	if perr := auth.CheckPassword(hash, in.Password); perr != nil || err != nil {
		// Counted before the answer: a failure that cannot be counted
		// is not told as one (503).
		if a.countLimits(w, r, keys...) {
			WriteError(w, http.StatusUnauthorized, CodeUnauthorized, "wrong name or password")
		}
		return
	}
	a.issueSession(w, r, http.StatusOK, u)
}

// refreshSession trades a valid token for a new one of the same user:
// a connection then sends it in a Refresh frame to outlive its first.
func (a *API) refreshSession(w http.ResponseWriter, r *http.Request, who chat.Identity) {
	u, err := a.cfg.Store.User(r.Context(), who.ID)
	if err != nil {
		a.writeOpError(w, r, err)
		return
	}
	a.issueSession(w, r, http.StatusOK, u)
}

// revokeSessions signs the caller out everywhere: every token of the
// user so far is refused from now on, on every node, and the user's
// connections are closed (4003). The caller logs in again.
func (a *API) revokeSessions(w http.ResponseWriter, r *http.Request, who chat.Identity) {
	if _, err := a.cfg.Chat.RevokeTokens(r.Context(), who.ID, nil); err != nil {
		a.writeOpError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// wsURL is the WebSocket URL of this node as the client reached it.
func wsURL(r *http.Request) string {
	scheme := "ws"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "wss"
	}
	return scheme + "://" + r.Host + "/ws"
}
