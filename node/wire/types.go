package wire

import "time"

// Frame types by channel.
const (
	// session
	TypeWelcome   = "Welcome"
	TypeError     = "Error"
	TypeRefresh   = "Refresh"   // client -> server
	TypeRefreshed = "Refreshed" // server -> client

	// chat-room, client -> server
	TypeJoinRoom    = "JoinRoom"
	TypeLeaveRoom   = "LeaveRoom"
	TypeSendMessage = "SendMessage"
	TypeHistory     = "History"
	TypeResume      = "Resume"
	TypeGetMembers  = "GetMembers"

	// chat-room, server -> client
	TypeMemberList      = "MemberList"
	TypeJoinedRoom      = "JoinedRoom"
	TypeLeftRoom        = "LeftRoom"
	TypeNewMessage      = "NewMessage"
	TypeMessageAccepted = "MessageAccepted"
	TypeHistoryPage     = "HistoryPage"
	TypeResumed         = "Resumed"

	// chat
	TypeSubmitMessage      = "SubmitMessage"
	TypeNewMessageReceived = "NewMessageReceived"

	// ping
	TypePing = "Ping"

	// presence
	TypeOnline  = "Online"
	TypeOffline = "Offline"
)

// ChatRef names a chat: a public room by name, or any chat by id.
type ChatRef struct {
	Room string `json:"room,omitempty"`
	Chat string `json:"chat,omitempty"`
}

// SendMessage is a client's chat message.
type SendMessage struct {
	ChatRef
	Message     string `json:"message"`
	ClientMsgID string `json:"clientMsgId,omitempty"`
	// Echo false keeps the message from the sending device; nil means true.
	Echo *bool `json:"echo,omitempty"`
	// ReplyTo is the seq of the message this one answers.
	ReplyTo uint64 `json:"replyTo,omitempty"`
}

// History asks for a page of a chat's messages.
type History struct {
	ChatRef
	Before uint64 `json:"before,omitempty"`
	After  uint64 `json:"after,omitempty"`
	Limit  int    `json:"limit,omitempty"`
}

// Resume asks for every message after AfterSeq, then live ones.
type Resume struct {
	ChatRef
	AfterSeq uint64 `json:"afterSeq"`
}

// Welcome is the first frame of every connection.
type Welcome struct {
	User   string `json:"user"`
	Name   string `json:"name"`
	Device string `json:"device"`
	Node   string `json:"node"`
	// ExpiresAt is when the connection's token expires: the server closes
	// it then (4003) unless a Refresh moved it. Absent for a guest.
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

// Refresh gives a connection a newer token of its user, so that it
// outlives the token it connected with.
type Refresh struct {
	Token string `json:"token"`
}

// Refreshed answers a Refresh: the connection's new expiry.
type Refreshed struct {
	ExpiresAt time.Time `json:"expiresAt"`
}

// MemberInfo is one member in a MemberList.
type MemberInfo struct {
	User   string `json:"user"`
	Name   string `json:"name"`
	Role   string `json:"role"`
	Online bool   `json:"online"`
}

// MemberList lists a chat's members. Users is the seed's field.
type MemberList struct {
	Room    string       `json:"room"`
	Chat    string       `json:"chat"`
	Users   []string     `json:"users"`
	Online  []string     `json:"online"`
	Members []MemberInfo `json:"members"`
	// Run holds more members, online, encoded ahead: the frame lists
	// them after Users, Online and Members (see MemberRun). A decoded
	// list has every member in the slices.
	Run MemberRun `json:"-"`
}

// MemberEvent is the contents of JoinedRoom and LeftRoom.
type MemberEvent struct {
	Room string `json:"room"`
	Chat string `json:"chat"`
	User string `json:"user"`
	Name string `json:"name"`
}

// NewMessage is a delivered chat message; the seed's fields come first.
type NewMessage struct {
	Room     string    `json:"room"`
	User     string    `json:"user"`
	Message  string    `json:"message"`
	Chat     string    `json:"chat"`
	Name     string    `json:"name"`
	Seq      uint64    `json:"seq"`
	ID       string    `json:"id"`
	PostedAt time.Time `json:"postedAt"`
	Device   string    `json:"device,omitempty"`
	// ReplyTo is the message this one answers (edits.go).
	ReplyTo *ReplyRef `json:"replyTo,omitempty"`
	// History only: what later entries did to the message. A deleted
	// message keeps only its seq (and room, chat).
	EditedAt  *time.Time          `json:"editedAt,omitempty"`
	Deleted   bool                `json:"deleted,omitempty"`
	Reactions map[string][]string `json:"reactions,omitempty"` // emoji -> user ids
}

// MessageAccepted acknowledges a stored SendMessage to its device.
type MessageAccepted struct {
	Room        string `json:"room"`
	Chat        string `json:"chat"`
	ClientMsgID string `json:"clientMsgId,omitempty"`
	ID          string `json:"id"`
	Seq         uint64 `json:"seq"`
	Duplicate   bool   `json:"duplicate"`
}

// HistoryPage answers History.
type HistoryPage struct {
	Room     string       `json:"room"`
	Chat     string       `json:"chat"`
	Messages []NewMessage `json:"messages"`
}

// Resumed ends a Resume's replay.
type Resumed struct {
	Room    string `json:"room"`
	Chat    string `json:"chat"`
	LastSeq uint64 `json:"lastSeq"`
	More    bool   `json:"more"`
}

// NewMessageReceived is the seed's global chat message.
type NewMessageReceived struct {
	Content  string    `json:"content"`
	PostedAt time.Time `json:"postedAt"`
	User     string    `json:"user,omitempty"`
}

// PresenceEvent is the contents of Online and Offline.
type PresenceEvent struct {
	User string `json:"user"`
	Name string `json:"name"`
}
