package chat

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/natterchat/natter/store"
)

// unreadChat publishes messages to one chat of the in-memory store and
// knows what every member's count must be.
type unreadChat struct {
	t    *testing.T
	mem  *store.Memory
	id   string
	msgs []store.Message // what was published, deleted ones removed
	n    int
}

func (c *unreadChat) post(user string) uint64 {
	c.t.Helper()
	c.n++
	m := store.Message{ChatID: c.id, ID: fmt.Sprintf("%s-%d", c.id, c.n), UserID: user, Text: "hi"}
	seq, _, err := c.mem.PublishMessage(context.Background(), m)
	if err != nil {
		c.t.Fatal(err)
	}
	m.Seq = seq
	c.msgs = append(c.msgs, m)
	return seq
}

// change publishes a change of target by user; a deletion also erases
// the target, as the chat's DeleteMessage does.
func (c *unreadChat) change(user string, kind store.EntryKind, target uint64) {
	c.t.Helper()
	c.n++
	ctx := context.Background()
	m := store.Message{ChatID: c.id, ID: fmt.Sprintf("%s-%d", c.id, c.n), UserID: user, Kind: kind, Target: target}
	switch kind {
	case store.KindEdit:
		m.Text = "edited"
	case store.KindReact:
		m.Emoji, m.On = "👍", true
	}
	if _, _, err := c.mem.PublishMessage(ctx, m); err != nil {
		c.t.Fatal(err)
	}
	if kind != store.KindDelete {
		return
	}
	if err := c.mem.EraseMessages(ctx, c.id, []uint64{target}); err != nil {
		c.t.Fatal(err)
	}
	for i, m := range c.msgs {
		if m.Seq == target {
			c.msgs = append(c.msgs[:i], c.msgs[i+1:]...)
			break
		}
	}
}

// want is user's exact count after seq.
func (c *unreadChat) want(user string, after uint64) (n uint64) {
	for _, m := range c.msgs {
		if m.Seq > after && m.UserID != user {
			n++
		}
	}
	return n
}

func (c *unreadChat) last() uint64 {
	c.t.Helper()
	l, err := c.mem.LastSeq(context.Background(), c.id)
	if err != nil {
		c.t.Fatal(err)
	}
	return l
}

// check counts user's unread after seq and compares it with the exact
// count.
func (c *unreadChat) check(s *Service, user string, after uint64) {
	c.t.Helper()
	last := c.last()
	n, l, err := s.countUnread(context.Background(), c.id, user, after, last)
	if err != nil {
		c.t.Fatalf("count of %s after %d: %v", user, after, err)
	}
	if want := c.want(user, after); n != want || l < last || l < after {
		c.t.Fatalf("count of %s after %d = %d up to %d; want %d up to at least %d", user, after, n, l, want, max(last, after))
	}
}

// TestUnreadCountsShareOneScan: the first count of a chat reads its
// entries; the other members' counts then read nothing (the store's
// scans fail and they still answer), a chat that grew is read from where
// the window ends, and a deletion seen on the way takes its message out.
func TestUnreadCountsShareOneScan(t *testing.T) {
	s, mem, _ := newTestService(t)
	c := &unreadChat{t: t, mem: mem, id: "room1"}
	users := []string{"ann", "bob", "cid"}
	var seqs []uint64
	for i := range 30 {
		seqs = append(seqs, c.post(users[i%3]))
	}
	c.check(s, "ann", 0) // fills the window from the first entry

	boom := errors.New("no store reads expected")
	mem.Fail("ScanSenders", boom)
	for _, u := range users {
		for _, after := range []uint64{0, seqs[0], seqs[10], seqs[28], seqs[29], seqs[29] + 5} {
			c.check(s, u, after)
		}
	}

	// The chat grows: the window reads the new entries only, so a store
	// that fails reads makes the count fail, and one that works
	// answers.
	more := c.post("bob")
	if _, _, err := s.countUnread(context.Background(), c.id, "ann", seqs[5], c.last()); !errors.Is(err, boom) {
		t.Fatalf("count after the chat grew, store reads failing: %v; want the store's error", err)
	}
	mem.Fail("ScanSenders", nil)
	c.check(s, "ann", seqs[5])
	c.change("cid", store.KindReact, more) // a change is no unread message
	c.change("bob", store.KindEdit, more)
	c.change("bob", store.KindDelete, seqs[4])
	c.check(s, "ann", seqs[2])
	mem.Fail("ScanSenders", boom)
	for _, u := range users {
		c.check(s, u, seqs[1])
		c.check(s, u, more-1)
	}
}

// TestUnreadCountOutsideTheWindow: a marker older than the window scans
// for itself; when that scan reaches the chat's end, it becomes the
// window. A chat longer than one scan counts what follows the scan
// whoever sent it.
func TestUnreadCountOutsideTheWindow(t *testing.T) {
	s, mem, _ := newTestService(t)
	c := &unreadChat{t: t, mem: mem, id: "room2"}
	var seqs []uint64
	for i := range 20 {
		seqs = append(seqs, c.post([]string{"ann", "bob"}[i%2]))
	}
	c.check(s, "ann", seqs[15]) // the window: (seqs[15], last]
	c.check(s, "bob", seqs[3])  // older: its own scan, the new window
	mem.Fail("ScanSenders", errors.New("no store reads expected"))
	c.check(s, "ann", seqs[4])
	mem.Fail("ScanSenders", nil)

	big := &unreadChat{t: t, mem: mem, id: "room3"}
	total := store.MaxUnreadScan + 40
	for i := range total {
		user := "bob"
		if i >= total-10 {
			user = "ann" // past the first scan: counted as unread
		}
		big.post(user)
	}
	n, _, err := s.countUnread(context.Background(), big.id, "ann", 0, big.last())
	if want := uint64(total); err != nil || n != want {
		t.Fatalf("count past one scan = %d, %v; want %d (the last 40 counted whoever sent them)", n, err, want)
	}
	big.check(s, "ann", big.msgs[100].Seq) // one scan reaches the end: exact
}

// TestUnreadCountsAtOnce: the members of a chat counting at the same time
// all get the exact count (run with -race).
func TestUnreadCountsAtOnce(t *testing.T) {
	s, mem, _ := newTestService(t)
	c := &unreadChat{t: t, mem: mem, id: "room4"}
	for i := range 200 {
		c.post(fmt.Sprintf("u%d", i%20))
	}
	last := c.last()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := fmt.Sprintf("u%d", i)
			after := c.msgs[i*5].Seq
			n, _, err := s.countUnread(context.Background(), c.id, user, after, last)
			if want := c.want(user, after); err != nil || n != want {
				errs <- fmt.Errorf("count of %s after %d = %d, %v; want %d", user, after, n, err, want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestUnreadWindowsBounded: a window keeps at most tailMaxMessages
// messages, and all windows together at most tailsMaxMessages: the least
// recently used go.
func TestUnreadWindowsBounded(t *testing.T) {
	u := newUnreadTails()
	a, b := u.get("a"), u.get("b")
	u.resized(a, tailsMaxMessages/2)
	u.resized(b, tailsMaxMessages/2)
	u.get("a") // a is used again: b is the oldest
	c := u.get("c")
	u.resized(c, 10)
	if _, ok := u.byID["b"]; ok || u.byID["a"] != a || u.byID["c"] != c || u.total != tailsMaxMessages/2+10 {
		t.Fatalf("after going over: windows %v, total %d; want a and c, %d", u.byID, u.total, tailsMaxMessages/2+10)
	}
	u.resized(b, 5) // a dropped window's later resize counts nothing
	if u.total != tailsMaxMessages/2+10 {
		t.Fatalf("total %d after a dropped window's resize", u.total)
	}

	s, mem, _ := newTestService(t)
	long := &unreadChat{t: t, mem: mem, id: "room5"}
	long.post("bob")
	long.check(s, "ann", 0)
	for range tailMaxMessages + 100 {
		long.post("bob")
	}
	long.check(s, "ann", long.msgs[300].Seq) // extends in several scans
	if w := s.tails.get(long.id); len(w.msgs) > tailMaxMessages || w.after == 0 {
		t.Fatalf("window holds %d messages after %d; want at most %d, its start moved", len(w.msgs), w.after, tailMaxMessages)
	}
}
