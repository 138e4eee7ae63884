package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/natterchat/natter/node/auth"
	"github.com/natterchat/natter/node/authlimit"
	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// Length bounds of names and passwords, in characters. A password may be
// up to 1024 bytes of UTF-8; auth.HashPassword digests it whole before
// bcrypt (which reads at most 72 bytes), so every character counts.
const (
	minPasswordLen = 8
	maxPasswordLen = 256
	maxUserNameLen = 64
)

type credentials struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

func (c credentials) validate() (code, msg string) {
	switch {
	case strings.TrimSpace(c.Name) == "":
		return wire.CodeMissingField, "name is required"
	case c.Password == "":
		return wire.CodeMissingField, "password is required"
	}
	if err := chat.ValidName("name", c.Name, maxUserNameLen); err != nil {
		ce := chat.ClientError(err)
		return ce.Code, ce.Message
	}
	if msg := passwordLenError("password", c.Password); msg != "" {
		return wire.CodeInvalidField, msg
	}
	return "", ""
}

// passwordLenError says what is wrong with the length of a new password
// in field, or is empty.
func passwordLenError(field, p string) string {
	if l := utf8.RuneCountInString(p); l < minPasswordLen || l > maxPasswordLen {
		return fmt.Sprintf("%s must be %d to %d characters", field, minPasswordLen, maxPasswordLen)
	}
	return ""
}

// createUser registers an account and returns a token.
func (a *API) createUser(w http.ResponseWriter, r *http.Request) {
	var in credentials
	if !decodeBody(w, r, &in) {
		return
	}
	if code, msg := in.validate(); code != "" {
		WriteError(w, http.StatusBadRequest, code, msg)
		return
	}
	// Every registration counts, a taken name too (it tells the name
	// exists); a known block refuses without counting.
	key := authlimit.Source(authlimit.RegisterSource, r.RemoteAddr)
	if !a.checkLimits(w, r, key) || !a.countLimits(w, r, key) {
		return
	}
	hash, err := auth.HashPassword(in.Password, a.cfg.PasswordCost)
	if err != nil {
		a.writeOpError(w, r, err)
		return
	}
	u := store.User{ID: chat.NewID(), Name: in.Name, PasswordHash: hash, CreatedAt: time.Now().UTC()}
	if err := a.cfg.Store.CreateUser(r.Context(), u); err != nil {
		if errors.Is(err, store.ErrNameTaken) {
			WriteError(w, http.StatusConflict, CodeNameTaken, "user name "+quote(in.Name)+" is already taken")
			return
		}
		a.writeOpError(w, r, err)
		return
	}
	a.issueSession(w, r, http.StatusCreated, u)
}

func (a *API) me(w http.ResponseWriter, r *http.Request, who chat.Identity) {
	u, err := a.cfg.Store.User(r.Context(), who.ID)
	if errors.Is(err, store.ErrNotFound) {
		WriteError(w, http.StatusUnauthorized, CodeUnauthorized, "the token's user no longer exists")
		return
	}
	if err != nil {
		a.writeOpError(w, r, err)
		return
	}
	roles := u.Roles
	if roles == nil {
		roles = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": u.ID, "name": u.Name, "roles": roles, "createdAt": u.CreatedAt})
}
