package wire

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestEncodeSeedShape(t *testing.T) {
	got := string(Encode(ChannelPing, TypePing, 2))
	want := `{"channel":"ping","message":{"type":"Ping","contents":2}}`
	if got != want {
		t.Fatalf("Encode = %s, want %s", got, want)
	}
	got = string(Encode(ChannelChatRoom, TypeNewMessage, NewMessage{Room: "#haskell", User: "u", Message: "m"}))
	if !strings.HasPrefix(got, `{"channel":"chat-room","message":{"type":"NewMessage","contents":{"room":"#haskell","user":"u","message":"m",`) {
		t.Fatalf("NewMessage does not start with the seed's fields: %s", got)
	}
}

func TestDecodeEnvelopeErrors(t *testing.T) {
	for _, tc := range []struct {
		in, code string
	}{
		{`not json`, CodeBadJSON},
		{`[]`, CodeBadJSON},
		{`{"message":{"type":"X"}}`, CodeBadJSON},
		{`{"channel":"chat"}`, CodeBadJSON},
		{`{"channel":5,"message":{}}`, CodeBadJSON},
	} {
		_, err := DecodeEnvelope([]byte(tc.in))
		var we *Error
		if !errors.As(err, &we) || we.Code != tc.code {
			t.Errorf("DecodeEnvelope(%s) = %v, want code %s", tc.in, err, tc.code)
		}
	}
	e, err := DecodeEnvelope([]byte(`{"channel":"chat-room","ref":"r1","message":{"type":"JoinRoom","contents":{"room":"#a"}}}`))
	if err != nil || e.Channel != ChannelChatRoom || e.Ref != "r1" || e.Message.Type != TypeJoinRoom {
		t.Fatalf("DecodeEnvelope: %+v %v", e, err)
	}
}

func TestDecodeContentsErrors(t *testing.T) {
	var h History
	err := DecodeContents(json.RawMessage(`{"chat":"c","limit":"ten"}`), &h)
	var we *Error
	if !errors.As(err, &we) || we.Code != CodeInvalidField || !strings.Contains(we.Message, "limit") {
		t.Fatalf("got %v, want invalid_field naming limit", err)
	}
	err = DecodeContents(nil, &h)
	if !errors.As(err, &we) || we.Code != CodeMissingField {
		t.Fatalf("got %v, want missing_field", err)
	}
	var s string
	err = DecodeContents(json.RawMessage(`{"a":1}`), &s)
	if !errors.As(err, &we) || we.Code != CodeInvalidField {
		t.Fatalf("got %v, want invalid_field", err)
	}
}

// FuzzDecode checks that no input panics the decoder and that every
// failure is a coded *Error.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"room":"#a","message":"hi"}}}`,
		`{"channel":"chat","message":{"type":"SubmitMessage","contents":"x"}}`,
		`{`, `null`, `{"channel":"","message":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEnvelope(b)
		if err != nil {
			var we *Error
			if !errors.As(err, &we) || we.Code == "" {
				t.Fatalf("uncoded error %v", err)
			}
			return
		}
		var sm SendMessage
		if err := DecodeContents(e.Message.Contents, &sm); err != nil {
			var we *Error
			if !errors.As(err, &we) || we.Code == "" {
				t.Fatalf("uncoded error %v", err)
			}
		}
	})
}

// TestTombstoneShape: a deleted message in a HistoryPage is only where it
// was, {room, chat, seq, deleted: true}, not a message of empty fields.
func TestTombstoneShape(t *testing.T) {
	page := HistoryPage{Room: "r", Chat: "c", Messages: []NewMessage{{Room: "r", Chat: "c", Seq: 3, Deleted: true, User: "gone"}}}
	got := string(Encode(ChannelChatRoom, TypeHistoryPage, page))
	want := `{"channel":"chat-room","message":{"type":"HistoryPage","contents":{"room":"r","chat":"c","messages":[{"room":"r","chat":"c","seq":3,"deleted":true}]}}}`
	if got != want {
		t.Fatalf("Encode = %s, want %s", got, want)
	}
	var back NewMessage
	if err := json.Unmarshal([]byte(`{"room":"r","chat":"c","seq":3,"deleted":true}`), &back); err != nil || !back.Deleted || back.Seq != 3 {
		t.Fatalf("decode tombstone: %+v, %v", back, err)
	}
}
