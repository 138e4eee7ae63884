package store_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/store/storetest"
)

// TestUnreadScanBoundedByBytes: long entries end ScanSenders' scan after
// about store.MaxUnreadScanBytes, and the rest are counted, not read.
func TestUnreadScanBoundedByBytes(t *testing.T) {
	e := newEnv(t)
	ctx := storetest.Ctx(t)
	text := strings.Repeat("x", 60000)
	const total = 45 // 2.7 MB
	for i := range total {
		if _, _, err := e.st.PublishMessage(ctx, store.Message{ChatID: "long", ID: fmt.Sprintf("m%d", i), UserID: "u2", Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	ss, rest, err := e.st.ScanSenders(ctx, "long", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) == 0 || len(ss) >= total || len(ss)+int(rest) != total || len(ss)*len(text) > 2*store.MaxUnreadScanBytes {
		t.Fatalf("ScanSenders read %d entries (%d bytes) and left %d; want a scan ended by bytes and the other %d counted", len(ss), len(ss)*len(text), rest, total-len(ss))
	}
}
