package store

import (
	"log/slog"
	"time"
)

// Config tunes the JetStream store. The zero value is a working single-node
// configuration; every field documents its default, applied by Open.
type Config struct {
	// Replicas of the stream and of every bucket. Default 1; use 3 in a
	// cluster so a node loss does not lose messages.
	Replicas int

	// Streams is the number of message streams chats are spread over
	// (by Partition of the chat id). Default 1: the one stream
	// CHAT_MSGS. It is recorded at the cluster's first start and must
	// be the same on every later start (ErrStreamsChanged); at most
	// MaxStreams.
	Streams int

	// Duplicates is the stream's dedup window: a publish repeated with the
	// same message id within it is stored once and acked with the original
	// sequence. Default 5m. It is clipped to MaxAge when MaxAge is shorter
	// (the server rejects a window longer than MaxAge).
	Duplicates time.Duration

	// MaxAge is how long messages are kept. Default 0: forever.
	MaxAge time.Duration

	// MaxMsgsPerSubject caps the messages kept per chat. Default 0:
	// unlimited.
	MaxMsgsPerSubject int64

	// PublishTimeout bounds one publish attempt (one request/PubAck round
	// trip). Default 5s.
	PublishTimeout time.Duration

	// PublishRetries is how many times a publish is retried after a
	// timeout or a missing stream response (a leader election takes
	// seconds). Default 0: retry with the same message id until ctx is
	// done. Retries back off from 100ms to 1s.
	PublishRetries int

	// RequestTimeout bounds one direct get exchange (a single get or one
	// batch) and the KV calls that carry no deadline of their own.
	// Default 5s.
	RequestTimeout time.Duration

	// Domain is the JetStream domain that holds the state; empty: the
	// JetStream of the server the connection reaches. A site's node,
	// whose NATS server is a leaf of the hub, names the hub's domain.
	Domain string

	// CounterWindow is how long a login or registration counter of the
	// AUTH_LIMITS stream lives after it was last raised (see Incr).
	// Default 10m.
	CounterWindow time.Duration

	// Logger receives warnings the caller cannot act on (cleanup failures).
	// Default slog.Default().
	Logger *slog.Logger
}

// Defaults applied by Open to zero Config fields.
const (
	DefaultReplicas       = 1
	DefaultDuplicates     = 5 * time.Minute
	DefaultPublishTimeout = 5 * time.Second
	DefaultRequestTimeout = 5 * time.Second
	DefaultCounterWindow  = 10 * time.Minute
)

// Retry backoff bounds of PublishMessage.
const (
	minRetryWait = 100 * time.Millisecond
	maxRetryWait = time.Second
)

// withDefaults returns cfg with zero fields set to their defaults.
func (cfg Config) withDefaults() Config {
	if cfg.Replicas <= 0 {
		cfg.Replicas = DefaultReplicas
	}
	if cfg.Streams <= 0 {
		cfg.Streams = 1
	}
	if cfg.Duplicates <= 0 {
		cfg.Duplicates = DefaultDuplicates
	}
	if cfg.MaxAge > 0 && cfg.Duplicates > cfg.MaxAge {
		cfg.Duplicates = cfg.MaxAge
	}
	if cfg.PublishTimeout <= 0 {
		cfg.PublishTimeout = DefaultPublishTimeout
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.CounterWindow <= 0 {
		cfg.CounterWindow = DefaultCounterWindow
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg
}
