package wire

import "time"

// Frames and error codes of edits, deletions, reactions and replies.

// Frame types of the chat-room channel.
const (
	// client -> server
	TypeEditMessage   = "EditMessage"
	TypeDeleteMessage = "DeleteMessage"
	TypeReact         = "React"

	// server -> client
	TypeMessageEdited  = "MessageEdited"
	TypeMessageDeleted = "MessageDeleted"
	TypeReaction       = "Reaction"
)

// Error codes of edits, deletions, reactions and replies.
const (
	// CodeMessageNotFound: the chat has no message with that seq.
	CodeMessageNotFound = "message_not_found"
	// CodeMessageDeleted: the message was deleted.
	CodeMessageDeleted = "message_deleted"
	// CodeNotSender: only the sender may do that (the chat's owner may
	// also delete).
	CodeNotSender = "not_sender"
	// CodeBadEmoji: a reaction must be one emoji.
	CodeBadEmoji = "bad_emoji"
	// CodeTooManyReactions: the message has the most distinct
	// reactions it may have.
	CodeTooManyReactions = "too_many_reactions"
)

// EditMessage replaces the text of the sender's own message Seq.
type EditMessage struct {
	ChatRef
	Seq     uint64 `json:"seq"`
	Message string `json:"message"`
	// ClientMsgID makes a retried edit one edit.
	ClientMsgID string `json:"clientMsgId,omitempty"`
}

// DeleteMessage deletes message Seq (by its sender or the chat's owner).
type DeleteMessage struct {
	ChatRef
	Seq         uint64 `json:"seq"`
	ClientMsgID string `json:"clientMsgId,omitempty"`
}

// React adds (On true or absent) or takes back (On false) the user's
// Emoji on message Seq.
type React struct {
	ChatRef
	Seq         uint64 `json:"seq"`
	Emoji       string `json:"emoji"`
	On          *bool  `json:"on,omitempty"`
	ClientMsgID string `json:"clientMsgId,omitempty"`
}

// MessageEdited tells members that message Seq now reads Message.
// EventSeq is the edit's own place in the chat: a cursor for Resume.
type MessageEdited struct {
	Room     string    `json:"room"`
	Chat     string    `json:"chat"`
	Seq      uint64    `json:"seq"`
	User     string    `json:"user"`
	Name     string    `json:"name"`
	Message  string    `json:"message"`
	EditedAt time.Time `json:"editedAt"`
	EventSeq uint64    `json:"eventSeq"`
}

// MessageDeleted tells members that message Seq was deleted by User.
type MessageDeleted struct {
	Room     string `json:"room"`
	Chat     string `json:"chat"`
	Seq      uint64 `json:"seq"`
	User     string `json:"user"`
	Name     string `json:"name"`
	EventSeq uint64 `json:"eventSeq"`
}

// Reaction tells members that User added (On) or took back Emoji on
// message Seq.
type Reaction struct {
	Room     string `json:"room"`
	Chat     string `json:"chat"`
	Seq      uint64 `json:"seq"`
	User     string `json:"user"`
	Name     string `json:"name"`
	Emoji    string `json:"emoji"`
	On       bool   `json:"on"`
	EventSeq uint64 `json:"eventSeq"`
}

// ReplyRef is the message a NewMessage answers: enough to draw a quote.
// Deleted (history only) means the original is gone; so is its excerpt.
type ReplyRef struct {
	Seq     uint64 `json:"seq"`
	User    string `json:"user"`
	Name    string `json:"name,omitempty"`
	Excerpt string `json:"excerpt"`
	Deleted bool   `json:"deleted,omitempty"`
}
