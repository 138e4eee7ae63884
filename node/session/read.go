package session

import (
	"context"
	"log/slog"
	"time"

	"github.com/natterchat/natter/node/fanout"
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

// sendUnread sends a new device of a stored user its Unread: the read
// state of each of its chats. It runs while the device is held, before its
// catch-up, so that every NewMessage the device receives comes after it:
// the client counts those past each chat's lastSeq and not its own. When
// storage cannot tell, no Unread is sent (the client can read the same
// numbers from GET /api/chats).
func (s *Server) sendUnread(d *device, u *fanout.User) {
	ctx, cancel := context.WithTimeout(context.Background(), unreadTimeout)
	defer cancel()
	ms, err := s.cfg.Store.UserChats(ctx, u.ID())
	var st []wire.ChatUnread
	if err == nil {
		st, err = s.cfg.Chat.ReadState(ctx, u.ID(), ms)
	}
	if err != nil {
		s.cfg.Limiter.Warn("read state of a new device", slog.String("user", u.ID()), slog.Any("err", err))
		return
	}
	d.sendFrame(&s.metrics, wire.ChannelChatRoom, wire.TypeUnread, wire.Unread{Chats: st})
}
