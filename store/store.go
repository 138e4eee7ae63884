// Package store keeps natter's durable state on JetStream: users and their
// credentials, chats, memberships and every chat message.
//
// Store is the contract the node relies on; JetStream implements it on one
// message stream (CHAT_MSGS), or K of them that chats are spread over by
// Partition, and a few KV buckets, all named by package subjects and
// bootstrapped idempotently by Open. Production nodes use JetStream.
//
// Memory implements the same contract in process memory, for tests of the
// node's session and fan-out logic that should not need JetStream: it can
// send the same live copies as the stream's RePublish over a core NATS
// connection, and it has switches to make methods fail and to lose live
// copies. storetest.RunConformance runs one set of behaviour cases against
// both, which is what keeps them alike.
//
// The package does not know about WebSockets, tokens or the wire protocol.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors returned by Store methods; callers test them with errors.Is.
var (
	ErrNotFound  = errors.New("store: not found")
	ErrNameTaken = errors.New("store: name already taken")
	ErrNotMember = errors.New("store: not a member")
	ErrInvalid   = errors.New("store: invalid argument")
	ErrConflict  = errors.New("store: concurrent update")
)

// Kind is the kind of a chat.
type Kind string

// Chat kinds.
const (
	// Public is a room anyone may join; it is found by its name.
	Public Kind = "public"
	// Private is a group whose members are added by its members.
	Private Kind = "private"
	// Direct is a 1:1 chat between exactly two users.
	Direct Kind = "direct"
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k == Public || k == Private || k == Direct }

// Member roles.
const (
	RoleOwner  = "owner"
	RoleMember = "member"
)

// User is an account. (Guests are not users of the store: they live as
// long as their connection, in the node.)
type User struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	PasswordHash []byte   `json:"passwordHash,omitempty"`
	Roles        []string `json:"roles,omitempty"`
	// TokenVersion is the version of the user's tokens that are valid:
	// raising it revokes every token issued before (a password change,
	// "log out everywhere").
	TokenVersion uint32    `json:"tokenVersion,omitempty"`
	CreatedAt    time.Time `json:"createdAt"`
}

// Chat is a public room, a private group or a direct chat.
type Chat struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Kind      Kind      `json:"kind"`
	CreatedBy string    `json:"createdBy"`
	CreatedAt time.Time `json:"createdAt"`
}

// Member is one user's membership of one chat.
type Member struct {
	ChatID   string    `json:"chat"`
	UserID   string    `json:"user"`
	Name     string    `json:"name,omitempty"` // the user's name, so member lists need no user lookups
	Role     string    `json:"role"`
	JoinedAt time.Time `json:"joinedAt"`
	// Since is the chat's last sequence when the membership began: the
	// member receives what follows it.
	Since uint64 `json:"since,omitempty"`
}

// Message is one stored chat message. Seq is the sequence of its chat's
// message stream (CHAT_MSGS, or the chat's Partition of K): strictly
// increasing within a chat (and across the chats of one stream), gaps
// between one chat's messages are other chats' messages. Sequences of
// chats in different streams are not comparable.
type Message struct {
	ChatID   string    `json:"-"`
	Seq      uint64    `json:"-"`
	ID       string    `json:"id"`
	UserID   string    `json:"user"`
	UserName string    `json:"name,omitempty"` // the sender's name when sent, so readers need no user lookup
	DeviceID string    `json:"device,omitempty"`
	Text     string    `json:"message"`
	PostedAt time.Time `json:"postedAt"`

	// An entry that changes an earlier message (see edits.go) has a Kind
	// and names that message's Seq as Target; a message has neither.
	Kind   EntryKind `json:"kind,omitempty"`
	Target uint64    `json:"target,omitempty"`
	Emoji  string    `json:"emoji,omitempty"` // KindReact: the reaction
	On     bool      `json:"on,omitempty"`    // KindReact: added, not taken back
	// ReplyTo is the message this one answers, with what a client needs
	// to draw the quote.
	ReplyTo *Reply `json:"replyTo,omitempty"`
}

// Page selects messages of one chat. At most one of Before and After is
// set; with neither (and not Forward), the newest Limit messages are
// returned. Results are always in ascending Seq order.
type Page struct {
	Before uint64 // messages with Seq < Before
	After  uint64 // messages with Seq > After
	// Forward reads forward from After even when After is 0, that is
	// from the chat's first message: callers that mean "every message
	// after this one" set it, because After 0 alone asks for the newest.
	Forward bool
	Limit   int // 1..MaxPageLimit; 0 means DefaultPageLimit
}

// Page limits.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 1000
)

// Store is natter's durable state. All methods are safe for concurrent use
// and honour ctx for cancellation and deadlines.
type Store interface {
	// Reads are the members' read markers and unread counts (reads.go).
	Reads

	// CreateUser stores a new user; names are unique case-insensitively
	// (ErrNameTaken). u.ID must be a valid subject token.
	CreateUser(ctx context.Context, u User) error
	// User returns a user by id (ErrNotFound).
	User(ctx context.Context, id string) (User, error)
	// UserByName returns a user by name, case-insensitively (ErrNotFound).
	UserByName(ctx context.Context, name string) (User, error)
	// UpdateUser changes the user's record with update, applied to its
	// current value and stored only if no other writer changed it since
	// (update may therefore run more than once); it returns the stored
	// record. The id and name cannot change (ErrInvalid); an error of
	// update is returned as it is, and nothing is stored.
	UpdateUser(ctx context.Context, id string, update func(u *User) error) (User, error)
	// CreateChat stores a new chat with its members (their ChatID is set
	// from c, an empty Role means member, an empty JoinedAt now); the
	// creator becomes owner and is added if absent. Public room names are
	// unique (ErrNameTaken).
	CreateChat(ctx context.Context, c Chat, members []Member) error
	// Chat returns a chat by id (ErrNotFound).
	Chat(ctx context.Context, id string) (Chat, error)
	// PublicRoom returns the public room with this exact name (ErrNotFound).
	PublicRoom(ctx context.Context, name string) (Chat, error)
	// EnsurePublicRoom returns the public room with this name, creating it
	// (CreatedBy creator) if it does not exist; concurrent callers on any
	// node get the same room. created reports whether this call made it.
	// It adds no membership: joining is the caller's AddMember.
	EnsurePublicRoom(ctx context.Context, name, creator string) (c Chat, created bool, err error)

	// AddMember stores membership m (an empty Role means member, an empty
	// JoinedAt now); added is false if the user already was a member (the
	// old membership is kept).
	AddMember(ctx context.Context, m Member) (added bool, err error)
	// RemoveMember ends a membership; removed is false if there was none.
	RemoveMember(ctx context.Context, chatID, userID string) (removed bool, err error)
	// Member returns one membership (ErrNotMember).
	Member(ctx context.Context, chatID, userID string) (Member, error)
	// Members lists a chat's members, without consumers (direct gets).
	Members(ctx context.Context, chatID string) ([]Member, error)
	// UserChats lists the memberships of a user, without consumers.
	UserChats(ctx context.Context, userID string) ([]Member, error)

	// PublishMessage stores m on its chat's subject with m.ID as the
	// dedup id and returns its sequence. It retries on timeouts and
	// missing stream responses with the same id, so a retried or
	// repeated publish of the same id (within the dedup window) yields
	// one stored message and the same sequence; duplicate reports that.
	PublishMessage(ctx context.Context, m Message) (seq uint64, duplicate bool, err error)
	// Messages returns a page of one chat's messages in ascending order,
	// read with batched direct gets (no consumers).
	Messages(ctx context.Context, chatID string, p Page) ([]Message, error)
	// LastSeq returns the sequence of the chat's newest message, 0 if none.
	LastSeq(ctx context.Context, chatID string) (uint64, error)
	// Position returns every message stream's last sequence, read from
	// the stream leaders: every message of a chat stored later has a
	// higher sequence than the position's Of(chat).
	Position(ctx context.Context) (Position, error)

	// Message returns the chat's entry at seq (ErrNotFound if there is
	// none, it was erased, or seq belongs to another chat).
	Message(ctx context.Context, chatID string, seq uint64) (Message, error)
	// EraseMessages removes the chat's entries at seqs from storage,
	// overwriting them; seqs already gone are skipped.
	EraseMessages(ctx context.Context, chatID string, seqs []uint64) error
	// UpdateMessageState changes the state of the chat's message at seq
	// with update, applied to its current value (the zero state if none)
	// and stored only if no other writer changed it since (update may
	// run more than once). It returns the stored state. A state that
	// becomes Deleted is also listed by DeletedMessages.
	UpdateMessageState(ctx context.Context, chatID string, seq uint64, update func(*MessageState) error) (MessageState, error)
	// MessageStates returns the states of those of the chat's messages at
	// seqs (at most MaxPageLimit) that have one.
	MessageStates(ctx context.Context, chatID string, seqs []uint64) (map[uint64]MessageState, error)
	// DeletedMessages lists the sequences of the chat's deleted messages,
	// ascending.
	DeletedMessages(ctx context.Context, chatID string) ([]uint64, error)
}
