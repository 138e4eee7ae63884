package wire

// Typing notices and read state (channel chat-room).

// Frame types of typing and read state.
const (
	// TypeTyping is a client's "I am typing" and, with a TypingEvent,
	// the notice the other members' devices get.
	TypeTyping = "Typing"
	// TypeStopTyping is a client's "I stopped typing" and its notice.
	TypeStopTyping = "StopTyping"
	// TypeMarkRead is a client's "I have read up to seq" (client -> server).
	TypeMarkRead = "MarkRead"
	// TypeReadMarker tells a member's marker moved (server -> client).
	TypeReadMarker = "ReadMarker"
	// TypeUnread is the read state of every chat of the device's user,
	// sent right after the Welcome (server -> client).
	TypeUnread = "Unread"
)

// CodeSeqOutOfRange refuses a MarkRead past the chat's last message.
const CodeSeqOutOfRange = "seq_out_of_range"

// TypingEvent is the contents of the Typing and StopTyping notices.
type TypingEvent struct {
	Room string `json:"room"`
	Chat string `json:"chat"`
	User string `json:"user"`
	Name string `json:"name"`
}

// MarkRead moves the sender's read marker of a chat forward to Seq.
type MarkRead struct {
	ChatRef
	Seq uint64 `json:"seq"`
}

// ReadMarker tells that User has read Chat up to Seq. LastSeq and Unread
// are User's own state when the marker moved: Unread messages of others
// follow Seq up to LastSeq.
type ReadMarker struct {
	Room    string `json:"room"`
	Chat    string `json:"chat"`
	User    string `json:"user"`
	Seq     uint64 `json:"seq"`
	LastSeq uint64 `json:"lastSeq"`
	Unread  uint64 `json:"unread"`
}

// ChatUnread is one chat's read state for a user: the chat's newest
// sequence, the user's read marker, and the messages of others after it.
type ChatUnread struct {
	Chat    string `json:"chat"`
	Room    string `json:"room"`
	LastSeq uint64 `json:"lastSeq"`
	ReadSeq uint64 `json:"readSeq"`
	Unread  uint64 `json:"unread"`
}

// Unread is the read state of all of a user's chats.
type Unread struct {
	Chats []ChatUnread `json:"chats"`
}

// MemberRead is one member's read marker in a chat (GET .../reads).
type MemberRead struct {
	User string `json:"user"`
	Name string `json:"name"`
	Seq  uint64 `json:"seq"`
}
