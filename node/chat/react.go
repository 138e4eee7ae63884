package chat

import (
	"unicode"
	"unicode/utf8"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// ValidEmoji checks a reaction: one emoji, that is valid UTF-8 of at most
// store.MaxEmojiBytes made of symbols (U+1F600, ❤, regional indicator
// flags) and the marks and joiners that build emoji sequences (U+FE0F,
// U+200D, skin tones), with at least one symbol. Letters, digits,
// punctuation and spaces are not reactions.
func ValidEmoji(e string) error {
	if e == "" {
		return wire.Errorf(wire.CodeMissingField, "emoji is required")
	}
	if len(e) > store.MaxEmojiBytes || !utf8.ValidString(e) {
		return wire.Errorf(wire.CodeBadEmoji, "a reaction is one emoji of at most %d bytes", store.MaxEmojiBytes)
	}
	symbols := 0
	for _, r := range e {
		switch {
		case unicode.Is(unicode.So, r):
			symbols++
		case unicode.In(r, unicode.Sk, unicode.Mn, unicode.Me) || r == '\u200d':
		default:
			return wire.Errorf(wire.CodeBadEmoji, "%q is not an emoji", e)
		}
	}
	if symbols == 0 {
		return wire.Errorf(wire.CodeBadEmoji, "%q is not an emoji", e)
	}
	return nil
}
