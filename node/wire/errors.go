package wire

import "fmt"

// Error codes sent in Error frames. They are stable: clients branch on them.
const (
	CodeBadJSON        = "bad_json"
	CodeUnknownChannel = "unknown_channel"
	CodeUnknownType    = "unknown_type"
	CodeMissingField   = "missing_field"
	CodeInvalidField   = "invalid_field"
	CodeMessageTooLong = "message_too_long"
	CodeChatNotFound   = "chat_not_found"
	CodeNotMember      = "not_member"
	CodeForbidden      = "forbidden"
	CodeRateLimited    = "rate_limited"
	CodeUnauthorized   = "unauthorized"
	CodeTooManyRooms   = "too_many_rooms"
	CodeUnavailable    = "unavailable"
	CodeInternal       = "internal"
)

// Error is the contents of an Error frame, and the Go error the node's
// frame handlers return for a rejected frame.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Ref     string `json:"ref,omitempty"`
	Type    string `json:"type,omitempty"`
	// RetryAfter is set on rate_limited: the milliseconds until the
	// device may send a frame again.
	RetryAfter int64 `json:"retryAfter,omitempty"`
}

// Errorf returns an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string { return "wire: " + e.Code + ": " + e.Message }
