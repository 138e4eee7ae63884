package chat

import (
	"context"
	"sync"

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
// most answers'). The user event names the device (userEvent.Told).

// toldWaits are the requests waiting for their device to be told.
type toldWaits struct {
	mu sync.Mutex
	m  map[string]toldWait // by device id
}

// toldWait is one device's wait for the change of one chat.
type toldWait struct {
	chatID string
	done   chan struct{}
}

// add starts deviceID's wait for its change of chatID.
func (w *toldWaits) add(deviceID, chatID string) chan struct{} {
	done := make(chan struct{})
	w.mu.Lock()
	if w.m == nil {
		w.m = make(map[string]toldWait)
	}
	w.m[deviceID] = toldWait{chatID: chatID, done: done}
	w.mu.Unlock()
	return done
}

// told ends deviceID's wait if it is for chatID.
func (w *toldWaits) told(deviceID, chatID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t, ok := w.m[deviceID]; ok && t.chatID == chatID {
		delete(w.m, deviceID)
		close(t.done)
	}
}

// forget drops a wait that ended otherwise, unless a later one took its
// place.
func (w *toldWaits) forget(deviceID string, done chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t, ok := w.m[deviceID]; ok && t.done == done {
		delete(w.m, deviceID)
	}
}

// announceTold is announce of device deviceID's own join or leave: it
// returns once this node has told the user's devices here of it, that
// one included, or when ctx ends (a lost event must not hold the device's
// frames for longer).
func (s *Service) announceTold(ctx context.Context, c store.Chat, who Identity, join bool, since uint64, deviceID string) {
	done := s.toldWaits.add(deviceID, c.ID)
	if !s.announce(c, who, join, since, deviceID) {
		s.toldWaits.forget(deviceID, done)
		return
	}
	select {
	case <-done:
	case <-ctx.Done():
		s.toldWaits.forget(deviceID, done)
	}
}

// AnnounceJoinTold is Announce of a join made by device deviceID: it
// returns once the device has been sent its JoinedRoom (see announceTold),
// so that the answers to its next frames follow it.
func (s *Service) AnnounceJoinTold(ctx context.Context, c store.Chat, who Identity, since uint64, deviceID string) {
	s.announceTold(ctx, c, who, true, since, deviceID)
}
