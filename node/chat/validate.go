package chat

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/natterchat/natter/node/wire"
)

// MaxRoomNameLen is the longest chat name in characters.
const MaxRoomNameLen = 100

// ValidName checks a user-data name (a room, a user name): non-empty
// after trimming, at most max characters of valid UTF-8, no control
// characters. field names it in the error.
func ValidName(field, s string, max int) error {
	if strings.TrimSpace(s) == "" {
		return wire.Errorf(wire.CodeMissingField, "%s is empty", field)
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return wire.Errorf(wire.CodeInvalidField, "%s must be at most %d characters of valid UTF-8", field, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return wire.Errorf(wire.CodeInvalidField, "%s must not contain control characters", field)
		}
	}
	return nil
}

// msgIDSpace namespaces message ids derived from client message ids.
var msgIDSpace = uuid.MustParse("6f1c2b1e-8d4b-4c57-9d8e-2f4a3c1b7e90")

// messageID returns the id a send is stored under. A client message id is
// scoped to its sender and chat, so a retry after a reconnect is deduped
// while two clients that both count from 1 never collide.
func messageID(userID, chatID, clientMsgID string) string {
	if clientMsgID == "" {
		return uuid.NewString()
	}
	return uuid.NewSHA1(msgIDSpace, []byte(userID+"/"+chatID+"/"+clientMsgID)).String()
}

// directIDSpace namespaces direct chat ids, which are derived from the
// pair of users so that a pair has one direct chat.
var directIDSpace = uuid.MustParse("0b5e1c7a-3f0e-4e0a-9a55-1d2c3b4a5f60")

// DirectChatID is the id of the direct chat of users a and b, the same
// whichever of them asks.
func DirectChatID(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return uuid.NewSHA1(directIDSpace, []byte(a+"/"+b)).String()
}
