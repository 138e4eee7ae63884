package node

import (
	"context"
	"errors"
	"net/http"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// Errors of the node's own lifecycle.
var (
	ErrClosed = errors.New("node: closed")
)

// clientError converts any error of a chat operation into the coded error a
// client sees. Store failures that are not the client's fault become
// unavailable (retry) or internal; they are logged by the caller.
func clientError(err error) *wire.Error {
	var we *wire.Error
	switch {
	case errors.As(err, &we):
		return we
	case errors.Is(err, store.ErrNotMember):
		return wire.Errorf(wire.CodeNotMember, "you are not a member of this chat")
	case errors.Is(err, store.ErrNotFound):
		return wire.Errorf(wire.CodeChatNotFound, "no such chat")
	case errors.Is(err, store.ErrNameTaken):
		return wire.Errorf(wire.CodeInvalidField, "that name is already taken")
	case errors.Is(err, store.ErrInvalid):
		return wire.Errorf(wire.CodeInvalidField, "%s", err.Error())
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return wire.Errorf(wire.CodeUnavailable, "storage did not answer in time; retry")
	default:
		return wire.Errorf(wire.CodeInternal, "internal error")
	}
}

// httpStatus maps a protocol error code to the HTTP status of the API.
func httpStatus(code string) int {
	switch code {
	case wire.CodeBadJSON, wire.CodeMissingField, wire.CodeInvalidField, wire.CodeMessageTooLong, codeInvalidID, codeInvalidJSON:
		return http.StatusBadRequest
	case codeUnauthorized:
		return http.StatusUnauthorized
	case wire.CodeForbidden, wire.CodeNotMember, wire.CodeTooManyRooms:
		return http.StatusForbidden
	case wire.CodeChatNotFound, codeNotFound:
		return http.StatusNotFound
	case codeNameTaken:
		return http.StatusConflict
	case codeTooLarge:
		return http.StatusRequestEntityTooLarge
	case wire.CodeRateLimited:
		return http.StatusTooManyRequests
	case wire.CodeUnavailable:
		return http.StatusServiceUnavailable
	case codeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	default:
		return http.StatusInternalServerError
	}
}

// HTTP-only error codes (docs/api.md).
const (
	codeInvalidJSON      = "invalid_json"
	codeInvalidID        = "invalid_id"
	codeUnauthorized     = "unauthorized"
	codeNotFound         = "not_found"
	codeNameTaken        = "name_taken"
	codeTooLarge         = "too_large"
	codeMethodNotAllowed = "method_not_allowed"
)
