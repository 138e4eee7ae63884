package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/natterchat/natter/node/client"
	"github.com/natterchat/natter/node/wire"
)

// tdevice is one user device in a cluster test: it records every
// NewMessage of one chat, checks order and uniqueness as they arrive,
// and, when its node dies, reconnects to another node with resume.
type tdevice struct {
	t     testing.TB
	name  string
	user  account
	chat  string
	addrs func() []string // nodes to (re)connect to, in order of preference

	mu        sync.Mutex
	c         *client.Client
	seqs      []uint64
	texts     map[uint64]string // the text each received seq carried
	lastSeq   uint64
	problems  []string
	acks      map[string]uint64
	reconnect int
	frames    []client.Frame // presence and member frames, for assertions
	stopped   bool
	done      chan struct{}
}

func newDevice(t testing.TB, name string, user account, chat string, addrs func() []string) *tdevice {
	d := &tdevice{t: t, name: name, user: user, chat: chat, addrs: addrs, acks: map[string]uint64{}, texts: map[uint64]string{}, done: make(chan struct{})}
	c, err := d.dial(false)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	d.c = c
	go d.run()
	t.Cleanup(d.stop)
	return d
}

func (d *tdevice) dial(resume bool) (*client.Client, error) {
	var lastErr error
	for _, addr := range d.addrs() {
		url := "ws://" + addr + "/ws?token=" + d.user.Token
		if resume {
			d.mu.Lock()
			url += fmt.Sprintf("&resume=%s:%d", d.chat, d.lastSeq)
			d.mu.Unlock()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := client.Dial(ctx, url, client.Options{})
		cancel()
		if err == nil {
			return c, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func (d *tdevice) run() {
	defer close(d.done)
	for {
		d.mu.Lock()
		c := d.c
		d.mu.Unlock()
		f, err := c.Next(context.Background())
		if err != nil {
			d.mu.Lock()
			stopped := d.stopped
			d.mu.Unlock()
			if stopped {
				return
			}
			// The node went away: reconnect elsewhere and resume.
			var nc *client.Client
			for i := 0; i < 100 && nc == nil; i++ {
				if nc, err = d.dial(true); err != nil {
					time.Sleep(200 * time.Millisecond)
				}
			}
			if nc == nil {
				d.problem("could not reconnect: %v", err)
				return
			}
			d.mu.Lock()
			d.c = nc
			d.reconnect++
			d.mu.Unlock()
			continue
		}
		d.handle(f)
	}
}

func (d *tdevice) problem(format string, args ...any) {
	d.mu.Lock()
	d.problems = append(d.problems, d.name+": "+fmt.Sprintf(format, args...))
	d.mu.Unlock()
}

func (d *tdevice) handle(f client.Frame) {
	switch f.Type() {
	case wire.TypeNewMessage:
		var m wire.NewMessage
		if err := f.Decode(&m); err != nil {
			d.problem("%v", err)
			return
		}
		if m.Chat != d.chat {
			return
		}
		d.mu.Lock()
		if m.Seq <= d.lastSeq {
			d.problems = append(d.problems, fmt.Sprintf("%s: seq %d after %d (duplicate or out of order)", d.name, m.Seq, d.lastSeq))
		} else {
			d.lastSeq = m.Seq
			d.seqs = append(d.seqs, m.Seq)
			d.texts[m.Seq] = m.Message
		}
		d.mu.Unlock()
	case wire.TypeMessageAccepted:
		var a wire.MessageAccepted
		if err := f.Decode(&a); err == nil {
			d.mu.Lock()
			d.acks[a.ClientMsgID] = a.Seq
			d.mu.Unlock()
		}
	case wire.TypeError:
		// rate limits and retries during an election are expected; the
		// sender resends with the same clientMsgId.
	default:
		d.mu.Lock()
		d.frames = append(d.frames, f)
		d.mu.Unlock()
	}
}

// send sends one message and waits for its ack, resending with the same
// clientMsgId after a reconnect or a refusal, until the deadline.
func (d *tdevice) send(id, text string, deadline time.Time) (uint64, error) {
	for time.Now().Before(deadline) {
		d.mu.Lock()
		c := d.c
		d.mu.Unlock()
		_ = c.Send(wire.ChannelChatRoom, wire.TypeSendMessage, wire.SendMessage{ChatRef: wire.ChatRef{Chat: d.chat}, Message: text, ClientMsgID: id})
		wait := time.Now().Add(8 * time.Second)
		for time.Now().Before(wait) {
			d.mu.Lock()
			seq, ok := d.acks[id]
			changed := d.c != c
			d.mu.Unlock()
			if ok {
				return seq, nil
			}
			if changed {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return 0, fmt.Errorf("%s: no ack for %s", d.name, id)
}

// client is the device's current connection.
func (d *tdevice) client() *client.Client {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.c
}

// count is how many frames of type typ (other than messages) arrived.
func (d *tdevice) count(typ string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, f := range d.frames {
		if f.Type() == typ {
			n++
		}
	}
	return n
}

// countAbout is how many frames of type typ about user arrived.
func (d *tdevice) countAbout(typ, user string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, f := range d.frames {
		var p struct{ User string }
		if f.Type() == typ && f.Decode(&p) == nil && p.User == user {
			n++
		}
	}
	return n
}

func (d *tdevice) seen() []uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]uint64(nil), d.seqs...)
}

// textOf is the text the device received with seq.
func (d *tdevice) textOf(seq uint64) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.texts[seq]
}

// reconnects is how many times the device reconnected after losing its
// connection.
func (d *tdevice) reconnects() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.reconnect
}

func (d *tdevice) issues() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.problems...)
}

func (d *tdevice) stop() {
	d.mu.Lock()
	d.stopped = true
	c := d.c
	d.mu.Unlock()
	_ = c.Close()
	select {
	case <-d.done:
	case <-time.After(5 * time.Second):
	}
}

// abandon drops the device's connection without reconnecting.
func (d *tdevice) abandon() {
	d.mu.Lock()
	d.stopped = true
	d.mu.Unlock()
}

// checkAllDelivered waits until every device has seen exactly the acked
// messages (seq and text), in order, and reports any duplicate or
// out-of-order frame.
func checkAllDelivered(t testing.TB, devs []*tdevice, acked map[uint64]string, timeout time.Duration) {
	t.Helper()
	checkFor(t, timeout, func() error {
		for _, d := range devs {
			if got := len(d.seen()); got != len(acked) {
				return fmt.Errorf("%s has %d of %d messages", d.name, got, len(acked))
			}
		}
		return nil
	})
	for _, d := range devs {
		for _, p := range d.issues() {
			t.Error(p)
		}
		for _, s := range d.seen() {
			text, ok := acked[s]
			if !ok {
				t.Errorf("%s received seq %d that no send was acked with", d.name, s)
			} else if got := d.textOf(s); got != text {
				t.Errorf("%s received seq %d as %q; it was acked for %q", d.name, s, got, text)
			}
		}
	}
}
