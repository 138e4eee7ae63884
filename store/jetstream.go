package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natterchat/natter/subjects"
)

// JetStream is the Store on NATS JetStream: chat messages in the CHAT_MSGS
// stream (or in K streams, Config.Streams), everything else in KV buckets.
// Reads that list (messages, members, devices) use direct gets, never
// consumers, because every consumer create is a Raft proposal on the meta
// leader.
type JetStream struct {
	// Static after Open.
	cfg     Config
	nc      *nats.Conn
	js      jetstream.JetStream
	api     string   // JetStream API prefix: "$JS.API." or, in a domain, "$JS.<domain>.API."
	streams []string // the message streams, by partition (msgStream)
	// single is whether every message stream has one replica: its
	// position can then be read with a direct get (see readPosition).
	single  bool
	reads   jetstream.KeyValue
	users   jetstream.KeyValue
	names   jetstream.KeyValue
	chats   jetstream.KeyValue
	rooms   jetstream.KeyValue
	members jetstream.KeyValue
	states  jetstream.KeyValue

	// The stream position request in flight, shared by every caller
	// that comes while it is (see Position).
	posMu     sync.Mutex
	posFlight *positionFlight // in the air
	posNext   *positionFlight // leaves when posFlight lands
}

var _ Store = (*JetStream)(nil)

// tombstoneTTL is how long delete markers stay in a bucket. Keys are removed
// with a purge marker that expires, so churn (guests, devices, leaving
// members) does not leave markers behind that every listing must skip.
const tombstoneTTL = time.Minute

// Open creates or updates the message streams and the KV buckets with cfg
// and returns a store on them. The number of message streams is recorded
// at the cluster's first start; a later Open with another number fails
// with ErrStreamsChanged before it creates anything. With more than one
// stream and replicas, it then spreads the streams' leaders over the
// servers (spreadLeaders). It is idempotent and runs at every start, so
// a changed Config (MaxAge, Replicas, ...) is applied to existing state —
// except that replicas are never lowered: a node started with a smaller
// count (one route, no --replicas) must not quietly take the cluster's
// durability down; lowering them is an operator's explicit stream edit.
func Open(ctx context.Context, nc *nats.Conn, cfg Config) (*JetStream, error) {
	cfg = cfg.withDefaults()
	if cfg.Streams > MaxStreams {
		return nil, fmt.Errorf("store: open: %w: %d message streams, at most %d", ErrInvalid, cfg.Streams, MaxStreams)
	}
	js, err := NewJetStream(nc, cfg.Domain)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	s := &JetStream{cfg: cfg, nc: nc, js: js, api: "$JS.API."}
	if cfg.Domain != "" {
		s.api = "$JS." + cfg.Domain + ".API."
	}
	for p := range cfg.Streams {
		s.streams = append(s.streams, subjects.MessageStream(p, cfg.Streams))
	}
	var cluster jetstream.KeyValue
	if err := s.openBucket(ctx, subjects.BucketCluster, &cluster); err != nil {
		return nil, err
	}
	// Retried like the streams below: the bucket just made may have no
	// leader yet (no response from its stream).
	if err := ensure(ctx, func(ctx context.Context) error { return s.recordStreams(ctx, cluster) }); err != nil {
		return nil, err // says what failed: "store: ... stream count ..."
	}
	s.single = true
	msgStreams := len(s.streams)
	for i, sc := range append(s.messageStreamConfigs(), s.counterStreamConfig()) {
		err = ensure(ctx, func(ctx context.Context) error {
			sc.Replicas = s.keepReplicas(ctx, sc.Name)
			if i < msgStreams && sc.Replicas > 1 {
				s.single = false
			}
			_, err := js.CreateOrUpdateStream(ctx, sc)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("store: open: stream %s: %w", sc.Name, err)
		}
	}
	buckets := []struct {
		name string
		kv   *jetstream.KeyValue
	}{
		{subjects.BucketReads, &s.reads},
		{subjects.BucketUsers, &s.users},
		{subjects.BucketUserNames, &s.names},
		{subjects.BucketChats, &s.chats},
		{subjects.BucketRoomNames, &s.rooms},
		{subjects.BucketMembers, &s.members},
		{subjects.BucketMessageStates, &s.states},
	}
	for _, b := range buckets {
		if err := s.openBucket(ctx, b.name, b.kv); err != nil {
			return nil, err
		}
	}
	s.spreadLeaders(ctx)
	return s, nil
}

// openBucket creates or updates bucket name and sets *kv to it.
func (s *JetStream) openBucket(ctx context.Context, name string, kv *jetstream.KeyValue) error {
	bc := s.bucketConfig(name)
	if name == subjects.BucketMessageStates {
		// A state is written after its message, so it expires
		// after it too, and does not outlive it by more than MaxAge.
		bc.TTL = s.cfg.MaxAge
	}
	err := ensure(ctx, func(ctx context.Context) error {
		bc.Replicas = s.keepReplicas(ctx, "KV_"+name)
		var err error
		*kv, err = s.js.CreateOrUpdateKeyValue(ctx, bc)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: open: bucket %s: %w", name, err)
	}
	return nil
}

// ensureTry bounds one create-or-update attempt in ensure.
const ensureTry = 2 * time.Second

// ensure runs one create-or-update until it succeeds or ctx ends, each
// try bounded by ensureTry, retries after a short random pause. In a fresh
// cluster every node bootstraps at once, and of several concurrent
// creates of the same stream only one is answered (the others wait
// forever, seen with nats-server 2.15): a bounded try that then finds
// the stream made by another node settles at once. The cluster's own
// transient refusals while it forms are retried too (clusterForming);
// any other error is returned at once. When ctx ends between tries, the
// last try's error says why it did not succeed.
func ensure(ctx context.Context, f func(context.Context) error) error {
	for {
		tctx, cancel := context.WithTimeout(ctx, ensureTry)
		err := f(tctx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return lastTry(ctx.Err(), err)
		}
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) &&
			!errors.Is(err, jetstream.ErrNoStreamResponse) && !clusterForming(err) {
			return err
		}
		if serr := sleepCtx(ctx, time.Duration(rand.Int64N(int64(200*time.Millisecond)))); serr != nil {
			return lastTry(serr, err)
		}
	}
}

// lastTry is the error of a retry loop that ctx ended (ctxErr): ctxErr,
// and the last try's err when that says more.
func lastTry(ctxErr, err error) error {
	if errors.Is(err, ctxErr) {
		return err
	}
	return fmt.Errorf("%w; the last try: %w", ctxErr, err)
}

// clusterForming reports whether err is a JetStream cluster's refusal
// that passes once its servers have all been seen and its meta group has
// settled: "JetStream system temporarily unavailable" (a leader being
// elected), and "no suitable peers for placement, peer offline" (a peer
// not heard from yet, seen when three nodes of a fresh cluster open
// their stores at once and move stream leaders meanwhile). A replica
// count larger than the cluster is refused without "peer offline" and is
// not retried.
func clusterForming(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.ErrorCode {
	case jsClusterNotAvailable:
		return true
	case jsClusterNoPeers:
		return strings.Contains(apiErr.Description, "peer offline")
	}
	return false
}

// keepReplicas returns the replica count for an existing or new stream:
// the configured one, or the stream's current one when that is higher.
func (s *JetStream) keepReplicas(ctx context.Context, stream string) int {
	st, err := s.js.Stream(ctx, stream)
	if err != nil {
		return s.cfg.Replicas
	}
	if have := st.CachedInfo().Config.Replicas; have > s.cfg.Replicas {
		s.cfg.Logger.Warn("keeping the stream's higher replica count", "stream", stream, "replicas", have, "configured", s.cfg.Replicas)
		return have
	}
	return s.cfg.Replicas
}

// bucketConfig is the configuration shared by every bucket: one value per
// key (History 1, which also makes a forward scan of a prefix a listing of
// current values) and expiring delete markers (tombstoneTTL).
func (s *JetStream) bucketConfig(name string) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:         name,
		History:        1,
		Storage:        jetstream.FileStorage,
		Replicas:       s.cfg.Replicas,
		LimitMarkerTTL: tombstoneTTL,
	}
}

// JetStream returns the JetStream context the store uses, for callers that
// need stream information (monitoring, consistency checks).
func (s *JetStream) JetStream() jetstream.JetStream { return s.js }

// requestContext bounds one request by cfg.RequestTimeout unless ctx has an
// earlier deadline.
func (s *JetStream) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.RequestTimeout)
}

// NewJetStream returns a JetStream client for domain (empty: the
// JetStream of the server nc is connected to).
func NewJetStream(nc *nats.Conn, domain string) (jetstream.JetStream, error) {
	if domain == "" {
		return jetstream.New(nc)
	}
	return jetstream.NewWithDomain(nc, domain)
}
