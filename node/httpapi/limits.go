package httpapi

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/natterchat/natter/node/authlimit"
	"github.com/natterchat/natter/node/wire"
)

// Password guessing and mass registration are limited per account name
// and source address, cluster-wide (package authlimit): a login, a
// registration or a password change is checked before any work, and a
// failed login or password change, or a registration, is counted.
//
// Both fail closed: when the counters cannot be read or raised, the
// attempt is answered 503 and nothing is done (and a wrong password is not
// told apart from a right one). Otherwise an attacker who can make
// JetStream slow — or who finds it in an election — would guess without
// limit; and since logins and registrations need JetStream for the user
// records too, a node that cannot reach the counters could rarely have
// answered anyway.

// loginKeys are the counters of a login (or a password check) naming an
// account, from the request's source address.
func loginKeys(r *http.Request, name string) []authlimit.Key {
	return []authlimit.Key{authlimit.Account(name), authlimit.Source(authlimit.LoginSource, r.RemoteAddr)}
}

// checkLimits answers the request itself (429 or 503) and returns false
// when keys refuse another attempt.
func (a *API) checkLimits(w http.ResponseWriter, r *http.Request, keys ...authlimit.Key) bool {
	blk, err := a.cfg.Limits.Check(r.Context(), keys...)
	return a.limitAnswer(w, r, blk, err)
}

// countLimits counts one event on keys; it answers the request itself
// (429 or 503) and returns false when the event is refused.
func (a *API) countLimits(w http.ResponseWriter, r *http.Request, keys ...authlimit.Key) bool {
	blk, err := a.cfg.Limits.Count(r.Context(), keys...)
	return a.limitAnswer(w, r, blk, err)
}

func (a *API) limitAnswer(w http.ResponseWriter, r *http.Request, blk authlimit.Block, err error) bool {
	if err != nil {
		a.cfg.Limiter.Warn("api: login and registration limits", slog.String("path", r.URL.Path), slog.Any("err", err))
		WriteError(w, http.StatusServiceUnavailable, wire.CodeUnavailable, "the login and registration limits cannot be checked right now; try again")
		return false
	}
	if blk.Refused() {
		writeRateLimited(w, blk)
		return false
	}
	return true
}

// retryAfterSeconds is a wait in whole seconds, rounded up, at least 1
// (Retry-After's unit).
func retryAfterSeconds(d time.Duration) int64 {
	return max(int64(math.Ceil(d.Seconds())), 1)
}

// writeRateLimited answers 429 rate_limited with Retry-After (seconds) in
// the header and, as retryAfter, in the error body.
func writeRateLimited(w http.ResponseWriter, blk authlimit.Block) {
	secs := retryAfterSeconds(blk.Wait)
	var what string
	switch blk.Rule {
	case authlimit.LoginAccount:
		what = "too many failed logins for this account"
	case authlimit.LoginSource:
		what = "too many failed logins from this address"
	case authlimit.RegisterSource:
		what = "too many registrations from this address"
	default:
		what = "too many attempts"
	}
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	var e apiError
	e.Error.Code = wire.CodeRateLimited
	e.Error.Message = fmt.Sprintf("%s; try again in %d s", what, secs)
	e.Error.RetryAfter = secs
	writeJSON(w, http.StatusTooManyRequests, e)
}
