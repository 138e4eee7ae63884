package chat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/node/wsconn"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/subjects"
)

// Read state: every member has a read marker per chat (store.Reads), the
// sequence up to which it has read; it only moves forward. A member
// without a stored marker has read up to the sequence its membership
// began at (Member.Since): nothing before its join is unread. Unread
// messages are the others' messages after the marker.
//
// A marker that moved is told as a ReadMarker frame: to every member's
// devices (the "seen by" receipts) in direct chats and in chats of up to
// ReceiptsMaxMembers stored members, through a chat event; in larger
// chats to the user's own devices only, through a user notice.

// DefaultReceiptsMaxMembers is Config.ReceiptsMaxMembers's default.
const DefaultReceiptsMaxMembers = 50

// readStateWorkers bounds the unread counts of one ReadState run at once.
const readStateWorkers = 4

// MarkRead moves who's read marker of c forward to seq and tells the
// devices that should know (see above). moved is false when the marker
// was already at or past seq; rm is then the stored marker, told to no
// one. rm's LastSeq and Unread are who's read state after the marker.
func (s *Service) MarkRead(ctx context.Context, who Identity, c store.Chat, seq uint64) (rm wire.ReadMarker, moved bool, err error) {
	switch {
	case who.Guest:
		return rm, false, wire.Errorf(wire.CodeForbidden, "guests have no stored read state")
	case seq == 0:
		return rm, false, wire.Errorf(wire.CodeMissingField, "seq is required: the sequence of the newest message read")
	}
	if err := s.RequireMember(ctx, who.ID, c.ID); err != nil {
		return rm, false, err
	}
	last, err := s.cfg.Store.LastSeq(ctx, c.ID)
	if err != nil {
		return rm, false, fmt.Errorf("mark read: last seq: %w", err)
	}
	if seq > last {
		return rm, false, wire.Errorf(wire.CodeSeqOutOfRange, "seq %d is past the chat's last message (%d)", seq, last)
	}
	m, moved, err := s.cfg.Store.MarkRead(ctx, c.ID, who.ID, seq)
	if err != nil {
		return rm, false, fmt.Errorf("mark read: %w", err)
	}
	rm = wire.ReadMarker{Room: c.Name, Chat: c.ID, User: who.ID, Seq: m.Seq, LastSeq: max(last, m.Seq)}
	if m.Seq < last {
		n, l, err := s.countUnread(ctx, c.ID, who.ID, m.Seq, last) // unread.go
		if err != nil {
			return rm, false, fmt.Errorf("mark read: count unread: %w", err)
		}
		rm.Unread, rm.LastSeq = n, max(rm.LastSeq, l)
	}
	if moved {
		s.tellReadMarker(ctx, c, rm)
	}
	return rm, moved, nil
}

// tellReadMarker sends rm to every member's devices when c has receipts,
// and to its user's devices otherwise. Like every notice it is
// best-effort: the marker is stored, and a device that missed the notice
// reads it with its next Unread or from the HTTP API.
func (s *Service) tellReadMarker(ctx context.Context, c store.Chat, rm wire.ReadMarker) {
	frame := wire.Encode(wire.ChannelChatRoom, wire.TypeReadMarker, rm)
	var err error
	if s.hasReceipts(ctx, c) {
		err = s.cfg.Hub.PublishEvent(c.ID, subjects.ChatEventRead, frame, "")
	} else {
		err = s.cfg.NC.Publish(subjects.UserEvents(rm.User), encodeUserNotice(frame))
	}
	if err != nil {
		s.cfg.Limiter.Warn("publish read marker failed", slog.String("chat", c.ID), slog.String("user", rm.User), slog.Any("err", err))
	}
}

// hasReceipts reports whether every member of c sees the others' read
// markers: in direct chats, and in chats of at most ReceiptsMaxMembers
// stored members. A chat whose members cannot be listed has none.
func (s *Service) hasReceipts(ctx context.Context, c store.Chat) bool {
	if c.Kind == store.Direct {
		return true
	}
	if s.cfg.ReceiptsMaxMembers < 0 {
		return false
	}
	ms, err := s.storedMembers(ctx, c.ID)
	return err == nil && len(ms) <= s.cfg.ReceiptsMaxMembers
}

// userNoticePrefix starts a user event that is a client frame for every
// device of the user, as it is: a read marker in a chat without receipts.
// Other user events are JSON objects, which never start with it.
const userNoticePrefix = "natter-notice/1\n"

// encodeUserNotice is the user event payload that delivers frame.
func encodeUserNotice(frame []byte) []byte {
	b := make([]byte, 0, len(userNoticePrefix)+len(frame))
	return append(append(b, userNoticePrefix...), frame...)
}

// applyUserNotice delivers a user notice's frame to the user's devices on
// this node; ok is false for any other user event.
func (s *Service) applyUserNotice(userID string, data []byte) (ok bool) {
	frame, ok := bytes.CutPrefix(data, []byte(userNoticePrefix))
	if !ok {
		return false
	}
	u := s.cfg.Hub.User(userID)
	if u == nil || len(frame) == 0 {
		return true
	}
	f := wsconn.NewTextFrame(frame)
	devs := u.Devices(nil)
	for _, d := range devs {
		d.Send(f)
	}
	s.metrics.FramesOut.Add(int64(len(devs)))
	return true
}

// ReadState returns userID's read state of the chats of its memberships
// ms, in their order: each chat's last sequence, the user's marker (or
// the membership's beginning) and the others' messages after it.
func (s *Service) ReadState(ctx context.Context, userID string, ms []store.Member) ([]wire.ChatUnread, error) {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ChatID
	}
	// Two independent reads: at once, as a connect waits for them.
	var (
		marks    map[string]store.ReadMarker
		marksErr error
		both     sync.WaitGroup
	)
	both.Go(func() { marks, marksErr = s.cfg.Store.ReadMarkers(ctx, userID, ids) })
	lasts, err := s.cfg.Store.LastSeqs(ctx, ids)
	both.Wait()
	if err = errors.Join(marksErr, err); err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	out := make([]wire.ChatUnread, len(ms))
	var (
		wg   sync.WaitGroup
		sem  = make(chan struct{}, readStateWorkers)
		errs = make([]error, len(ms))
	)
	for i, m := range ms {
		cu := wire.ChatUnread{Chat: m.ChatID, LastSeq: lasts[m.ChatID], ReadSeq: max(marks[m.ChatID].Seq, m.Since)}
		c, named := s.chats.chat(m.ChatID)
		cu.Room = c.Name
		out[i] = cu
		count := cu.LastSeq > cu.ReadSeq
		if named && !count {
			continue
		}
		// The chat's name (a chat not cached here) and the count are
		// store reads: a few at a time, so that a user of many chats
		// waits for a fraction of them.
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			cu := &out[i]
			if !named {
				c, err := s.storedChat(ctx, cu.Chat)
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					errs[i] = err
					return
				}
				cu.Room = c.Name
			}
			if count {
				n, l, err := s.countUnread(ctx, cu.Chat, userID, cu.ReadSeq, cu.LastSeq)
				cu.Unread, cu.LastSeq, errs[i] = n, max(cu.LastSeq, l), err
			}
		}(i)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	return out, nil
}

// ChatReads lists the read marker of every stored member of c: its stored
// marker, or the sequence its membership began at.
func (s *Service) ChatReads(ctx context.Context, c store.Chat) ([]wire.MemberRead, error) {
	ms, err := s.storedMembers(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("chat reads: %w", err)
	}
	marks, err := s.cfg.Store.ChatReadMarkers(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("chat reads: %w", err)
	}
	seq := make(map[string]uint64, len(marks))
	for _, m := range marks {
		seq[m.UserID] = m.Seq
	}
	out := make([]wire.MemberRead, len(ms))
	for i, m := range ms {
		out[i] = wire.MemberRead{User: m.UserID, Name: m.Name, Seq: max(seq[m.UserID], m.Since)}
	}
	return out, nil
}
