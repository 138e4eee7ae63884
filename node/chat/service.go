// Package chat is natter's chat operations, shared by the WebSocket
// protocol (package session) and the HTTP API (package httpapi), so that
// both enforce the same rules and report the same coded errors:
// resolving chats by id or room name, membership checks from the node's
// cache, joins and leaves and their announcement to the cluster (and
// applying other nodes' announcements), sends, history and member lists.
// It also maps stored messages to client frames, and any error to the
// client's coded error.
//
// It is not the protocol's frame handling (session), not HTTP (httpapi),
// not delivery (fanout) and not storage (store).
package chat

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/natterchat/natter/node/auth"
	"github.com/natterchat/natter/node/fanout"
	"github.com/natterchat/natter/node/internal/loglimit"
	"github.com/natterchat/natter/node/presence"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/subjects"
)

// Config configures a Service. Store, NC, Hub, Presence, Recent and
// Tokens are required; zero values of the others are the documented defaults.
type Config struct {
	Store    store.Store
	NC       *nats.Conn // user events
	Hub      *fanout.Hub
	Presence *presence.View
	Recent   *fanout.Recent
	// Tokens verifies the tokens Authenticate is given.
	Tokens *auth.Tokens

	// MaxMessageLen is the longest message text in characters. Default 4000.
	MaxMessageLen int
	// MaxRoomsPerUser caps a user's memberships. Default 1000.
	MaxRoomsPerUser int
	// ReceiptsMaxMembers is the largest group (stored members) whose
	// members all get each other's ReadMarker; direct chats always do.
	// Default DefaultReceiptsMaxMembers; negative: direct chats only.
	ReceiptsMaxMembers int
	// RequestTimeout bounds the store work of ending a guest. Default 15s.
	RequestTimeout time.Duration

	Log     *slog.Logger
	Limiter *loglimit.Limiter
}

// Metrics are the chat operations' counters.
type Metrics struct {
	// MessagesAccepted counts messages stored for senders on this node.
	MessagesAccepted atomic.Int64
	// PublishErrors counts sends that failed to be stored.
	PublishErrors atomic.Int64
	// FramesOut counts membership notices queued to a user's own devices.
	FramesOut atomic.Int64
	// PublishAck observes a send's publish to its acknowledgement.
	PublishAck prometheus.Histogram
}

// Service runs chat operations for a node.
type Service struct {
	cfg     Config
	metrics *Metrics
	typing  typingThrottle // throttle.go
	chats   *chatCache
	members *memberCache
	known   knownUsers
	tails   *unreadTails // unread.go
	// toldWaits are the joins and leaves waiting for their device to be
	// told (told.go).
	toldWaits toldWaits
	// guestEnds bounds the guests being ended at once: thousands leave
	// together when a node drains or dies.
	guestEnds chan struct{}
}

// New builds a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.NC == nil || cfg.Hub == nil || cfg.Presence == nil || cfg.Recent == nil || cfg.Tokens == nil {
		return nil, errors.New("chat: Store, NC, Hub, Presence, Recent and Tokens are required")
	}
	if cfg.MaxMessageLen <= 0 {
		cfg.MaxMessageLen = 4000
	}
	if cfg.MaxRoomsPerUser <= 0 {
		cfg.MaxRoomsPerUser = 1000
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 15 * time.Second
	}
	if cfg.ReceiptsMaxMembers == 0 {
		cfg.ReceiptsMaxMembers = DefaultReceiptsMaxMembers
	}
	cfg.Log, cfg.Limiter = loglimit.Defaults(cfg.Log, cfg.Limiter)
	m := &Metrics{PublishAck: prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "natter_publish_ack_seconds", Help: "Time from a send's JetStream publish to its acknowledgement.", Buckets: fanout.LatencyBuckets,
	})}
	return &Service{cfg: cfg, metrics: m, chats: newChatCache(), members: newMemberCache(), tails: newUnreadTails(), guestEnds: make(chan struct{}, 64)}, nil
}

// Metrics returns the service's counters.
func (s *Service) Metrics() *Metrics { return s.metrics }

// Resolve finds the chat a frame or request names: a public room by name
// or any chat by id.
func (s *Service) Resolve(ctx context.Context, ref wire.ChatRef) (store.Chat, error) {
	switch {
	case ref.Chat != "":
		if !subjects.ValidID(ref.Chat) {
			return store.Chat{}, wire.Errorf(wire.CodeInvalidField, "chat must be 1-64 characters of [A-Za-z0-9_-]")
		}
		c, err := s.storedChat(ctx, ref.Chat)
		if errors.Is(err, store.ErrNotFound) {
			return c, wire.Errorf(wire.CodeChatNotFound, "no chat with id %q", ref.Chat)
		}
		return c, err
	case ref.Room != "":
		if err := ValidName("room", ref.Room, MaxRoomNameLen); err != nil {
			return store.Chat{}, err
		}
		c, err := s.publicRoom(ctx, ref.Room)
		if errors.Is(err, store.ErrNotFound) {
			return c, wire.Errorf(wire.CodeChatNotFound, "no room named %q", ref.Room)
		}
		return c, err
	default:
		return store.Chat{}, wire.Errorf(wire.CodeMissingField, "room or chat is required")
	}
}

// IsMember answers from the node's cache when the user has a device
// here, and from the store otherwise (HTTP callers).
func (s *Service) IsMember(ctx context.Context, userID, chatID string) (bool, error) {
	if u := s.cfg.Hub.User(userID); u != nil && u.Loaded() {
		return u.IsMember(chatID), nil
	}
	_, err := s.cfg.Store.Member(ctx, chatID, userID)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrNotMember), errors.Is(err, store.ErrNotFound):
		return false, nil
	default:
		return false, err
	}
}

// RequireMember fails with not_member unless userID is a member of chatID.
func (s *Service) RequireMember(ctx context.Context, userID, chatID string) error {
	ok, err := s.IsMember(ctx, userID, chatID)
	if err != nil {
		return err
	}
	if !ok {
		return wire.Errorf(wire.CodeNotMember, "you are not a member of this chat")
	}
	return nil
}
