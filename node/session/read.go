package session

import (
	"context"
	"log/slog"
	"time"

	"github.com/natterchat/natter/node/wire"
)

// processMarkRead handles MarkRead: the marker moves and its ReadMarker
// reaches this device with the user's others (and, with receipts, the
// other members'). A marker already at or past seq does not move; this
// device alone then gets the stored marker as a ReadMarker.
func (s *Server) processMarkRead(r *request) error {
	var in wire.MarkRead
	if err := r.decode(&in); err != nil {
		return err
	}
	c, err := s.cfg.Chat.Resolve(r.ctx, in.ChatRef)
	if err != nil {
		return err
	}
	rm, moved, err := s.cfg.Chat.MarkRead(r.ctx, r.d.who(), c, in.Seq)
	if err != nil {
		return err
	}
	if !moved {
		r.d.sendFrame(&s.metrics, wire.ChannelChatRoom, wire.TypeReadMarker, rm)
	}
	return nil
}

// unreadTimeout bounds the read state's storage work in a device's setup,
// which waits for it: as the stream position's, short, so that storage
// in trouble delays connections little.
const unreadTimeout = 2 * time.Second

// readState reads the read state of each chat of a stored user, for its
// new device's Unread, on its own goroutine: its storage reads overlap
// the rest of the device's setup. It must begin after the stream
// position for the device's catch-up was read, so that every message up
// to that position is either counted (at most its chat's lastSeq) or
// delivered after the Unread (past lastSeq, which the client counts
// itself). The answer is nil when storage cannot tell.
func (s *Server) readState(userID string) <-chan *wire.Unread {
	out := make(chan *wire.Unread, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), unreadTimeout)
		defer cancel()
		ms, err := s.cfg.Store.UserChats(ctx, userID)
		var st []wire.ChatUnread
		if err == nil {
			st, err = s.cfg.Chat.ReadState(ctx, userID, ms)
		}
		if err != nil {
			s.cfg.Limiter.Warn("read state of a new device", slog.String("user", userID), slog.Any("err", err))
			out <- nil
			return
		}
		out <- &wire.Unread{Chats: st}
	}()
	return out
}

// sendUnread sends a new device its Unread from readState's answer. It
// runs while the device is held, before its catch-up, so that every
// NewMessage the device receives comes after it: the client counts those
// past each chat's lastSeq and not its own. When storage could not tell,
// no Unread is sent (the client can read the same numbers from
// GET /api/chats).
func (s *Server) sendUnread(d *device, u *wire.Unread) {
	if u == nil {
		return
	}
	d.sendSetupFrame(&s.metrics, wire.ChannelChatRoom, wire.TypeUnread, *u)
}
