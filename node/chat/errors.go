package chat

import (
	"context"
	"errors"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// ClientError converts any error of a chat operation into the coded error
// a client sees. Store failures that are not the client's fault become
// unavailable (retry) or internal; callers log those.
func ClientError(err error) *wire.Error {
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
	case store.IsUnavailable(err), errors.Is(err, context.Canceled):
		return wire.Errorf(wire.CodeUnavailable, "storage is unavailable right now; retry")
	default:
		return wire.Errorf(wire.CodeInternal, "internal error")
	}
}

// Logged reports whether a client error is the server's problem, to be
// logged, rather than the client's.
func Logged(e *wire.Error) bool {
	return e.Code == wire.CodeInternal || e.Code == wire.CodeUnavailable
}
