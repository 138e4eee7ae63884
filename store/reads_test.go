package store_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/store/storetest"
)

// TestUnreadScanBoundedByBytes: long messages end CountUnread's scan
// after about store.MaxUnreadScanBytes; the messages past it are counted
// whoever sent them, so the count is never below the exact one and above
// it by at most the user's own messages past the scan.
func TestUnreadScanBoundedByBytes(t *testing.T) {
	e := newEnv(t)
	ctx := storetest.Ctx(t)
	text := strings.Repeat("x", 60000)
	const others, own = 40, 5 // 2.4 MB of others', then the user's own
	var last uint64
	for i := range others + own {
		user := "u2"
		if i >= others {
			user = "u1"
		}
		seq, _, err := e.st.PublishMessage(ctx, store.Message{ChatID: "long", ID: fmt.Sprintf("m%d", i), UserID: user, Text: text})
		if err != nil {
			t.Fatal(err)
		}
		last = seq
	}
	n, l, err := e.st.CountUnread(ctx, "long", "u1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if n != others+own || l != last {
		t.Fatalf("CountUnread = %d, %d; want %d (the scan stops before the own messages, which then count) and last %d", n, l, others+own, last)
	}
	// A few messages after the marker are all read: the own ones do not count.
	if n, _, err = e.st.CountUnread(ctx, "long", "u1", last-uint64(own)-1); err != nil || n != 1 {
		t.Fatalf("CountUnread of the last few = %d, %v; want 1", n, err)
	}
}
