package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Channels.
const (
	ChannelChatRoom = "chat-room"
	ChannelChat     = "chat"
	ChannelPing     = "ping"
	ChannelSession  = "session"
	ChannelPresence = "presence"
)

// Envelope is every frame's outer shape:
// {"channel": C, "message": {"type": T, "contents": X}}, plus an optional
// client-chosen ref that errors echo.
type Envelope struct {
	Channel string  `json:"channel"`
	Message Message `json:"message"`
	Ref     string  `json:"ref,omitempty"`
}

// Message is the envelope's inner part. Contents stays raw until the
// channel and type say what it is.
type Message struct {
	Type     string          `json:"type"`
	Contents json.RawMessage `json:"contents,omitempty"`
}

// outEnvelope is what the server encodes; Contents is any value.
type outEnvelope struct {
	Channel string     `json:"channel"`
	Message outMessage `json:"message"`
}

type outMessage struct {
	Type     string `json:"type"`
	Contents any    `json:"contents"`
}

// Encode returns the JSON frame {"channel":channel,"message":{"type":typ,"contents":contents}}.
// The frames sent most write themselves (append.go); the rest go through
// encoding/json.
func Encode(channel, typ string, contents any) []byte {
	if a, ok := contents.(appender); ok {
		return appendFrame(make([]byte, 0, 64+len(channel)+len(typ)+a.sizeHint()), channel, typ, a)
	}
	return encodeJSON(channel, typ, contents)
}

// EncodeAfter is Encode with room bytes of room before the frame, in the
// same allocation: the WebSocket layer writes its header there
// (wsconn.TextFrameAfter) instead of copying the frame behind one.
func EncodeAfter(room int, channel, typ string, contents any) []byte {
	if a, ok := contents.(appender); ok {
		b := make([]byte, room, room+64+len(channel)+len(typ)+a.sizeHint())
		return appendFrame(b, channel, typ, a)
	}
	return append(make([]byte, room), encodeJSON(channel, typ, contents)...)
}

// encodeJSON is Encode by encoding/json.
func encodeJSON(channel, typ string, contents any) []byte {
	b, err := json.Marshal(outEnvelope{Channel: channel, Message: outMessage{Type: typ, Contents: contents}})
	if err != nil {
		// Only natter's own types are encoded here; failing is a bug.
		panic(fmt.Sprintf("wire: encode %s/%s: %v", channel, typ, err))
	}
	return b
}

// DecodeEnvelope parses a client frame's envelope. The error is a *Error
// with code bad_json, missing_field or unknown_channel.
func DecodeEnvelope(b []byte) (Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return e, Errorf(CodeBadJSON, "frame is not a JSON envelope {channel, message: {type, contents}}: %s", jsonProblem(err))
	}
	if e.Channel == "" {
		return e, Errorf(CodeBadJSON, "frame has no channel")
	}
	if e.Message.Type == "" {
		return e, Errorf(CodeBadJSON, "frame has no message.type")
	}
	return e, nil
}

// DecodeContents parses a frame's contents into v, rejecting unknown fields
// is deliberately not done (clients may add fields); wrong types are
// invalid_field errors that name the field.
func DecodeContents(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return Errorf(CodeMissingField, "contents is missing")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if te.Field == "" {
				return Errorf(CodeInvalidField, "contents must be a JSON %s, not %s", kindOf(v), te.Value)
			}
			return Errorf(CodeInvalidField, "field %q must be %s, not %s", te.Field, te.Type.String(), te.Value)
		}
		return Errorf(CodeBadJSON, "contents: %s", jsonProblem(err))
	}
	return nil
}

func kindOf(v any) string {
	switch v.(type) {
	case *string:
		return "string"
	default:
		return "object"
	}
}

// jsonProblem shortens encoding/json's messages for clients.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v at byte %d", se, se.Offset)
	}
	return err.Error()
}
