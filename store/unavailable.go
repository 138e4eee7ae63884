package store

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrUnavailable is storage that cannot answer right now: no leader
// during an election, no quorum, nobody answering in time. Retrying later
// may succeed (a send with the same message id is stored once). Callers
// test for it with IsUnavailable, which also knows JetStream's and NATS's
// own errors of that kind.
var ErrUnavailable = errors.New("store: unavailable")

// jsClusterNotAvailable is JetStream's "JetStream system temporarily
// unavailable": a stream or bucket without a leader answers requests that
// need one with it at once.
const jsClusterNotAvailable = 10008

// jsClusterNoPeers is JetStream's "no suitable peers for placement",
// followed by the reasons (", peer offline", ...).
const jsClusterNoPeers = 10005

// IsUnavailable reports whether err means storage could not answer now,
// as opposed to a request it refused or a failure of its own.
func IsUnavailable(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == jsClusterNotAvailable || apiErr.Code == 503) {
		return true
	}
	return errors.Is(err, ErrUnavailable) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders)
}
