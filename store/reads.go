package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natterchat/natter/subjects"
)

// ReadMarker is how far one member has read a chat: every message with a
// sequence up to Seq counts as read. A marker only moves forward.
type ReadMarker struct {
	ChatID string    `json:"chat"`
	UserID string    `json:"user"`
	Seq    uint64    `json:"seq"`
	At     time.Time `json:"at"` // when it last moved
}

// MaxUnreadScan is how many entries after a read marker ScanSenders
// reads, so that unread counts tell a member's own messages from the
// others'. Past them, messages are counted whoever sent them.
const MaxUnreadScan = 1000

// MaxUnreadScanBytes bounds the bytes of entries one ScanSenders reads:
// JetStream ends its scan early when the messages are long (1000 of the
// longest are tens of megabytes), and counts the rest whoever sent them.
const MaxUnreadScanBytes = 1 << 20

// Reads is the part of Store that keeps read markers (one KV key per
// member and chat, subjects.ReadKey) and counts what is unread.
type Reads interface {
	// MarkRead moves userID's read marker of chatID forward to seq (at
	// least 1). A marker already at or past seq stays where it is:
	// moved is false and m is the stored marker. Concurrent calls on any
	// node never move a marker backwards (compare-and-set).
	MarkRead(ctx context.Context, chatID, userID string, seq uint64) (m ReadMarker, moved bool, err error)
	// ReadMarkers returns userID's markers of chatIDs by chat id; chats
	// without a marker are absent.
	ReadMarkers(ctx context.Context, userID string, chatIDs []string) (map[string]ReadMarker, error)
	// ChatReadMarkers lists every marker stored for chatID, those of
	// former members included.
	ChatReadMarkers(ctx context.Context, chatID string) ([]ReadMarker, error)
	// LastSeqs returns LastSeq of each of chatIDs by chat id; chats
	// without messages are absent.
	LastSeqs(ctx context.Context, chatIDs []string) (map[string]uint64, error)
	// ScanSenders reads who wrote the entries of chatID after sequence
	// after, in order: the first MaxUnreadScan of them (JetStream: fewer
	// when they are longer than MaxUnreadScanBytes in all). rest is how
	// many entries follow the last one read (0: it was the chat's last).
	// Unread counts are made of it (node/chat keeps what it read).
	ScanSenders(ctx context.Context, chatID string, after uint64) (ss []Sender, rest uint64, err error)
}

// markReadTries bounds MarkRead's compare-and-set retries: each lost
// race means another writer moved the marker, usually past seq.
const markReadTries = 16

// MarkRead implements Reads with a create or a revision-checked update.
func (s *JetStream) MarkRead(ctx context.Context, chatID, userID string, seq uint64) (ReadMarker, bool, error) {
	if err := validMark(chatID, userID, seq); err != nil {
		return ReadMarker{}, false, fmt.Errorf("store: mark read %s of %q: %w", userID, chatID, err)
	}
	key := subjects.ReadKey(chatID, userID)
	for try := 0; try < markReadTries; try++ {
		var cur ReadMarker
		rev, err := s.getJSON(ctx, s.reads, key, &cur)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return ReadMarker{}, false, fmt.Errorf("store: mark read %s of %s: read: %w", userID, chatID, err)
		}
		if err == nil && cur.Seq >= seq {
			return cur, false, nil
		}
		next := ReadMarker{ChatID: chatID, UserID: userID, Seq: seq, At: time.Now().UTC()}
		data, err := json.Marshal(next)
		if err != nil {
			return ReadMarker{}, false, err
		}
		var ok bool
		if rev == 0 {
			ok, err = s.create(ctx, s.reads, key, data)
		} else {
			ok, err = s.update(ctx, s.reads, key, data, rev)
		}
		if err != nil {
			return ReadMarker{}, false, fmt.Errorf("store: mark read %s of %s: write: %w", userID, chatID, err)
		}
		if ok {
			return next, true, nil
		}
	}
	return ReadMarker{}, false, fmt.Errorf("store: mark read %s of %s: %w", userID, chatID, ErrConflict)
}

// validMark checks MarkRead's arguments.
func validMark(chatID, userID string, seq uint64) error {
	switch {
	case !subjects.ValidID(chatID):
		return fmt.Errorf("%w: chat id %q", ErrInvalid, chatID)
	case !subjects.ValidID(userID):
		return fmt.Errorf("%w: user id %q", ErrInvalid, userID)
	case seq == 0:
		return fmt.Errorf("%w: sequence 0", ErrInvalid)
	}
	return nil
}

// validIDs checks a list of ids that go into subjects.
func validIDs(what string, ids []string) error {
	for _, id := range ids {
		if !subjects.ValidID(id) {
			return fmt.Errorf("%w: %s id %q", ErrInvalid, what, id)
		}
	}
	return nil
}

// ReadMarkers implements Reads with multi_last direct gets of the
// markers' keys, kvBatch keys per request.
func (s *JetStream) ReadMarkers(ctx context.Context, userID string, chatIDs []string) (map[string]ReadMarker, error) {
	if !subjects.ValidID(userID) {
		return nil, fmt.Errorf("store: read markers of %q: %w: user id", userID, ErrInvalid)
	}
	if err := validIDs("chat", chatIDs); err != nil {
		return nil, fmt.Errorf("store: read markers of %s: %w", userID, err)
	}
	prefix := "$KV." + subjects.BucketReads + "."
	keys := make([]string, len(chatIDs))
	for i, c := range chatIDs {
		keys[i] = prefix + subjects.ReadKey(c, userID)
	}
	out := make(map[string]ReadMarker, len(chatIDs))
	err := s.multiLast(ctx, "KV_"+subjects.BucketReads, keys, func(m *nats.Msg) {
		if isTombstone(m) {
			return
		}
		var rm ReadMarker
		if json.Unmarshal(m.Data, &rm) == nil && rm.UserID == userID {
			out[rm.ChatID] = rm
		}
	})
	if err != nil {
		return nil, fmt.Errorf("store: read markers of %s: %w", userID, err)
	}
	return out, nil
}

// ChatReadMarkers implements Reads with a listing of the chat's keys.
func (s *JetStream) ChatReadMarkers(ctx context.Context, chatID string) ([]ReadMarker, error) {
	if !subjects.ValidID(chatID) {
		return nil, fmt.Errorf("store: read markers of chat %q: %w: chat id", chatID, ErrInvalid)
	}
	entries, err := s.kvList(ctx, subjects.BucketReads, subjects.ChatReadsFilter(chatID))
	if err != nil {
		return nil, fmt.Errorf("store: read markers of chat %s: %w", chatID, err)
	}
	out := make([]ReadMarker, 0, len(entries))
	for _, e := range entries {
		var rm ReadMarker
		if err := json.Unmarshal(e.value, &rm); err != nil {
			return nil, fmt.Errorf("store: read markers of chat %s: decode %s: %w", chatID, e.key, err)
		}
		out = append(out, rm)
	}
	return out, nil
}

// LastSeqs implements Reads with multi_last direct gets of the chats'
// subjects, kvBatch subjects per request.
func (s *JetStream) LastSeqs(ctx context.Context, chatIDs []string) (map[string]uint64, error) {
	if err := validIDs("chat", chatIDs); err != nil {
		return nil, fmt.Errorf("store: last seqs: %w", err)
	}
	// One multi_last per stream, with the subjects of its chats.
	subs := make(map[string][]string, len(s.streams))
	for _, c := range chatIDs {
		stream, subject := s.msgStream(c)
		subs[stream] = append(subs[stream], subject)
	}
	out := make(map[string]uint64, len(chatIDs))
	for stream, ss := range subs {
		err := s.multiLast(ctx, stream, ss, func(m *nats.Msg) {
			if c, ok := subjects.ParseChatMsg(m.Header.Get(jetstream.SubjectHeader)); ok {
				out[c] = headerUint(m, jetstream.SequenceHeader)
			}
		})
		if err != nil {
			return nil, fmt.Errorf("store: last seqs in %s: %w", stream, err)
		}
	}
	return out, nil
}

// multiLast calls fn with the last message of each of the literal
// subjects of stream that has one, asking kvBatch subjects at a time (the
// server refuses more) and paging each answer as kvList does.
func (s *JetStream) multiLast(ctx context.Context, stream string, subs []string, fn func(*nats.Msg)) error {
	for len(subs) > 0 {
		chunk := subs[:min(len(subs), kvBatch)]
		subs = subs[len(chunk):]
		req := directReq{MultiLast: chunk, Batch: kvBatch}
		for {
			end, found, err := s.directGet(ctx, stream, req, func(m *nats.Msg) bool { fn(m); return true })
			if err != nil {
				return err
			}
			if !found || end.pending == 0 || end.lastSeq == 0 {
				break
			}
			req.Seq, req.UpToSeq = end.lastSeq+1, end.upToSeq
		}
	}
	return nil
}

// Sender is who wrote one entry of a chat's stream, and what the entry
// is: what unread counts need of it.
type Sender struct {
	Seq    uint64    `json:"-"`
	User   string    `json:"user"`
	Kind   EntryKind `json:"kind,omitempty"`   // none for a message
	Target uint64    `json:"target,omitempty"` // a change's target
}

// ScanSenders implements Reads with batched direct gets from after+1: one
// request when fewer than MaxUnreadScan entries follow, and the count of
// the rest from the last answer's Nats-Num-Pending otherwise.
func (s *JetStream) ScanSenders(ctx context.Context, chatID string, after uint64) (ss []Sender, rest uint64, err error) {
	if !subjects.ValidID(chatID) {
		return nil, 0, fmt.Errorf("store: scan senders of %q: %w: id", chatID, ErrInvalid)
	}
	stream, subject := s.msgStream(chatID)
	from, bytes := after+1, 0
	for {
		var got uint64
		req := directReq{Seq: from, NextFor: subject, Batch: MaxUnreadScan - len(ss), MaxBytes: MaxUnreadScanBytes - bytes}
		end, found, err := s.directGet(ctx, stream, req,
			func(m *nats.Msg) bool {
				got = headerUint(m, jetstream.SequenceHeader)
				bytes += len(m.Data)
				snd := Sender{Seq: got}
				if json.Unmarshal(m.Data, &snd) != nil {
					snd = Sender{Seq: got} // unreadable: a message of nobody's
				}
				ss = append(ss, snd)
				return true
			})
		if err != nil {
			return nil, 0, fmt.Errorf("store: scan senders of %s: %w", chatID, err)
		}
		if !found || got == 0 || end.pending == 0 {
			return ss, 0, nil
		}
		if len(ss) >= MaxUnreadScan || bytes >= MaxUnreadScanBytes/2 {
			return ss, end.pending, nil
		}
		from = got + 1
	}
}
