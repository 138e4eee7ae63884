package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/natterchat/natter/subjects"
)

// seqGetRequest asks the stream leader for the message at a sequence.
type seqGetRequest struct {
	Seq uint64 `json:"seq"`
}

// Message implements Store with a read from the stream leader: the entry
// may have been stored a moment ago through another node (a reply to a
// message just sent), which a follower may not have yet.
func (s *JetStream) Message(ctx context.Context, chatID string, seq uint64) (Message, error) {
	if !subjects.ValidID(chatID) || seq == 0 {
		return Message{}, fmt.Errorf("store: message %s/%d: %w", chatID, seq, ErrInvalid)
	}
	ctx, cancel := s.requestContext(ctx)
	defer cancel()
	stream, subject := s.msgStream(chatID)
	req, _ := json.Marshal(seqGetRequest{Seq: seq})
	reply, err := s.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+stream, req)
	if err != nil {
		if IsUnavailable(err) || errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return Message{}, fmt.Errorf("store: message %s/%d: %w", chatID, seq, err)
	}
	var resp msgGetResponse
	if err := json.Unmarshal(reply.Data, &resp); err != nil {
		return Message{}, fmt.Errorf("store: message %s/%d: decode answer: %w", chatID, seq, err)
	}
	switch {
	case resp.Error != nil && resp.Error.Code == 404:
		return Message{}, fmt.Errorf("store: message %s/%d: %w", chatID, seq, ErrNotFound)
	case resp.Error != nil:
		return Message{}, fmt.Errorf("store: message %s/%d: %w: %s (%d)", chatID, seq, ErrUnavailable, resp.Error.Description, resp.Error.ErrCode)
	case resp.Message == nil:
		return Message{}, fmt.Errorf("store: message %s/%d: empty answer", chatID, seq)
	case resp.Message.Subject != subject:
		return Message{}, fmt.Errorf("store: message %s/%d: %w", chatID, seq, ErrNotFound)
	}
	var m Message
	if err := json.Unmarshal(resp.Message.Data, &m); err != nil {
		return Message{}, fmt.Errorf("store: message %s/%d: %w: body: %v", chatID, seq, ErrInvalid, err)
	}
	m.ChatID, m.Seq = chatID, seq
	return m, nil
}

// EraseMessages implements Store with secure deletes, which overwrite the
// stored bytes on every replica instead of only unlinking them. Each
// sequence is read first, so that only the chat's own entries go.
func (s *JetStream) EraseMessages(ctx context.Context, chatID string, seqs []uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	stream, _ := s.msgStream(chatID)
	st, err := s.js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("store: erase messages of %s: %w", chatID, err)
	}
	for _, seq := range seqs {
		if _, err := s.Message(ctx, chatID, seq); errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return fmt.Errorf("store: erase messages of %s: %w", chatID, err)
		}
		dctx, cancel := s.requestContext(ctx)
		err := st.SecureDeleteMsg(dctx, seq)
		cancel()
		if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return fmt.Errorf("store: erase message %s/%d: %w", chatID, seq, err)
		}
	}
	return nil
}

// UpdateMessageState implements Store: read, update, and write back only
// at the revision read (or create), again from the read when another
// writer came between; then the deletion marker of a deleted message.
func (s *JetStream) UpdateMessageState(ctx context.Context, chatID string, seq uint64, update func(*MessageState) error) (MessageState, error) {
	if !subjects.ValidID(chatID) || seq == 0 {
		return MessageState{}, fmt.Errorf("store: update message state %s/%d: %w", chatID, seq, ErrInvalid)
	}
	key := subjects.MessageStateKey(chatID, seq)
	for try := range maxUpdateTries {
		if try > 0 {
			if err := sleepCtx(ctx, time.Duration(1+rand.IntN(4*try))*time.Millisecond); err != nil {
				return MessageState{}, fmt.Errorf("store: update message state %s: %w", key, err)
			}
		}
		var st MessageState
		rev, err := s.getJSON(ctx, s.states, key, &st)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return MessageState{}, fmt.Errorf("store: update message state %s: read: %w", key, err)
		}
		if err := update(&st); err != nil {
			return MessageState{}, fmt.Errorf("store: update message state %s: %w", key, err)
		}
		data, err := json.Marshal(st)
		if err != nil {
			return MessageState{}, fmt.Errorf("store: update message state %s: encode: %w", key, err)
		}
		var ok bool
		if rev == 0 {
			ok, err = s.create(ctx, s.states, key, data)
		} else {
			ok, err = s.update(ctx, s.states, key, data, rev)
		}
		if err != nil {
			return MessageState{}, fmt.Errorf("store: update message state %s: write: %w", key, err)
		}
		if !ok {
			continue
		}
		if st.Deleted {
			pctx, cancel := s.requestContext(ctx)
			_, err := s.states.Put(pctx, subjects.DeletedKey(chatID, seq), []byte("{}"))
			cancel()
			if err != nil {
				return MessageState{}, fmt.Errorf("store: update message state %s: mark deleted: %w", key, err)
			}
		}
		return st, nil
	}
	return MessageState{}, fmt.Errorf("store: update message state %s: %w: changed by others %d times in a row", key, ErrConflict, maxUpdateTries)
}

// MessageStates implements Store with one multi_last direct get of the
// exact keys.
func (s *JetStream) MessageStates(ctx context.Context, chatID string, seqs []uint64) (map[uint64]MessageState, error) {
	if !subjects.ValidID(chatID) || len(seqs) > MaxPageLimit {
		return nil, fmt.Errorf("store: message states of %s: %w", chatID, ErrInvalid)
	}
	out := make(map[uint64]MessageState)
	if len(seqs) == 0 {
		return out, nil
	}
	keys := make([]string, len(seqs))
	bySubject := make(map[string]uint64, len(seqs))
	for i, seq := range seqs {
		keys[i] = subjects.MessageStateKey(chatID, seq)
		bySubject[keys[i]] = seq
	}
	entries, err := s.kvListAny(ctx, subjects.BucketMessageStates, keys...)
	if err != nil {
		return nil, fmt.Errorf("store: message states of %s: %w", chatID, err)
	}
	for _, e := range entries {
		var st MessageState
		if err := json.Unmarshal(e.value, &st); err != nil {
			s.cfg.Logger.Warn("store: skipping undecodable message state", "key", e.key, "err", err)
			continue
		}
		out[bySubject[e.key]] = st
	}
	return out, nil
}

// DeletedMessages implements Store by listing the chat's deletion markers.
func (s *JetStream) DeletedMessages(ctx context.Context, chatID string) ([]uint64, error) {
	if !subjects.ValidID(chatID) {
		return nil, fmt.Errorf("store: deleted messages of %q: %w", chatID, ErrInvalid)
	}
	entries, err := s.kvList(ctx, subjects.BucketMessageStates, subjects.DeletedWildcard(chatID))
	if err != nil {
		return nil, fmt.Errorf("store: deleted messages of %s: %w", chatID, err)
	}
	return deletedSeqs(entries), nil
}

// deletedSeqs returns the message sequences of deletion markers, sorted.
func deletedSeqs(entries []kvEntry) []uint64 {
	out := make([]uint64, 0, len(entries))
	for _, e := range entries {
		if seq, ok := subjects.ParseDeletedKey(e.key); ok {
			out = append(out, seq)
		}
	}
	slices.Sort(out)
	return out
}
