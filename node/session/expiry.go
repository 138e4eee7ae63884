package session

import (
	"math"
	"sync"
	"time"

	"github.com/natterchat/natter/node/chat"
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

// expiries indexes the registered devices that have a token by the
// minute it expires, so that a sweep visits the devices of the minutes it
// reached, not every device: the sweep runs on the node's events
// goroutine every few seconds, and visiting every connection there took
// time in proportion to them while almost none expire. Guests expire
// never and are not in it.
type expiries struct {
	mu sync.Mutex
	// next is the first minute not yet swept whole: a device whose
	// token expires before it is kept under it (then it is due at once).
	next    uint32
	minutes map[uint32]map[*device]struct{}
}

// minuteOf is the minute a device expiring at secs is kept under.
func (e *expiries) minuteOf(secs uint32) uint32 { return max(secs/60, e.next) }

// addLocked indexes d, expiring at secs (not 0).
func (e *expiries) addLocked(d *device, secs uint32) {
	e.addAtLocked(d, e.minuteOf(secs))
}

// addAtLocked keeps d under minute m.
func (e *expiries) addAtLocked(d *device, m uint32) {
	if e.minutes == nil {
		e.minutes = make(map[uint32]map[*device]struct{})
	}
	ds := e.minutes[m]
	if ds == nil {
		ds = make(map[*device]struct{})
		e.minutes[m] = ds
	}
	ds[d] = struct{}{}
}

// removeLocked drops d, indexed at secs, if it is there.
func (e *expiries) removeLocked(d *device, secs uint32) {
	m := e.minuteOf(secs)
	if ds := e.minutes[m]; ds != nil {
		delete(ds, d)
		if len(ds) == 0 {
			delete(e.minutes, m)
		}
	}
}

// add indexes a device just registered: the caller holds the device's
// lock, so that its cleanup (remove) cannot run before this. Every device
// that runs frames has been through here.
func (e *expiries) add(d *device) {
	if secs := d.expiry.Load(); secs != 0 {
		e.mu.Lock()
		e.addLocked(d, secs)
		e.mu.Unlock()
	}
}

// remove drops a device whose connection ended.
func (e *expiries) remove(d *device) {
	if secs := d.expiry.Load(); secs != 0 {
		e.mu.Lock()
		e.removeLocked(d, secs)
		e.mu.Unlock()
	}
}

// extend moves indexed device d's expiry to secs if that is later and
// returns the expiry d has then. A refresh never shortens: an older token
// sent late changes nothing.
func (e *expiries) extend(d *device, secs uint32) uint32 {
	e.mu.Lock()
	defer e.mu.Unlock()
	cur := d.expiry.Load()
	if secs <= cur {
		return cur
	}
	e.removeLocked(d, cur)
	e.addLocked(d, secs)
	d.expiry.Store(secs)
	return secs
}

// due removes from the index and appends to buf the devices whose token
// expired at or before cut (Unix seconds).
func (e *expiries) due(cut uint32, buf []*device) []*device {
	e.mu.Lock()
	defer e.mu.Unlock()
	if cut/60 < e.next {
		// The clock went back, or repeats the last second of a minute
		// swept whole: that minute is swept again, at no harm.
		e.clockBackLocked(cut / 60)
	}
	for m := e.next; m <= cut/60; m++ {
		ds := e.minutes[m]
		whole := m*60+59 <= cut
		for d := range ds {
			if whole || d.expiry.Load() <= cut {
				buf = append(buf, d)
				delete(ds, d)
			}
		}
		if len(ds) == 0 {
			delete(e.minutes, m)
		}
		if whole {
			e.next = m + 1
		}
	}
	return buf
}

// clockBackLocked follows the wall clock back to minute now, before the
// minutes already swept: the devices kept under the first minute not
// swept because their tokens expired before it go back under their own
// minutes (or now), or they would wait for the clock to pass that minute
// again, however far back it went. Every other device is under its own
// minute already.
func (e *expiries) clockBackLocked(now uint32) {
	old := e.next
	e.next = now
	ds := e.minutes[old]
	for d := range ds {
		if m := e.minuteOf(d.expiry.Load()); m != old {
			delete(ds, d)
			e.addAtLocked(d, m)
		}
	}
	if len(ds) == 0 {
		delete(e.minutes, old)
	}
}

// CloseExpired closes, with 4003, every device of this node whose token
// expired at or before now, and returns how many. Call it periodically:
// it visits the devices whose token expires in the minutes since the
// last call, not every device (closes are counted with the other closes,
// by reason).
func (s *Server) CloseExpired(now time.Time) int {
	cut := expirySeconds(now)
	n := 0
	for _, d := range s.expiries.due(cut, nil) {
		// A refresh after due took d out put it back under its new
		// minute; it stays open.
		if d.expiry.Load() <= cut {
			d.Conn().Close(wsconn.ReasonUnauthorized, "token expired: log in again or send Refresh with a newer token")
			n++
		}
	}
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
	secs := expirySeconds(exp)
	cur := r.d.expiry.Load()
	r.d.ifOpen(func() {
		// The device runs frames once registered, so it is indexed, and
		// its cleanup, which takes it out, waits for this. A closed one
		// is out for good.
		cur = s.expiries.extend(r.d, secs)
	})
	r.d.sendFrame(&s.metrics, wire.ChannelSession, wire.TypeRefreshed, wire.Refreshed{ExpiresAt: time.Unix(int64(cur), 0).UTC()})
	return nil
}
