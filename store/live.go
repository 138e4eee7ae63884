package store

import (
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natterchat/natter/subjects"
)

// DecodeLive decodes the RePublish copy of a stored message that CHAT_MSGS
// sends to subjects.LiveChat(chatID) once the message is stored. prevSeq is
// its Nats-Last-Sequence header: the sequence of the previous message of
// the SAME chat (0 for a chat's first message), read by the stream leader
// from the exact source subject just before storing. The node compares it
// with the last sequence it delivered for the chat; a difference is a gap
// to fetch with Messages(After) before delivering m. Verified with
// interleaved chats by storetest.RunLiveConformance, for JetStream and for
// Memory's copies.
func DecodeLive(msg *nats.Msg) (m Message, prevSeq uint64, err error) {
	m, err = decodeMessage(msg)
	if err != nil {
		return Message{}, 0, fmt.Errorf("store: decode live %s: %w", msg.Subject, err)
	}
	if live, ok := subjects.ParseLiveChat(msg.Subject); !ok || live != m.ChatID {
		return Message{}, 0, fmt.Errorf("store: decode live %s: %w: stored on chat %s", msg.Subject, ErrInvalid, m.ChatID)
	}
	if msg.Header.Get(jetstream.LastSequenceHeader) == "" {
		return Message{}, 0, fmt.Errorf("store: decode live %s: %w: no %s header", msg.Subject, ErrInvalid, jetstream.LastSequenceHeader)
	}
	return m, headerUint(msg, jetstream.LastSequenceHeader), nil
}
