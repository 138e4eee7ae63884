package session

import (
	"math"
	"time"

	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/fanout"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/node/wsconn"
)

// A device lives as long as its token: Welcome tells the client when that
// is, a Refresh frame with a newer token of the same user moves it, and
// CloseExpired closes the devices whose moment has passed with 4003. A
// connection therefore never outlasts the credentials it was let in with.

// expirySeconds is t as a device keeps it: Unix seconds, 0 for none.
func expirySeconds(t time.Time) uint32 {
	if t.IsZero() {
		return 0
	}
	return uint32(min(max(t.Unix(), 1), math.MaxUint32))
}

// CloseExpired closes, with 4003, every device of this node whose token
// expired at or before now, and returns how many. Call it periodically:
// it visits every device (closes are counted with the other closes, by
// reason).
func (s *Server) CloseExpired(now time.Time) int {
	cut := expirySeconds(now)
	n := 0
	s.cfg.Hub.RangeDevices(func(fd *fanout.Device, _ []string) {
		d, ok := fd.Conn().Data().(*device)
		if !ok {
			return
		}
		if exp := d.expiry.Load(); exp != 0 && exp <= cut {
			d.Conn().Close(wsconn.ReasonUnauthorized, "token expired: log in again or send Refresh with a newer token")
			n++
		}
	})
	return n
}

// processRefresh moves the device's expiry to that of a newer token of
// the same user.
func (s *Server) processRefresh(r *request) error {
	var in wire.Refresh
	if err := r.decode(&in); err != nil {
		return err
	}
	if in.Token == "" {
		return wire.Errorf(wire.CodeMissingField, "token is required")
	}
	if r.d.User().Guest() {
		return wire.Errorf(wire.CodeForbidden, "a guest has no token to refresh")
	}
	who, exp, err := s.cfg.Chat.Authenticate(r.ctx, in.Token)
	if err != nil {
		return chat.AuthError(err)
	}
	if who.ID != r.d.User().ID() {
		return wire.Errorf(wire.CodeForbidden, "the token is another user's")
	}
	// A refresh never shortens: an older token sent late changes nothing.
	secs := expirySeconds(exp)
	for {
		cur := r.d.expiry.Load()
		if secs <= cur || r.d.expiry.CompareAndSwap(cur, secs) {
			break
		}
	}
	r.d.sendFrame(&s.metrics, wire.ChannelSession, wire.TypeRefreshed, wire.Refreshed{ExpiresAt: time.Unix(int64(r.d.expiry.Load()), 0).UTC()})
	return nil
}
