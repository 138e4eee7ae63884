package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/subjects"
)

// maxBodyBytes bounds API request bodies.
const maxBodyBytes = 64 << 10

// Error codes of the API only (docs/api.md); the others are the
// protocol's (wire.Code*).
const (
	CodeInvalidJSON      = "invalid_json"
	CodeInvalidID        = "invalid_id"
	CodeUnauthorized     = wire.CodeUnauthorized
	CodeNotFound         = "not_found"
	CodeNameTaken        = "name_taken"
	CodeTooLarge         = "too_large"
	CodeMethodNotAllowed = "method_not_allowed"
)

// Status maps an error code of the protocol or the API to its HTTP
// status.
func Status(code string) int {
	switch code {
	case wire.CodeSeqOutOfRange: // read state
		return http.StatusBadRequest
	case wire.CodeBadJSON, wire.CodeMissingField, wire.CodeInvalidField, wire.CodeMessageTooLong, CodeInvalidID, CodeInvalidJSON:
		return http.StatusBadRequest
	case CodeUnauthorized:
		return http.StatusUnauthorized
	case wire.CodeForbidden, wire.CodeNotMember, wire.CodeTooManyRooms:
		return http.StatusForbidden
	case wire.CodeChatNotFound, CodeNotFound:
		return http.StatusNotFound
	case CodeNameTaken:
		return http.StatusConflict
	case CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case wire.CodeRateLimited:
		return http.StatusTooManyRequests
	case wire.CodeUnavailable:
		return http.StatusServiceUnavailable
	case CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case wire.CodeBadEmoji:
		return http.StatusBadRequest
	case wire.CodeNotSender:
		return http.StatusForbidden
	case wire.CodeMessageNotFound:
		return http.StatusNotFound
	case wire.CodeMessageDeleted:
		return http.StatusGone
	case wire.CodeTooManyReactions:
		return http.StatusConflict
	default:
		return http.StatusInternalServerError
	}
}

// CodeOf is the error code that goes with an HTTP status the node answers
// outside the API (a refused WebSocket upgrade).
func CodeOf(status int) string {
	switch status {
	case http.StatusForbidden:
		return wire.CodeForbidden
	case http.StatusServiceUnavailable:
		return wire.CodeUnavailable
	case http.StatusBadRequest:
		return wire.CodeInvalidField
	default:
		return CodeUnauthorized
	}
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError is the API's error body.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		// RetryAfter is the Retry-After of a 429, in seconds.
		RetryAfter int64 `json:"retryAfter,omitempty"`
	} `json:"error"`
}

// WriteError answers with the API's error body.
func WriteError(w http.ResponseWriter, status int, code, msg string) {
	var e apiError
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}

// writeOpError answers a failed chat operation with its coded error.
func (a *API) writeOpError(w http.ResponseWriter, r *http.Request, err error) {
	ce := chat.ClientError(err)
	if chat.Logged(ce) {
		a.cfg.Limiter.Warn("api request failed", slog.String("path", r.URL.Path), slog.Any("err", err))
	}
	code := ce.Code
	if code == wire.CodeChatNotFound {
		code = CodeNotFound // the API's one 404 code (docs/api.md)
	}
	WriteError(w, Status(ce.Code), code, ce.Message)
}

// decodeBody reads a JSON body into v, answering the error itself.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			WriteError(w, http.StatusRequestEntityTooLarge, CodeTooLarge, "request body is larger than 64 KiB")
		} else {
			WriteError(w, http.StatusBadRequest, CodeInvalidJSON, "could not read the request body")
		}
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			WriteError(w, http.StatusBadRequest, wire.CodeInvalidField, "field "+strconv.Quote(te.Field)+" must be "+te.Type.String())
		} else {
			WriteError(w, http.StatusBadRequest, CodeInvalidJSON, "request body is not valid JSON: "+err.Error())
		}
		return false
	}
	return true
}

// pathID reads and validates an id path segment, answering 400 itself.
func pathID(w http.ResponseWriter, r *http.Request, name string) (string, bool) {
	id := r.PathValue(name)
	if !subjects.ValidID(id) {
		WriteError(w, http.StatusBadRequest, CodeInvalidID, name+" must be 1-64 characters of [A-Za-z0-9_-]")
		return "", false
	}
	return id, true
}

func quote(s string) string { return strconv.Quote(strings.TrimSpace(s)) }
