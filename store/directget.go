package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natterchat/natter/internal/inbox"
)

// This file is the one place that speaks the raw direct get protocol
// ($JS.API.DIRECT.GET.<stream>), shared by message paging and KV listing.
// Direct gets are served by any replica and create no consumer, so the
// meta leader never sees them. Facts verified against nats-server v2.15.2
// (server/stream.go getDirectRequest, getDirectMulti) and by the tests:
//
//   - A batch request ({"seq","next_by_subj","batch"}) answers with up to
//     batch messages, each with Nats-Sequence, Nats-Subject, Nats-Num-Pending
//     and Nats-Last-Sequence (the previous message of the batch, 0 first),
//     then a "204 EOB" status with Nats-Num-Pending (matching messages left
//     after the last one sent) and Nats-Last-Sequence. The server may end a
//     batch early at max_bytes (default: its max pending), so a reader pages
//     on while Nats-Num-Pending > 0. No match at all is a "404" status.
//   - up_to_seq is ignored by plain batch requests; only multi_last uses it.
//   - multi_last answers the last message per matching subject in ascending
//     sequence order, pinned at up_to_seq (default: the stream's last
//     sequence, echoed as Nats-UpTo-Sequence in the EOB). "seq" skips
//     answers below it, so paging is seq = last+1 with the same up_to_seq.
//     It refuses ("413 Too Many Results") when more than 1024 subjects
//     match, whatever batch and seq say; then we fall back to a forward
//     scan, which lists current values because every bucket has History 1.
//   - A stream that does not exist yields a "503" no responders status.

// Header names of direct get replies and RePublish copies.
const (
	hdrStatus       = "Status"
	hdrDescription  = "Description"
	hdrNumPending   = "Nats-Num-Pending"
	hdrUpToSequence = "Nats-UpTo-Sequence"
	hdrKVOperation  = "KV-Operation"
)

// Batch sizes of direct get pages.
const (
	maxBatch = 1000
	kvBatch  = 1024 // the server's multi_last answer limit
)

// errTooManyResults is the server's 413 answer to a multi_last request
// matching more than 1024 subjects.
var errTooManyResults = errors.New("store: direct get: too many results")

// directReq is a direct get request; the subset of the server's
// JSApiMsgGetRequest natter uses.
type directReq struct {
	Seq       uint64   `json:"seq,omitempty"`
	LastFor   string   `json:"last_by_subj,omitempty"`
	NextFor   string   `json:"next_by_subj,omitempty"`
	Batch     int      `json:"batch,omitempty"`
	MultiLast []string `json:"multi_last,omitempty"`
	UpToSeq   uint64   `json:"up_to_seq,omitempty"`
	// MaxBytes ends a batch once this many bytes were sent (ScanSenders).
	MaxBytes int `json:"max_bytes,omitempty"`
}

// batchEnd is what a "204 EOB" status reports.
type batchEnd struct {
	pending uint64 // matching messages after the last one sent
	lastSeq uint64 // sequence of the last message sent
	upToSeq uint64 // multi_last only: the sequence the answer is pinned at
}

// directGet sends req to stream and calls fn with every message of the
// answer in order until fn returns false, the answer ends or ctx is done.
// A single get (no batch, no multi_last) ends after one message. found is
// false when the server had no matching message (404).
func (s *JetStream) directGet(ctx context.Context, stream string, req directReq, fn func(*nats.Msg) bool) (end batchEnd, found bool, err error) {
	// A context already done fails at once: the answer of a local server
	// can be in the channel before the select below runs, and select
	// picks at random among ready cases.
	if err := ctx.Err(); err != nil {
		return batchEnd{}, false, fmt.Errorf("direct get %s: %w", stream, err)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return batchEnd{}, false, err
	}
	ctx, cancel := s.requestContext(ctx)
	defer cancel()
	// A private inbox per exchange: a batch is many replies, which the
	// connection's shared request mux cannot deliver. It holds a whole
	// answer (at most batch messages and the EOB), so nothing is dropped
	// even if we stop reading early.
	single := req.Batch == 0 && len(req.MultiLast) == 0
	in, err := inbox.Open(s.nc, max(req.Batch, 1)+1)
	if err != nil {
		return batchEnd{}, false, fmt.Errorf("direct get %s: %w", stream, err)
	}
	defer in.Close()
	if err := s.nc.PublishRequest(s.api+"DIRECT.GET."+stream, in.Subject(), body); err != nil {
		return batchEnd{}, false, fmt.Errorf("direct get %s: %w", stream, err)
	}
	for {
		msg, err := in.Next(ctx)
		if err != nil {
			return batchEnd{}, false, fmt.Errorf("direct get %s: %w", stream, err)
		}
		if status := msg.Header.Get(hdrStatus); status != "" && len(msg.Data) == 0 {
			switch status {
			case "204":
				return batchEnd{
					pending: headerUint(msg, hdrNumPending),
					lastSeq: headerUint(msg, jetstream.LastSequenceHeader),
					upToSeq: headerUint(msg, hdrUpToSequence),
				}, true, nil
			case "404":
				return batchEnd{}, false, nil
			case "413":
				return batchEnd{}, false, fmt.Errorf("direct get %s: %w", stream, errTooManyResults)
			case "503":
				return batchEnd{}, false, fmt.Errorf("direct get %s: %w", stream, nats.ErrNoResponders)
			default:
				return batchEnd{}, false, fmt.Errorf("direct get %s: status %s %s", stream, status, msg.Header.Get(hdrDescription))
			}
		}
		if !fn(msg) || single {
			return batchEnd{}, true, nil
		}
	}
}

// getOne returns the single message a non-batch request selects, nil if
// there is none.
func (s *JetStream) getOne(ctx context.Context, stream string, req directReq) (*nats.Msg, error) {
	var got *nats.Msg
	_, _, err := s.directGet(ctx, stream, req, func(m *nats.Msg) bool { got = m; return false })
	return got, err
}

// scan calls fn with every message of stream on filter from sequence from
// on, in ascending order, paging batches of at most batch messages, until fn
// returns false or there are no more.
func (s *JetStream) scan(ctx context.Context, stream, filter string, from uint64, batch int, fn func(m *nats.Msg, seq uint64) bool) error {
	for {
		var last uint64
		stopped := false
		end, found, err := s.directGet(ctx, stream, directReq{Seq: from, NextFor: filter, Batch: batch}, func(m *nats.Msg) bool {
			last = headerUint(m, jetstream.SequenceHeader)
			if !fn(m, last) {
				stopped = true
				return false
			}
			return true
		})
		if err != nil || !found || stopped || end.pending == 0 || last == 0 {
			return err
		}
		from = last + 1
	}
}

// kvEntry is the current value of one key.
type kvEntry struct {
	key   string
	value []byte
	seq   uint64
}

// kvList returns the current, not deleted entries of bucket whose keys match
// filter (a key pattern with wildcards), in ascending revision order.
func (s *JetStream) kvList(ctx context.Context, bucket, filter string) ([]kvEntry, error) {
	return s.kvListAny(ctx, bucket, filter)
}

// kvListAny is kvList of the keys that match any of filters. Only a
// single filter falls back to a scan when more than 1024 keys match, so
// callers give several only when they match fewer (exact keys).
func (s *JetStream) kvListAny(ctx context.Context, bucket string, filters ...string) ([]kvEntry, error) {
	stream, prefix := "KV_"+bucket, "$KV."+bucket+"."
	latest := make(map[string]kvEntry)
	deleted := make(map[string]uint64)
	record := func(m *nats.Msg) {
		seq := headerUint(m, jetstream.SequenceHeader)
		key := strings.TrimPrefix(m.Header.Get(jetstream.SubjectHeader), prefix)
		if e, ok := latest[key]; ok && e.seq >= seq {
			return
		}
		if d, ok := deleted[key]; ok && d >= seq {
			return
		}
		if isTombstone(m) {
			delete(latest, key)
			deleted[key] = seq
			return
		}
		delete(deleted, key)
		latest[key] = kvEntry{key: key, value: m.Data, seq: seq}
	}

	subjs := make([]string, len(filters))
	for i, f := range filters {
		subjs[i] = prefix + f
	}
	req := directReq{MultiLast: subjs, Batch: kvBatch}
	for {
		end, found, err := s.directGet(ctx, stream, req, func(m *nats.Msg) bool { record(m); return true })
		if errors.Is(err, errTooManyResults) && len(filters) == 1 {
			// Above 1024 keys: scan the prefix instead. History 1 means
			// the scan sees (about) one message per key; record keeps the
			// newest should a key be rewritten while we page.
			clear(latest)
			clear(deleted)
			err = s.scan(ctx, stream, subjs[0], 0, maxBatch, func(m *nats.Msg, _ uint64) bool { record(m); return true })
			if err != nil {
				return nil, err
			}
			break
		}
		if err != nil {
			return nil, err
		}
		if !found || end.pending == 0 || end.lastSeq == 0 {
			break
		}
		req.Seq, req.UpToSeq = end.lastSeq+1, end.upToSeq
	}
	out := make([]kvEntry, 0, len(latest))
	for _, e := range latest {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b kvEntry) int { return cmp.Compare(a.seq, b.seq) })
	return out, nil
}

// isTombstone reports whether a KV stream message marks its key deleted: a
// Delete or Purge marker, or a marker the server left when it expired one.
func isTombstone(m *nats.Msg) bool {
	switch m.Header.Get(hdrKVOperation) {
	case "DEL", "PURGE":
		return true
	}
	return m.Header.Get(jetstream.MarkerReasonHeader) != ""
}

// headerUint parses a numeric header, 0 if it is missing or malformed.
func headerUint(m *nats.Msg, name string) uint64 {
	v, _ := strconv.ParseUint(m.Header.Get(name), 10, 64)
	return v
}
