package session

import "github.com/natterchat/natter/node/chat"

// maxCleaners bounds the goroutines that handle closed devices: when a
// node drains or thousands of clients drop at once, the closes queue up
// instead of starting a goroutine (and a stack) each.
const maxCleaners = 64

// queueCleanup hands a closed device to the cleaners, starting one if
// fewer than maxCleaners run.
func (s *Server) queueCleanup(d *device) {
	s.cleanMu.Lock()
	s.cleanQueue = append(s.cleanQueue, d)
	start := s.cleaners < maxCleaners
	if start {
		s.cleaners++
		s.cleanups.Add(1)
	}
	s.cleanMu.Unlock()
	if start {
		go s.cleanLoop()
	}
}

// cleanLoop handles queued closed devices until none are left.
func (s *Server) cleanLoop() {
	defer s.cleanups.Done()
	for {
		s.cleanMu.Lock()
		if len(s.cleanQueue) == 0 {
			s.cleaners--
			s.cleanQueue = nil
			s.cleanMu.Unlock()
			return
		}
		d := s.cleanQueue[0]
		s.cleanQueue[0] = nil
		s.cleanQueue = s.cleanQueue[1:]
		s.cleanMu.Unlock()
		s.deviceGone(d)
	}
}

// deviceGone unregisters a closed device. A user's last device here ends
// this node's interest in its chats; a guest's last device ends the guest:
// its memberships go (members get LeftRoom) and nothing of it stays.
func (s *Server) deviceGone(d *device) {
	u := d.User()
	chats := u.ChatIDs()
	s.announceDown(d, chats) // presence_grace.go
	s.expiries.remove(d)
	last := s.cfg.Hub.RemoveDevice(&d.Device)
	_ = u.Wait()
	if !last {
		return
	}
	if u.Guest() {
		s.cfg.Chat.EndGuest(chat.Identity{ID: u.ID(), Name: u.Name(), Guest: true}, u.ChatIDs())
	}
	for _, chatID := range u.ChatIDs() {
		s.cfg.Hub.Unlink(u, chatID)
	}
}
