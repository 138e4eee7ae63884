package bench

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// historyLimit is the page size the history scenario asks for.
const historyLimit = 50

// historyState is one history client's paging cursor: it pages backward
// from the newest message, one request in flight at a time.
type historyState struct {
	pending atomic.Int64 // send time (unix ns) of the request in flight; 0: none
	before  atomic.Uint64
}

// HistoryStats are the history scenario's paging results.
type HistoryStats struct {
	Requests int64 `json:"requests"`
	Pages    int64 `json:"pages"`
	Messages int64 `json:"messages"`
	// BadPages were not in ascending order or not before the cursor.
	BadPages int64   `json:"badPages"`
	Latency  Latency `json:"latency"`
}

// requestHistory sends the next History request unless one is in flight.
func (c *conn) requestHistory(now time.Time) {
	if c.chatID == "" || !c.hist.pending.CompareAndSwap(0, now.UnixNano()) {
		return
	}
	c.w.histRequests.Add(1)
	if err := c.write(ws.OpText, appendHistory(nil, c.chatID, c.hist.before.Load(), historyLimit)); err != nil {
		c.w.countError("write_error")
		c.hist.pending.Store(0)
	}
}

// historyPage checks and records one HistoryPage.
func (c *conn) historyPage(p []byte, now time.Time) {
	sent := c.hist.pending.Swap(0)
	if sent == 0 {
		return
	}
	before := c.hist.before.Load()
	c.w.history.record(c.plan.ID, now, now.Sub(time.Unix(0, sent)))
	c.w.histPages.Add(1)
	var first, last uint64
	n, bad := 0, false
	for rest := p; ; {
		i := bytes.Index(rest, keySeq)
		if i < 0 {
			break
		}
		rest = rest[i+len(keySeq):]
		seq, ok := parseUint(rest)
		if !ok {
			bad = true
			break
		}
		if n == 0 {
			first = seq
		} else if seq <= last {
			bad = true
		}
		if before > 0 && seq >= before {
			bad = true
		}
		last = seq
		n++
	}
	c.w.histMessages.Add(int64(n))
	if bad {
		c.w.histBad.Add(1)
		c.w.countError("history_bad_page")
		if c.w.examples.Load() < maxExamples {
			c.w.examples.Add(1)
			c.w.addExample(fmt.Sprintf("conn %d: history page before %d out of order", c.plan.ID, before))
		}
	}
	if n < historyLimit || first <= 1 {
		c.hist.before.Store(0) // back to the newest page
	} else {
		c.hist.before.Store(first)
	}
}
