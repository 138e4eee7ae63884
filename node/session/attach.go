package session

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/fanout"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/node/wsconn"
	"github.com/natterchat/natter/store"
)

// Start is what a handshake asked for besides the identity: chats to
// resume (the resume query parameter) and a room to join (the seed's room
// in the URL).
type Start struct {
	Resume []wire.Resume
	Room   string
	// Buffered is what the client sent right after its request, before
	// the 101 (early frames): parsed before anything read later.
	Buffered []byte
	// Response is the handshake's answer (the 101) when it is still to
	// be written: it leaves with the device's first frames (see
	// wsconn.Server.AttachConnBuffered).
	Response []byte
	// Expiry is when the device's token expires, and with it the device
	// (closed 4003 unless it refreshed); zero for a guest.
	Expiry time.Time
}

// Attach takes an upgraded connection into the connection layer and sets
// its device up: Welcome first, then the user's chats (loaded once per
// user per node), catch-up, presence, the handshake's resumes and room,
// and only then the client's own frames. It runs on the handshake's
// goroutine and returns when the setup, resumes and room included, is
// done.
func (s *Server) Attach(conn net.Conn, who chat.Identity, st Start) {
	_ = conn.SetDeadline(time.Time{})
	d, resumed := newDevice(who, st.Resume)
	d.expiry.Store(expirySeconds(st.Expiry))
	if err := s.conns.AttachConnBuffered(d.Conn(), conn, d, st.Response, st.Buffered); err != nil {
		conn.Close()
		return
	}
	s.metrics.Attached.Add(1)
	// Every message stored after the Welcome reaches the device: its
	// chats are caught up from the store's position before the Welcome
	// (their subscriptions may only begin during the setup below), and
	// until then the hold keeps live messages from overtaking them.
	var pos store.Position
	var posErr error
	if !who.Guest { // a guest starts with no chats to catch up
		pctx, pcancel := context.WithTimeout(context.Background(), 2*time.Second)
		pos, posErr = s.cfg.Store.Position(pctx)
		pcancel()
	}
	// welcomeSeq marks the user's membership changes the device is told
	// of in its setup: one numbered up to it was stored before the read
	// below, which covers it in the Unread; a later one comes from
	// tellMissed if it was told before the device registered, and from
	// the change itself otherwise.
	welcomeSeq := s.cfg.Recent.Last()
	var unread <-chan *wire.Unread
	if !who.Guest {
		unread = s.readState(who.ID) // read.go
	}
	w := wire.Welcome{User: who.ID, Name: who.Name, Device: d.ID(), Node: s.cfg.NodeID}
	if !st.Expiry.IsZero() {
		exp := st.Expiry.UTC()
		w.ExpiresAt = &exp
	}
	welcome := wsconn.TextFrameAfter(wire.EncodeAfter(wsconn.TextHeaderRoom, wire.ChannelSession, wire.TypeWelcome, w))
	if st.Room != "" || len(st.Resume) > 0 {
		// Answers follow at once: the Welcome leaves with them, one
		// write instead of two (a join storm is counted in writes).
		d.SendNotice(welcome)
	} else {
		d.Send(welcome)
	}
	s.metrics.FramesOut.Add(1)
	d.Hold()
	u, told, ok := s.register(d, who)
	if !ok {
		return
	}
	if unread != nil {
		s.sendUnread(d, <-unread)
	}
	s.tellMissed(d, u, welcomeSeq, told)
	chats := u.ChatIDs()
	s.cfg.Hub.CatchUp(&d.Device, chats, resumed, pos, posErr)
	d.ifOpen(func() {
		d.SetPresence(true, func() { s.cfg.Presence.Announce(&d.Device, true, chats) })
	})
	// The handshake's resumes and room run here, before the client's own
	// frames (queued until setLive) and on the handshake's goroutine: the
	// caller's handshake slot covers the device's whole setup, so that a
	// storm's setups queue for slots instead of all running at once, and
	// live deliveries wait behind a few setups, not thousands.
	// The client's frames may run right after these when it sent them
	// behind its request, or when its 101 may have left before their
	// answers: written by the HTTP server's upgrader (no Response), or
	// with a registered user's Unread, missed changes or catch-up.
	followed := len(st.Buffered) > 0 || st.Response == nil || !who.Guest || len(st.Resume) > 0
	for _, r := range st.Resume {
		s.handleOwn(d, wire.TypeResume, r, followed)
	}
	if st.Room != "" {
		s.handleOwn(d, wire.TypeJoinRoom, wire.ChatRef{Room: st.Room}, followed)
	}
	d.setLive(s)
}

// newDevice makes a device for who. Chats resumed at connect get no live
// delivery until their replay is done, so the device sees each as one
// ordered sequence; resumed names them.
func newDevice(who chat.Identity, resume []wire.Resume) (*device, map[string]bool) {
	d := &device{tokens: -1}
	id := who.Device
	if id == "" {
		id = chat.NewID()
	}
	d.Init(id)
	resumed := make(map[string]bool, len(resume))
	for _, r := range resume {
		d.BeginResume(r.Chat)
		resumed[r.Chat] = true
	}
	return d, resumed
}

// register puts the device into the registry and waits for its user's
// chats; told is the registry's mark when it was added (Hub.AddDevice):
// the user's changes numbered up to it were told before the device was
// there, later ones reach it through the user's events. It reports false
// when the device must go no further: over the device limit, closed
// meanwhile (then cleaned up here), or its chats could not be loaded.
func (s *Server) register(d *device, who chat.Identity) (u *fanout.User, told uint64, ok bool) {
	u, first, told, ok := s.cfg.Hub.AddDevice(&d.Device, who.ID, who.Name, who.Guest, s.cfg.MaxDevicesPerUser)
	if !ok {
		d.Conn().Close(wsconn.ReasonPolicy, fmt.Sprintf("more than %d devices of this user on this node", s.cfg.MaxDevicesPerUser))
		return nil, told, false
	}
	closedEarly := d.markRegistered(&s.expiries)
	loadErr := s.cfg.Hub.Ready(u, first)
	if closedEarly {
		// OnClose ran before registration and left the cleanup to us.
		s.cleanups.Add(1)
		defer s.cleanups.Done()
		s.deviceGone(d)
		return nil, told, false
	}
	if loadErr != nil {
		s.cfg.Log.Warn("load user chats", slog.String("user", u.ID()), slog.Any("err", loadErr))
		d.Conn().Close(wsconn.ReasonTryAgain, "storage unavailable; try again")
		return nil, told, false
	}
	return u, told, true
}

// tellMissed sends the device the membership changes of its user that
// came after its Welcome (numbered after welcomeSeq) and were told
// before its registration (up to told): they found no device here to
// tell, or not this one. The changes after told reach it through the
// user's events, so each change comes once. It runs while the device is
// held: those changes wait for the hold's end and come after these.
func (s *Server) tellMissed(d *device, u *fanout.User, welcomeSeq, told uint64) {
	for _, c := range s.cfg.Recent.Of(u.ID()) {
		if c.Seq > welcomeSeq && c.Seq <= told {
			d.sendSetupFrame(&s.metrics, wire.ChannelChatRoom, chat.MemberType(c.Joined), c.MemberEvent)
		}
	}
}
