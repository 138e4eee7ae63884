package store

import (
	"context"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Internals for TestDirectGetFacts. It runs in package store_test because
// storetest, which starts its server, imports store.

// DirectReq is a direct get request.
type DirectReq = directReq

// ErrTooManyResults is the server's 413 answer to a multi_last request.
var ErrTooManyResults = errTooManyResults

// DirectAnswer is what one direct get answered: the sequences of its
// messages and what its end of batch reported.
type DirectAnswer struct {
	Seqs    []uint64
	Pending uint64
	LastSeq uint64
	UpToSeq uint64
	Found   bool
}

// DirectGet sends req to stream and collects the whole answer.
func (s *JetStream) DirectGet(ctx context.Context, stream string, req DirectReq) (DirectAnswer, error) {
	var a DirectAnswer
	end, found, err := s.directGet(ctx, stream, req, func(m *nats.Msg) bool {
		a.Seqs = append(a.Seqs, headerUint(m, jetstream.SequenceHeader))
		return true
	})
	a.Pending, a.LastSeq, a.UpToSeq, a.Found = end.pending, end.lastSeq, end.upToSeq, found
	return a, err
}

// StoreMethods is the list of method names Memory.Fail accepts.
var StoreMethods = storeMethods

// WrapRooms replaces the room name bucket's handle, so that a test can
// make its answers get lost.
func (s *JetStream) WrapRooms(wrap func(jetstream.KeyValue) jetstream.KeyValue) {
	s.rooms = wrap(s.rooms)
}
