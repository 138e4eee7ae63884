package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/natterchat/natter/subjects"
)

// ErrStreamsChanged is returned by Open when Config.Streams differs from
// the number of message streams the cluster was created with: chats are
// spread over the streams by a hash of their id modulo that number, so a
// node with another one would look for every chat in the wrong stream.
var ErrStreamsChanged = errors.New("store: message stream count differs from the cluster's")

// streamsKey is the BucketCluster key that records the cluster's number of
// message streams.
const streamsKey = "streams"

// msgStream returns the stream that holds chatID's messages and the
// subject they are published to there.
func (s *JetStream) msgStream(chatID string) (stream, subject string) {
	p := Partition(chatID, len(s.streams))
	return s.streams[p], subjects.ChatMsgIn(p, len(s.streams), chatID)
}

// recordStreams records the configured number of message streams in the
// cluster bucket when none is recorded yet, and otherwise checks that it
// is the recorded one (ErrStreamsChanged). A cluster from before the
// record has the one stream CHAT_MSGS: it is recorded as 1, and a node
// that asks for more is refused rather than hide that stream's history.
func (s *JetStream) recordStreams(ctx context.Context, kv jetstream.KeyValue) error {
	k := s.cfg.Streams
	for range 3 {
		b, _, err := s.kvGet(ctx, kv, streamsKey)
		if err == nil {
			have, perr := strconv.Atoi(string(b))
			if perr != nil {
				return fmt.Errorf("store: recorded message stream count %q: %w", b, perr)
			}
			if have != k {
				return fmt.Errorf("%w: the cluster has %d (recorded at its first start), this node asks for %d; start it with --streams %d or see docs/cluster.md on changing it", ErrStreamsChanged, have, k, have)
			}
			return nil
		}
		if !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("store: read message stream count: %w", err)
		}
		if k != 1 {
			if _, err := s.js.Stream(ctx, subjects.StreamMessages); err == nil {
				return fmt.Errorf("%w: the cluster has the one stream %s from before the count was recorded, this node asks for %d; start it with --streams 1 or see docs/cluster.md on changing it", ErrStreamsChanged, subjects.StreamMessages, k)
			} else if !errors.Is(err, jetstream.ErrStreamNotFound) {
				return fmt.Errorf("store: look for %s: %w", subjects.StreamMessages, err)
			}
		}
		created, err := s.create(ctx, kv, streamsKey, []byte(strconv.Itoa(k)))
		if err != nil {
			return fmt.Errorf("store: record message stream count: %w", err)
		}
		if created {
			return nil
		}
		// Another node recorded it meanwhile: check against that.
	}
	return fmt.Errorf("store: record message stream count: the record kept changing")
}

// messageStreamConfigs returns the configuration of every message stream,
// by partition (docs/cluster.md).
func (s *JetStream) messageStreamConfigs() []jetstream.StreamConfig {
	k := s.cfg.Streams
	out := make([]jetstream.StreamConfig, k)
	for p := range k {
		filter := subjects.ChatMsgFilter(p, k)
		out[p] = jetstream.StreamConfig{
			Name:              subjects.MessageStream(p, k),
			Subjects:          []string{filter},
			Storage:           jetstream.FileStorage,
			Replicas:          s.cfg.Replicas,
			AllowDirect:       true,
			Duplicates:        s.cfg.Duplicates,
			MaxAge:            s.cfg.MaxAge,
			MaxMsgsPerSubject: s.cfg.MaxMsgsPerSubject,
			RePublish: &jetstream.RePublish{
				Source:      filter,
				Destination: subjects.RePublishDestination,
			},
		}
	}
	return out
}

// stepdownRequest is a stream leader stepdown naming the server that
// should lead next.
type stepdownRequest struct {
	Placement struct {
		Preferred string `json:"preferred"`
	} `json:"placement"`
}

// stepdownResponse is the answer to a stepdownRequest.
type stepdownResponse struct {
	Success bool `json:"success"`
	Error   *struct {
		Code        int    `json:"code"`
		ErrCode     int    `json:"err_code"`
		Description string `json:"description"`
	} `json:"error"`
}

// spreadLeaders asks each message stream whose leader is not its
// preferred server to step down in favour of it, so that with K streams
// on K or more servers every stream has a leader of its own and the sends
// of the cluster are not all ordered by one server. The preferred server
// of stream p is the p-th (cyclically) of the sorted servers of all the
// streams that holds a replica of p; every node computes the same, so
// nodes starting together agree. It is best effort: a stepdown that fails
// only leaves two streams on one leader, which is logged. Streams of one
// replica cannot move their leader this way and are left where JetStream
// placed them.
func (s *JetStream) spreadLeaders(ctx context.Context) {
	if len(s.streams) < 2 || s.cfg.Replicas < 2 {
		return
	}
	infos := make([]*jetstream.StreamInfo, len(s.streams))
	var servers []string
	for p, name := range s.streams {
		// Answered by the stream's leader: none while one is elected.
		rctx, cancel := s.requestContext(ctx)
		st, err := s.js.Stream(rctx, name)
		cancel()
		if err != nil || st.CachedInfo().Cluster == nil {
			s.cfg.Logger.Warn("store: place stream leaders: stream info", "stream", name, "err", err)
			return
		}
		infos[p] = st.CachedInfo()
		for _, peer := range peers(infos[p].Cluster) {
			if !slices.Contains(servers, peer) {
				servers = append(servers, peer)
			}
		}
	}
	slices.Sort(servers)
	var wg sync.WaitGroup
	for p, info := range infos {
		own := peers(info.Cluster)
		var want string
		for i := range servers {
			if c := servers[(p+i)%len(servers)]; slices.Contains(own, c) {
				want = c
				break
			}
		}
		if want == "" || want == info.Cluster.Leader {
			continue
		}
		wg.Go(func() {
			if err := s.stepdown(ctx, info.Config.Name, want); err != nil {
				s.cfg.Logger.Warn("store: place stream leader", "stream", info.Config.Name, "leader", info.Cluster.Leader, "preferred", want, "err", err)
				return
			}
			s.cfg.Logger.Info("store: moved stream leader", "stream", info.Config.Name, "from", info.Cluster.Leader, "to", want)
		})
	}
	wg.Wait()
}

// peers lists the servers holding a replica of a stream, leader included.
func peers(c *jetstream.ClusterInfo) []string {
	out := make([]string, 0, 1+len(c.Replicas))
	if c.Leader != "" {
		out = append(out, c.Leader)
	}
	for _, r := range c.Replicas {
		out = append(out, r.Name)
	}
	return out
}

// stepdown asks stream's leader to step down in favour of preferred.
func (s *JetStream) stepdown(ctx context.Context, stream, preferred string) error {
	var req stepdownRequest
	req.Placement.Preferred = preferred
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode stepdown: %w", err)
	}
	rctx, cancel := s.requestContext(ctx)
	defer cancel()
	reply, err := s.nc.RequestWithContext(rctx, s.api+"STREAM.LEADER.STEPDOWN."+stream, body)
	if err != nil {
		return fmt.Errorf("stepdown: %w", err)
	}
	var resp stepdownResponse
	if err := json.Unmarshal(reply.Data, &resp); err != nil {
		return fmt.Errorf("decode stepdown answer: %w", err)
	}
	if resp.Error != nil {
		return fmt.Errorf("stepdown: %s (%d)", resp.Error.Description, resp.Error.ErrCode)
	}
	return nil
}
