package presence

// The view forgets a user that is neither on this node nor a member of a
// chat delivered here: nobody here shares a chat with it any more. Only
// a few things end that interest, and each marks what it may have ended:
//
//   - a device of the user goes down and the user stays online
//     elsewhere (applyLocked);
//   - the user leaves a chat (setChatLocked);
//   - the user's last local device is unregistered (UserGone);
//   - this node stops delivering a chat (ChatStopped): the view has no
//     index of its users by chat, so the next sweep looks at them all;
//   - a chat snapshot is merged (merge): its chats were checked off the
//     events goroutine, and a chat may have stopped meanwhile.
//
// The heartbeat's sweep then looks at the marked users alone. Looking at
// every user at every beat held the events goroutine, and on one core
// the whole node, for milliseconds per second in proportion to the users
// online, while nothing had changed.

// UserGone notes that userID's last device here was unregistered: the
// next sweep forgets the user unless a chat delivered here keeps it. The
// hub calls it (fanout.Config.OnUserGone).
func (v *View) UserGone(userID string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.markUnsureLocked(userID)
}

// ChatStopped notes that this node stopped delivering a chat: the next
// sweep looks at every user in the view. The hub calls it
// (fanout.Config.OnChatStop).
func (v *View) ChatStopped(string) { v.rescan.Store(true) }

// markUnsureLocked marks a user whose interest to this node may have
// ended, for the next sweep.
func (v *View) markUnsureLocked(userID string) {
	if v.unsure == nil {
		v.unsure = make(map[string]struct{})
	}
	v.unsure[userID] = struct{}{}
}

// forget drops the users that are neither on this node nor members of a
// chat delivered here, of those marked since the last sweep (or of all,
// after a chat stopped being delivered), without telling anyone. The
// heartbeat loop calls it.
func (v *View) forget() {
	all := v.rescan.Swap(false)
	v.mu.Lock()
	defer v.mu.Unlock()
	if all {
		for userID, u := range v.users {
			v.forgetLocked(userID, u)
		}
	} else {
		for userID := range v.unsure {
			if u := v.users[userID]; u != nil {
				v.forgetLocked(userID, u)
			}
		}
	}
	// A new map rather than clear: after a storm the marks' buckets would
	// stay allocated for good.
	v.unsure = nil
}

// forgetLocked drops u unless it is on this node or in a chat delivered
// here.
func (v *View) forgetLocked(userID string, u *user) {
	v.forgetLooks++
	if v.cfg.Hub.User(userID) != nil || v.interested(u.chats) {
		return
	}
	delete(v.users, userID)
	if u.guest {
		for _, c := range u.chats {
			v.unindexGuestLocked(userID, c)
		}
	}
}
