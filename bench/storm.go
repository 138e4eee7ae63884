package bench

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// The reconnect scenario: while the senders send, every other connection
// drops at once, a third into the send phase, and comes back with
// ?resume=CHAT:SEQ from the last message it got: a node re-admitting its
// registered users after a restart or a drain. The usual accounting then
// shows whether the resumes lost or doubled anything, the re-handshakes
// how fast the node admitted them, and the senders' deliveries (they stay
// connected) how the live traffic fared meanwhile.

// stormStats counts one worker's reconnect storm.
type stormStats struct {
	Attempted int   `json:"attempted"`
	Done      int   `json:"done"`
	Failed    int   `json:"failed"`
	Ns        int64 `json:"ns"` // first drop to last re-Welcome
}

// stormAt is when the storm starts: a third into the send phase.
func stormAt(start time.Time, d time.Duration) time.Time { return start.Add(d / 3) }

// reconnectStorm drops and re-dials every connection of the worker that
// does not send, at the configured connect rate with at most 256 dials in
// flight. A worker of senders only (Plan.shares) has nothing to re-dial:
// the storm is the other workers', and it counts its deliveries as
// during the storm from at until sending stops (end), as it cannot see
// when their storms end.
func (w *worker) reconnectStorm(ctx context.Context, at, end time.Time) {
	select {
	case <-time.After(time.Until(at)):
	case <-ctx.Done():
		return
	}
	w.mu.Lock()
	var idx []int
	for i, c := range w.conns {
		if c.send == nil && c.plan.Chat >= 0 {
			idx = append(idx, i)
		}
	}
	w.mu.Unlock()
	w.storming.Store(true)
	defer w.storming.Store(false)
	if len(idx) == 0 {
		select {
		case <-time.After(time.Until(end)):
		case <-ctx.Done():
		}
		return
	}
	interval := time.Duration(float64(time.Second) / w.connectRate())
	sem := make(chan struct{}, 256)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var st stormStats
	begin := time.Now()
	for n, i := range idx {
		if wait := time.Until(begin.Add(time.Duration(n) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			ok := w.reconnectOne(ctx, i)
			mu.Lock()
			st.Attempted++
			if ok {
				st.Done++
			} else {
				st.Failed++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	st.Ns = int64(time.Since(begin))
	w.mu.Lock()
	w.storm = st
	w.mu.Unlock()
}

// reconnectOne drops connection i and dials it again, resuming its chat
// after the last seq it got (and its quiet chats from their start); the
// new connection takes its place and its receiver.
func (w *worker) reconnectOne(ctx context.Context, i int) bool {
	w.mu.Lock()
	old := w.conns[i]
	w.mu.Unlock()
	old.dropped.Store(true)
	old.close()
	<-old.closed
	u, err := dialURL(old.plan, w.plan.Chats, old.plan.Token)
	if err == nil {
		u += "&resume=" + old.chatID + ":" + strconv.FormatUint(old.recv.last(), 10)
		for _, k := range old.plan.Quiet {
			// Nobody sends there: resumed from the start, which is empty.
			u += "," + w.plan.Quiet[k].ID + ":0"
		}
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, hs, err := dial(dctx, w, old.plan, u, old.recv)
	if err != nil {
		w.countError("reconnect_failed")
		if w.examples.Add(1) <= maxExamples {
			w.addExample(fmt.Sprintf("conn %d reconnecting to %s: %v", old.plan.ID, old.plan.URL, err))
		}
		return false
	}
	w.reconnects.record(old.plan.ID, time.Now(), hs)
	c.setJoined(old.chatID)
	w.startReading(c)
	w.mu.Lock()
	w.conns[i] = c
	w.mu.Unlock()
	return true
}
