package store

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natterchat/natter/subjects"
)

// JetStream is the Store on NATS JetStream: chat messages in the CHAT_MSGS
// stream, everything else in KV buckets. Reads that list (messages, members,
// devices) use direct gets, never consumers, because every consumer create
// is a Raft proposal on the meta leader.
type JetStream struct {
	// Static after Open.
	cfg      Config
	nc       *nats.Conn
	js       jetstream.JetStream
	users    jetstream.KeyValue
	names    jetstream.KeyValue
	chats    jetstream.KeyValue
	rooms    jetstream.KeyValue
	members  jetstream.KeyValue
	presence jetstream.KeyValue
}

var _ Store = (*JetStream)(nil)

// tombstoneTTL is how long delete markers stay in a bucket. Keys are removed
// with a purge marker that expires, so churn (guests, devices, leaving
// members) does not leave markers behind that every listing must skip.
const tombstoneTTL = time.Minute

// Open creates or updates the CHAT_MSGS stream and the KV buckets with cfg
// and returns a store on them. It is idempotent and runs at every start, so
// a changed Config (MaxAge, Replicas, ...) is applied to existing state —
// except that replicas are never lowered: a node started with a smaller
// count (one route, no --replicas) must not quietly take the cluster's
// durability down; lowering them is an operator's explicit stream edit.
func Open(ctx context.Context, nc *nats.Conn, cfg Config) (*JetStream, error) {
	cfg = cfg.withDefaults()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	s := &JetStream{cfg: cfg, nc: nc, js: js}
	sc := s.streamConfig()
	sc.Replicas = s.keepReplicas(ctx, sc.Name)
	if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
		return nil, fmt.Errorf("store: open: stream %s: %w", subjects.StreamMessages, err)
	}
	buckets := []struct {
		name string
		kv   *jetstream.KeyValue
	}{
		{subjects.BucketUsers, &s.users},
		{subjects.BucketUserNames, &s.names},
		{subjects.BucketChats, &s.chats},
		{subjects.BucketRoomNames, &s.rooms},
		{subjects.BucketMembers, &s.members},
		{subjects.BucketPresence, &s.presence},
	}
	for _, b := range buckets {
		bc := s.bucketConfig(b.name)
		bc.Replicas = s.keepReplicas(ctx, "KV_"+b.name)
		kv, err := js.CreateOrUpdateKeyValue(ctx, bc)
		if err != nil {
			return nil, fmt.Errorf("store: open: bucket %s: %w", b.name, err)
		}
		*b.kv = kv
	}
	return s, nil
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

// streamConfig is the CHAT_MSGS configuration (DESIGN.md §4).
func (s *JetStream) streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:              subjects.StreamMessages,
		Subjects:          []string{subjects.ChatMsgWildcard},
		Storage:           jetstream.FileStorage,
		Replicas:          s.cfg.Replicas,
		AllowDirect:       true,
		Duplicates:        s.cfg.Duplicates,
		MaxAge:            s.cfg.MaxAge,
		MaxMsgsPerSubject: s.cfg.MaxMsgsPerSubject,
		RePublish: &jetstream.RePublish{
			Source:      subjects.ChatMsgWildcard,
			Destination: subjects.RePublishDestination,
		},
	}
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
