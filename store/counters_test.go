package store_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/natterchat/natter/internal/testwait"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/store/storetest"
	"github.com/natterchat/natter/subjects"
)

// TestCounters: increments from two connections (two nodes) add up
// without losing one, a read sees the sum and when it was last raised,
// counters are independent, and a counter left alone for CounterWindow
// starts over.
func TestCounters(t *testing.T) {
	srv := storetest.RunServer(t)
	const window = 2 * time.Second
	open := func() *store.JetStream {
		st, err := store.Open(storetest.Ctx(t), storetest.Connect(t, srv), store.Config{CounterWindow: window})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return st
	}
	a, b := open(), open()
	ctx := storetest.Ctx(t)
	subj := subjects.AuthCount("test", "k1")

	if c, err := a.Counter(ctx, subj); err != nil || c.N != 0 || !c.At.IsZero() {
		t.Fatalf("a counter never raised: %+v %v", c, err)
	}
	const each = 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[int64]bool{}
	before := time.Now().Add(-time.Second)
	for _, st := range []*store.JetStream{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				n, err := st.Incr(ctx, subj)
				if err != nil {
					t.Errorf("Incr: %v", err)
					return
				}
				mu.Lock()
				if seen[n] {
					t.Errorf("two increments answered %d", n)
				}
				seen[n] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	c, err := b.Counter(ctx, subj)
	if err != nil || c.N != 2*each || c.At.Before(before) {
		t.Fatalf("after %d increments: %+v %v", 2*each, c, err)
	}
	if n, err := a.Incr(ctx, subjects.AuthCount("test", "k2")); err != nil || n != 1 {
		t.Fatalf("another counter's first increment: %d %v", n, err)
	}

	// Left alone for the window, the counter is gone and starts over.
	testwait.For(t, 30*time.Second, 100*time.Millisecond, func() error {
		c, err := a.Counter(ctx, subj)
		if err != nil {
			return err
		}
		if c.N != 0 {
			return errors.New("the counter is still there")
		}
		return nil
	})
	if n, err := b.Incr(ctx, subj); err != nil || n != 1 {
		t.Fatalf("the first increment after the window: %d %v", n, err)
	}
}
