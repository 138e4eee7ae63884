package chat

import (
	"context"
	"strconv"
	"sync"

	"github.com/natterchat/natter/node/fanout"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// A device that joins or leaves a chat hears of it from its user's event,
// as the user's other devices do, when this node applies the event
// (ApplyUserEvent): every device so sees its user's membership changes in
// the one order NATS gives them. The device's own request waits for that
// before it ends, so that the answers to the frames it sent next come
// after its JoinedRoom or LeftRoom: a client that sends JoinRoom and, at
// once, another frame would otherwise get that frame's answer first (the
// event's way through NATS and the node's events goroutine is longer than
// most answers'). The user event carries the request's token
// (userEvent.Told): the device's id and a number of this node's.

// toldWaits are the requests waiting for their device to be told.
type toldWaits struct {
	mu   sync.Mutex
	next uint64
	m    map[string]chan struct{} // by token
}

// add starts a wait for deviceID's device and returns its token.
func (w *toldWaits) add(deviceID string) (string, chan struct{}) {
	done := make(chan struct{})
	w.mu.Lock()
	defer w.mu.Unlock()
	w.next++
	token := deviceID + "." + strconv.FormatUint(w.next, 36)
	if w.m == nil {
		w.m = make(map[string]chan struct{})
	}
	w.m[token] = done
	return token, done
}

// told ends the wait of token, if it is this node's and still waits.
func (w *toldWaits) told(token string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if done, ok := w.m[token]; ok {
		close(done)
		w.dropLocked(token)
	}
}

// forget drops the wait of token, which ended otherwise: a late event
// finds no wait then, and cannot end a later one of the same device.
func (w *toldWaits) forget(token string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.dropLocked(token)
}

// dropLocked removes token; an empty map is let go, so that a storm's
// waits leave no buckets behind.
func (w *toldWaits) dropLocked(token string) {
	delete(w.m, token)
	if len(w.m) == 0 {
		w.m = nil
	}
}

// announceTold is announce of device d's own join or leave, or of one
// made for nobody in particular when d is nil: it returns once this node
// has told the user's devices here of it, d included, or when ctx ends (a
// lost event must not hold the device's frames for longer). When the user
// event could not go out, d is told here, as nothing else would.
func (s *Service) announceTold(ctx context.Context, c store.Chat, who Identity, join bool, since uint64, d *fanout.Device) {
	if d == nil {
		s.announce(c, who, join, since, ownDevice{})
		return
	}
	token, done := s.toldWaits.add(d.ID())
	if !s.announce(c, who, join, since, ownDevice{told: token}) {
		s.toldWaits.forget(token)
		d.Send(memberFrame(MemberType(join), who.MemberEvent(c)))
		s.metrics.FramesOut.Add(1)
		return
	}
	select {
	case <-done:
	case <-ctx.Done():
		s.toldWaits.forget(token)
	}
}

// AnnounceJoinTold is Announce of a join made by device d: it returns
// once d has been sent its JoinedRoom (see announceTold).
func (s *Service) AnnounceJoinTold(ctx context.Context, c store.Chat, who Identity, since uint64, d *fanout.Device) {
	s.announceTold(ctx, c, who, true, since, d)
}

// AnnounceJoinSent is Announce of a join made by device d before its
// client can have sent a frame (a guest's room in its handshake URL): d
// is sent its JoinedRoom here and now, and the user event tells the
// user's other devices only. The order that announceTold waits for holds
// without the wait: nothing of d's came before the join, and d's next
// frames are published after the join's events. The wait was a trip
// through NATS and the node's events goroutine on every handshake of a
// join storm, and its 101, Welcome and MemberList waited with it.
func (s *Service) AnnounceJoinSent(c store.Chat, who Identity, since uint64, d *fanout.Device) {
	s.announce(c, who, true, since, ownDevice{sent: d.ID()})
	d.Send(memberFrame(wire.TypeJoinedRoom, who.MemberEvent(c)))
	s.metrics.FramesOut.Add(1)
}
