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

// wsWatch is one WebSocket connection that records every frame it
// receives, for tests about events rather than message streams. It never
// reconnects.
type wsWatch struct {
	name string
	c    *client.Client
	done chan struct{}

	mu     sync.Mutex
	frames []client.Frame
}

// watchWS connects to url (ws://host/ws?...) and records its frames until
// the test ends.
func watchWS(t testing.TB, name, url string) *wsWatch {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, url, client.Options{})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	w := &wsWatch{name: name, c: c, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			f, err := c.Next(context.Background())
			if err != nil {
				return
			}
			w.mu.Lock()
			w.frames = append(w.frames, f)
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = c.Close()
		select {
		case <-w.done:
		case <-time.After(5 * time.Second):
		}
	})
	return w
}

// user is the connection's user id (a guest's is its own).
func (w *wsWatch) user() string { return w.c.Welcome.User }

// all is a copy of the frames received so far.
func (w *wsWatch) all() []client.Frame {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]client.Frame(nil), w.frames...)
}

// memberEvents counts the JoinedRoom or LeftRoom (typ) frames of chat by
// user.
func (w *wsWatch) memberEvents(typ, chat string) map[string]int {
	out := map[string]int{}
	for _, f := range w.all() {
		var e wire.MemberEvent
		if f.Type() == typ && f.Decode(&e) == nil && e.Chat == chat {
			out[e.User]++
		}
	}
	return out
}

// await waits until match finds what it looks for in the frames from the
// from-th on, and returns the first frame it matched.
func (w *wsWatch) await(t testing.TB, from int, within time.Duration, what string, match func(client.Frame) bool) client.Frame {
	t.Helper()
	var found client.Frame
	checkFor(t, within, func() error {
		fs := w.all()
		for _, f := range fs[min(from, len(fs)):] {
			if match(f) {
				found = f
				return nil
			}
		}
		return fmt.Errorf("%s has no %s", w.name, what)
	})
	return found
}

// members asks for chat's member list and returns its users. An
// unavailable answer is retried (a documented answer while storage
// elects a leader), up to attempts times.
func (w *wsWatch) members(t testing.TB, chat string, attempts int) []string {
	t.Helper()
	for i := 1; ; i++ {
		from := len(w.all())
		ref := fmt.Sprintf("members-%d", from)
		if err := w.c.SendRef(wire.ChannelChatRoom, wire.TypeGetMembers, wire.ChatRef{Chat: chat}, ref); err != nil {
			t.Fatalf("%s: GetMembers: %v", w.name, err)
		}
		f := w.await(t, from, 30*time.Second, "answer to GetMembers", func(f client.Frame) bool {
			return f.Type() == wire.TypeMemberList || (f.Type() == wire.TypeError && errorOf(f).Ref == ref)
		})
		if f.Type() == wire.TypeMemberList {
			var ml wire.MemberList
			if err := f.Decode(&ml); err != nil {
				t.Fatal(err)
			}
			return ml.Users
		}
		if e := errorOf(f); e.Code != wire.CodeUnavailable || i >= attempts {
			t.Fatalf("%s: GetMembers answered %+v", w.name, e)
		}
	}
}

// errorOf decodes an Error frame's contents.
func errorOf(f client.Frame) wire.Error {
	var e wire.Error
	_ = f.Decode(&e)
	return e
}
