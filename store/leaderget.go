package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Point reads of KV keys go to the stream leader, not through direct gets:
// with replicas a direct get may be answered by a follower that has not
// applied a write yet, and a node that just created a chat or a
// membership must read it back (read-your-writes across nodes). While a
// stream has no leader (an election after a node died) the leader read
// times out after leaderGetTimeout, or is refused at once when no quorum
// is left, and the read falls back to a direct get from any replica:
// possibly stale beats unavailable.
// Listings stay on direct gets; they may trail by a moment.

// leaderGetTimeout bounds the leader read before the fallback.
const leaderGetTimeout = time.Second

type msgGetRequest struct {
	LastBySubject string `json:"last_by_subj"`
}

type msgGetResponse struct {
	Message *struct {
		Subject string `json:"subject"`
		Seq     uint64 `json:"seq"`
		Header  []byte `json:"hdrs"`
		Data    []byte `json:"data"`
	} `json:"message"`
	Error *struct {
		Code        int    `json:"code"`
		ErrCode     int    `json:"err_code"`
		Description string `json:"description"`
	} `json:"error"`
}

// kvGet returns the current value and revision of key in kv from the
// bucket's stream leader; a missing or deleted key is ErrNotFound.
func (s *JetStream) kvGet(ctx context.Context, kv jetstream.KeyValue, key string) ([]byte, uint64, error) {
	ctx, cancel := s.requestContext(ctx)
	defer cancel()
	bucket := kv.Bucket()
	req, _ := json.Marshal(msgGetRequest{LastBySubject: "$KV." + bucket + "." + key})
	lctx, lcancel := context.WithTimeout(ctx, leaderGetTimeout)
	msg, err := s.nc.RequestWithContext(lctx, s.api+"STREAM.MSG.GET.KV_"+bucket, req)
	lcancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, fmt.Errorf("get %s: %w", key, ctx.Err())
		}
		return s.kvGetAnyReplica(ctx, kv, key)
	}
	var resp msgGetResponse
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return nil, 0, fmt.Errorf("get %s: decode answer: %w", key, err)
	}
	if resp.Error != nil {
		switch {
		case resp.Error.Code == 404:
			return nil, 0, ErrNotFound
		case resp.Error.ErrCode == jsClusterNotAvailable || resp.Error.Code == 503:
			// No leader: without a quorum the bucket answers at once
			// rather than time out. A replica may still read.
			return s.kvGetAnyReplica(ctx, kv, key)
		}
		return nil, 0, fmt.Errorf("get %s: %s (%d)", key, resp.Error.Description, resp.Error.ErrCode)
	}
	if resp.Message == nil {
		return nil, 0, fmt.Errorf("get %s: empty answer", key)
	}
	if h := resp.Message.Header; bytes.Contains(h, []byte("KV-Operation: DEL")) || bytes.Contains(h, []byte("KV-Operation: PURGE")) {
		return nil, 0, ErrNotFound
	}
	return resp.Message.Data, resp.Message.Seq, nil
}

// kvGetAnyReplica reads key with a direct get, answered by any replica.
func (s *JetStream) kvGetAnyReplica(ctx context.Context, kv jetstream.KeyValue, key string) ([]byte, uint64, error) {
	e, err := kv.Get(ctx, key)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
			return nil, 0, ErrNotFound
		}
		if IsUnavailable(err) {
			return nil, 0, fmt.Errorf("get %s: %w: %w", key, ErrUnavailable, err)
		}
		return nil, 0, fmt.Errorf("get %s: %w", key, err)
	}
	return e.Value(), e.Revision(), nil
}
