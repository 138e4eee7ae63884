package chat

import (
	"cmp"
	"container/list"
	"context"
	"slices"
	"sync"
	"unique"

	"github.com/natterchat/natter/store"
)

// Unread counts: a member's unread messages in a chat are the others'
// messages after its read marker. Telling the others' from its own means
// reading who sent each entry (store.ScanSenders), and a registered
// user's every connect counts every chat it is in (the Unread frame), so
// a node re-admitting a chat's members after a restart would read the
// same entries once per member: 100 members of a room, 100 scans of the
// same messages, which made a reconnect storm 6× slower to admit.
//
// The node therefore keeps, per chat, who sent its newest messages: a
// window (after, last] with every message in it, in order, deleted ones
// left out. The first count of a chat reads its entries once; a count
// whose marker falls in the window and whose chat has nothing newer than
// the window reads nothing; one whose chat has grown reads only the new
// entries. A marker older than the window is counted with a scan of its
// own, as before, which becomes the window when it reaches the chat's
// end. What the window holds never changes meaning (an entry's sender
// and kind are fixed; a deletion is an entry after its target, seen when
// the window reaches it), so it needs no invalidation.
//
// Counts are exact over the window, and otherwise over the first
// store.MaxUnreadScan entries after the marker; past those, messages are
// counted whoever sent them.

const (
	// tailMaxMessages bounds one window: past it, its oldest messages
	// are dropped (the window's start moves forward).
	tailMaxMessages = 2 * store.MaxUnreadScan
	// tailsMaxMessages bounds the messages of every window of the node
	// (16 bytes each: 4 MiB); the least recently used windows go first.
	tailsMaxMessages = 1 << 18
	// tailExtendRounds bounds the scans that bring a window up to its
	// chat's last sequence in one count.
	tailExtendRounds = 4
)

// tailMsg is one message of a window: its sequence and its sender.
type tailMsg struct {
	seq  uint64
	user unique.Handle[string]
}

// tail is the window of one chat.
type tail struct {
	chat string
	// mu is held across the window's store reads, so the members of a
	// chat counting at once wait for one scan instead of each making
	// their own.
	mu     sync.Mutex
	filled bool
	after  uint64    // the window begins after this sequence
	last   uint64    // and ends at this one: the chat's last when read
	msgs   []tailMsg // every message in (after, last], by sequence

	// Owned by unreadTails.mu.
	elem    *list.Element
	counted int // len(msgs) as unreadTails.total has it
}

// unreadTails holds the windows of the chats counted recently.
type unreadTails struct {
	mu    sync.Mutex
	byID  map[string]*tail
	lru   list.List // of *tail, most recently used first
	total int       // messages of every window
}

func newUnreadTails() *unreadTails { return &unreadTails{byID: make(map[string]*tail)} }

// get returns chatID's window, a new empty one if there is none, and
// marks it used.
func (u *unreadTails) get(chatID string) *tail {
	u.mu.Lock()
	defer u.mu.Unlock()
	t := u.byID[chatID]
	if t == nil {
		t = &tail{chat: chatID}
		t.elem = u.lru.PushFront(t)
		u.byID[chatID] = t
		return t
	}
	u.lru.MoveToFront(t.elem)
	return t
}

// resized records that t holds n messages now and drops the least
// recently used windows while all of them hold too many. t is not
// dropped: its caller holds its lock.
func (u *unreadTails) resized(t *tail, n int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.byID[t.chat] != t {
		return // dropped meanwhile; its memory goes with its last user
	}
	u.total += n - t.counted
	t.counted = n
	for u.total > tailsMaxMessages {
		old := u.lru.Back().Value.(*tail)
		if old == t {
			return
		}
		u.lru.Remove(old.elem)
		delete(u.byID, old.chat)
		u.total -= old.counted
	}
}

// countUnread counts userID's unread messages in chatID after sequence
// after; lastKnown is the chat's last sequence read before the call.
// last is the newest sequence counted (at least after and lastKnown).
func (s *Service) countUnread(ctx context.Context, chatID, userID string, after, lastKnown uint64) (n, last uint64, err error) {
	t := s.tails.get(chatID)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.filled && after >= t.after && t.last < lastKnown {
		if err := s.extend(ctx, t, lastKnown); err != nil {
			return 0, 0, err
		}
	}
	if t.filled && after >= t.after && t.last >= lastKnown {
		return t.count(after, unique.Make(userID)), max(t.last, after), nil
	}
	// Outside the window: a scan of this marker's own.
	ss, rest, err := s.cfg.Store.ScanSenders(ctx, chatID, after)
	if err != nil {
		return 0, 0, err
	}
	last = max(after, lastKnown)
	if len(ss) > 0 {
		last = max(last, ss[len(ss)-1].Seq)
	}
	if rest == 0 {
		// It reached the chat's end: the window it makes covers what
		// the old one did not (its start, or its end).
		t.filled, t.after, t.last, t.msgs = true, after, last, t.msgs[:0]
		t.add(ss)
		s.tails.resized(t, len(t.msgs))
		return t.count(after, unique.Make(userID)), last, nil
	}
	for _, e := range ss {
		if e.Kind == "" && e.User != userID {
			n++
		}
	}
	return n + rest, last, nil
}

// extend reads the entries after the window until it reaches lastKnown.
// A chat that grew past tailExtendRounds scans stays behind: the count
// then scans for itself.
func (s *Service) extend(ctx context.Context, t *tail, lastKnown uint64) error {
	for range tailExtendRounds {
		ss, rest, err := s.cfg.Store.ScanSenders(ctx, t.chat, t.last)
		if err != nil {
			return err
		}
		t.add(ss)
		if len(ss) > 0 {
			t.last = ss[len(ss)-1].Seq
		}
		if rest == 0 {
			// Everything up to the chat's end was read, and the end was
			// read after lastKnown was: nothing up to lastKnown is missing
			// even when the newest entries were erased.
			t.last = max(t.last, lastKnown)
			break
		}
	}
	if n := len(t.msgs) - tailMaxMessages; n > 0 {
		t.after = t.msgs[n-1].seq
		t.msgs = append(t.msgs[:0], t.msgs[n:]...)
	}
	s.tails.resized(t, len(t.msgs))
	return nil
}

// add appends the messages of ss, read after the window's end, and
// takes out the messages their deletions name.
func (t *tail) add(ss []store.Sender) {
	for _, e := range ss {
		switch e.Kind {
		case "":
			t.msgs = append(t.msgs, tailMsg{seq: e.Seq, user: unique.Make(e.User)})
		case store.KindDelete:
			if i, ok := slices.BinarySearchFunc(t.msgs, e.Target, func(m tailMsg, seq uint64) int {
				return cmp.Compare(m.seq, seq)
			}); ok {
				t.msgs = slices.Delete(t.msgs, i, i+1)
			}
		}
	}
}

// count is the messages of the window after sequence after that user
// did not send.
func (t *tail) count(after uint64, user unique.Handle[string]) (n uint64) {
	i, _ := slices.BinarySearchFunc(t.msgs, after+1, func(m tailMsg, seq uint64) int { return cmp.Compare(m.seq, seq) })
	for _, m := range t.msgs[i:] {
		if m.user != user {
			n++
		}
	}
	return n
}
