package main

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// sendPlan is how background senders send: lanes goroutines, each
// sending perLane messages one after another with pause between them;
// a send may take perSend (it is resent with the same clientMsgId
// meanwhile) and all of them together within.
type sendPlan struct {
	lanes, perLane int
	// warmup: warm is closed once every lane has sent (and had acked) its
	// first warmup messages, or stopped.
	warmup  int
	pause   time.Duration
	perSend time.Duration
	within  time.Duration
}

// senders are devices sending in the background. The goroutines never
// touch the test: they record what was acked and what went wrong, and
// wait reports it from the test's goroutine.
type senders struct {
	warm chan struct{}
	quit chan struct{}
	wg   sync.WaitGroup

	mu       sync.Mutex
	acked    map[uint64]string // seq → the text acked with it
	problems []string
}

// startSenders runs the plan; msg names the k-th message of a lane: the
// device that sends it, its clientMsgId and its text. The test's end
// stops senders still running.
func startSenders(t testing.TB, p sendPlan, msg func(lane, k int) (d *tdevice, id, text string)) *senders {
	s := &senders{warm: make(chan struct{}), quit: make(chan struct{}), acked: map[uint64]string{}}
	deadline := time.Now().Add(p.within)
	var warming sync.WaitGroup
	warming.Add(p.lanes)
	for lane := range p.lanes {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			var once sync.Once
			warmed := func() { once.Do(warming.Done) }
			defer warmed()
			for k := range p.perLane {
				if k == p.warmup {
					warmed()
				}
				select {
				case <-s.quit:
					return
				default:
				}
				d, id, text := msg(lane, k)
				until := time.Now().Add(p.perSend)
				if until.After(deadline) {
					until = deadline
				}
				seq, err := d.send(id, text, until)
				if err != nil {
					s.problem("%v", err)
					return
				}
				s.ack(seq, text)
				time.Sleep(p.pause)
			}
		}()
	}
	go func() { warming.Wait(); close(s.warm) }()
	t.Cleanup(func() { close(s.quit); s.wg.Wait() })
	return s
}

func (s *senders) problem(format string, args ...any) {
	s.mu.Lock()
	s.problems = append(s.problems, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

// ack records an acknowledged send. Every send has its own clientMsgId,
// so a seq acked twice is wrong.
func (s *senders) ack(seq uint64, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.acked[seq]; ok {
		s.problems = append(s.problems, fmt.Sprintf("seq %d acked for %q and for %q", seq, prev, text))
		return
	}
	s.acked[seq] = text
}

// awaitWarm waits until every lane has sent its warmup messages.
func (s *senders) awaitWarm(t testing.TB, within time.Duration) {
	t.Helper()
	select {
	case <-s.warm:
	case <-time.After(within):
		t.Fatalf("the senders did not send their first messages within %v", within)
	}
}

// wait waits for every sender, reports their problems as errors and
// returns what was acked.
func (s *senders) wait(t testing.TB) map[uint64]string {
	t.Helper()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.problems {
		t.Error(p)
	}
	out := make(map[uint64]string, len(s.acked))
	for seq, text := range s.acked {
		out[seq] = text
	}
	return out
}

// checkHistory reads a chat's whole history from addr and requires it to
// be exactly the acked messages: each acked seq once, with the text it
// was acked for, and nothing else.
func checkHistory(t testing.TB, addr, token, chat string, acked map[uint64]string) {
	t.Helper()
	stored := map[uint64]string{}
	var after uint64
	for page := 0; ; page++ {
		if page > len(acked)/1000+10 {
			t.Fatalf("history of %s goes on past %d pages of 1000; %d messages were acked", chat, page, len(acked))
		}
		var hist struct {
			Messages []struct {
				Seq     uint64
				Message string
			}
		}
		if st := api(t, addr, "GET", fmt.Sprintf("/api/chats/%s/messages?after=%d&limit=1000", chat, after), token, nil, &hist); st != http.StatusOK {
			t.Fatalf("history of %s after %d: %d", chat, after, st)
		}
		if len(hist.Messages) == 0 {
			break
		}
		for _, m := range hist.Messages {
			if m.Seq <= after {
				t.Fatalf("history page after %d holds seq %d: repeated or out of order", after, m.Seq)
			}
			stored[m.Seq], after = m.Message, m.Seq
		}
	}
	for seq, text := range acked {
		if got, ok := stored[seq]; !ok {
			t.Errorf("history lacks seq %d (%q), which was acked", seq, text)
		} else if got != text {
			t.Errorf("history holds seq %d as %q; it was acked for %q", seq, got, text)
		}
	}
	for seq, text := range stored {
		if _, ok := acked[seq]; !ok {
			t.Errorf("history holds seq %d (%q), which no send was acked with", seq, text)
		}
	}
}
