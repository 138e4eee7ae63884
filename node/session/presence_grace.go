package session

import (
	"time"
)

// A registered user's device that goes away is announced offline only
// after Config.PresenceGrace: a client that reconnects at once (a network
// change, a node that drains, a restart of the app) comes back as a new
// device within it, so the user never has zero devices and its chats'
// members see no Offline and Online pair. In a reconnect storm those
// pairs were most of the node's work: every member of every chat of every
// device told twice. A user who does not come back is offline a grace
// later. A guest's device is announced at once: its memberships end with
// it (LeftRoom), so nobody waits for it to come back.

// announceDown announces d down now, or after the grace.
func (s *Server) announceDown(d *device, chats []string) {
	announce := func() {
		d.SetPresence(false, func() { s.cfg.Presence.Announce(&d.Device, false, chats) })
	}
	if s.cfg.PresenceGrace <= 0 || d.User().Guest() {
		announce()
		return
	}
	s.graceMu.Lock()
	if s.graceFlushed {
		s.graceMu.Unlock()
		announce() // the node is leaving: nothing waits any more
		return
	}
	if s.graceDowns == nil {
		s.graceDowns = make(map[*device]graceDown)
	}
	// Under graceMu, so a flush sees the timer with its entry.
	s.graceDowns[d] = graceDown{announce: announce, timer: time.AfterFunc(s.cfg.PresenceGrace, func() {
		// Whoever takes the entry announces: the timer, or a flush that
		// came first.
		s.graceMu.Lock()
		_, ok := s.graceDowns[d]
		delete(s.graceDowns, d)
		s.graceMu.Unlock()
		if ok {
			announce()
		}
	})}
	s.graceMu.Unlock()
}

// graceDown is a down event waiting for its grace.
type graceDown struct {
	announce func()
	timer    *time.Timer
}

// FlushPresence announces at once every device down that waits for its
// grace, and every later one: the node is leaving, and its down events
// must go out before its goodbye.
func (s *Server) FlushPresence() {
	s.graceMu.Lock()
	s.graceFlushed = true
	pending := s.graceDowns
	s.graceDowns = nil
	s.graceMu.Unlock()
	for _, g := range pending {
		g.timer.Stop() // its entry is gone: a timer that fires now does nothing
		g.announce()
	}
}
