package httpapi

import (
	"errors"
	"net/http"

	"github.com/natterchat/natter/node/auth"
	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// passwordChange is the body of POST /api/me/password.
type passwordChange struct {
	Password    string `json:"password"` // the current one
	NewPassword string `json:"newPassword"`
}

// errWrongPassword refuses a password change inside the store's update,
// so that the check and the write see the same record.
var errWrongPassword = errors.New("the current password is wrong")

// changePassword sets a new password given the current one. Every token
// of the user so far is revoked and its connections closed, everywhere;
// the answer is a new token, so the caller goes on.
func (a *API) changePassword(w http.ResponseWriter, r *http.Request, who chat.Identity) {
	var in passwordChange
	if !decodeBody(w, r, &in) {
		return
	}
	switch {
	case in.Password == "":
		WriteError(w, http.StatusBadRequest, wire.CodeMissingField, "password (the current one) is required")
		return
	case in.NewPassword == "":
		WriteError(w, http.StatusBadRequest, wire.CodeMissingField, "newPassword is required")
		return
	}
	if msg := passwordLenError("newPassword", in.NewPassword); msg != "" {
		WriteError(w, http.StatusBadRequest, wire.CodeInvalidField, msg)
		return
	}
	// A stolen token must not be a way around the login limits: a wrong
	// current password counts as a failed login of the account.
	keys := loginKeys(r, who.Name)
	if !a.checkLimits(w, r, keys...) {
		return
	}
	// Hashed before the update: bcrypt takes tens of milliseconds, and
	// the update may run more than once.
	hash, err := auth.HashPassword(in.NewPassword, a.cfg.PasswordCost)
	if err != nil {
		a.writeOpError(w, r, err)
		return
	}
	u, err := a.cfg.Chat.RevokeTokens(r.Context(), who.ID, func(u *store.User) error {
		if auth.CheckPassword(u.PasswordHash, in.Password) != nil {
			return errWrongPassword
		}
		u.PasswordHash = hash
		return nil
	})
	if errors.Is(err, errWrongPassword) {
		// 403, not 401: the caller's token is fine, and a 401 would sign
		// it out.
		if a.countLimits(w, r, keys...) {
			WriteError(w, http.StatusForbidden, wire.CodeForbidden, errWrongPassword.Error())
		}
		return
	}
	if err != nil {
		a.writeOpError(w, r, err)
		return
	}
	a.issueSession(w, r, http.StatusOK, u)
}
