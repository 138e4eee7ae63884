package store_test

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/store/storetest"
	"github.com/natterchat/natter/subjects"
)

// What Memory does beyond the contract: its live copies are RePublish's,
// its test hooks, its limits. The contract itself is conformance_test.go's.

// TestMemoryLiveMatchesRePublish: the same publishes to a JetStream store
// and to a Memory store give live copies with the same subject, body and
// headers; only the time stamps differ, both RFC 3339 in UTC.
func TestMemoryLiveMatchesRePublish(t *testing.T) {
	e := newEnv(t)
	ctx := storetest.Ctx(t)
	sub, err := e.nc.SubscribeSync(subjects.LiveChatWildcard)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	posted := time.Date(2025, 3, 1, 12, 0, 0, 5, time.UTC)
	msgs := []store.Message{
		{ChatID: "a", ID: "m1", UserID: "u1", UserName: "Alice", DeviceID: "d1", Text: "first", PostedAt: posted},
		{ChatID: "b", ID: "m2", UserID: "u2", Text: "other chat", PostedAt: posted},
		{ChatID: "a", ID: "m3", UserID: "u1", UserName: "Alice", Text: "second 🦊", PostedAt: posted},
	}
	publish := func(st store.Store) []*nats.Msg {
		var copies []*nats.Msg
		for _, m := range msgs {
			if _, _, err := st.PublishMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
			c, err := sub.NextMsg(5 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			copies = append(copies, c)
		}
		return copies
	}
	fromStream := publish(e.st)
	fromMemory := publish(store.NewMemory(store.MemoryConfig{Live: e.nc}))
	for i := range fromStream {
		r, f := fromStream[i], fromMemory[i]
		if r.Subject != f.Subject || string(r.Data) != string(f.Data) {
			t.Fatalf("copy %d: RePublish %s %s, Memory %s %s", i, r.Subject, r.Data, f.Subject, f.Data)
		}
		if rk, fk := slices.Sorted(maps.Keys(r.Header)), slices.Sorted(maps.Keys(f.Header)); !slices.Equal(rk, fk) {
			t.Fatalf("copy %d: RePublish headers %v, Memory headers %v", i, rk, fk)
		}
		for k := range r.Header {
			if k == jetstream.TimeStampHeaer {
				continue
			}
			if !slices.Equal(r.Header[k], f.Header[k]) {
				t.Errorf("copy %d: %s is %q from RePublish, %q from Memory", i, k, r.Header[k], f.Header[k])
			}
		}
		for _, c := range []*nats.Msg{r, f} {
			ts, err := time.Parse(time.RFC3339Nano, c.Header.Get(jetstream.TimeStampHeaer))
			if err != nil || ts.Location() != time.UTC || time.Since(ts) > time.Minute {
				t.Errorf("copy %d: time stamp %q: %v", i, c.Header.Get(jetstream.TimeStampHeaer), err)
			}
		}
	}
}

// TestMemoryDropLive: a receiver that lost live copies sees the gap in the
// next copy's previous sequence and repairs it with Messages, the way the
// node's fan-out does.
func TestMemoryDropLive(t *testing.T) {
	srv := storetest.RunServer(t)
	st := store.NewMemory(store.MemoryConfig{Live: storetest.Connect(t, srv)})
	nc := storetest.Connect(t, srv)
	ctx := storetest.Ctx(t)
	sub, err := nc.SubscribeSync(subjects.LiveChat("a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	publish := func(ids ...string) {
		for _, id := range ids {
			if _, _, err := st.PublishMessage(ctx, store.Message{ChatID: "a", ID: id, UserID: "u1", Text: "text " + id}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var (
		delivered []string
		last      uint64
		gaps      int
	)
	receive := func() {
		t.Helper()
		msg, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		m, prev, err := store.DecodeLive(msg)
		if err != nil {
			t.Fatal(err)
		}
		if prev != last {
			gaps++
			for _, r := range storetest.Must[[]store.Message](t)(st.Messages(ctx, "a", store.Page{After: last})) {
				if r.Seq < m.Seq {
					delivered, last = append(delivered, r.ID), r.Seq
				}
			}
		}
		if prev != last {
			t.Fatalf("copy of %d names %d as previous; repaired up to %d", m.Seq, prev, last)
		}
		delivered, last = append(delivered, m.ID), m.Seq
	}
	publish("m0")
	receive()
	st.DropLive(2)
	publish("m1", "m2", "m3")
	receive()
	if got := fmt.Sprint(delivered); got != "[m0 m1 m2 m3]" || gaps != 1 {
		t.Fatalf("delivered %s with %d gaps, want [m0 m1 m2 m3] with 1", got, gaps)
	}
	// Only two were dropped: the next copy follows at once.
	publish("m4")
	receive()
	if gaps != 1 || len(delivered) != 5 {
		t.Fatalf("delivered %v with %d gaps after the drops were used up", delivered, gaps)
	}
}

// TestMemoryFail: a failure switch makes one method fail until cleared,
// after its arguments were checked, and stores nothing.
func TestMemoryFail(t *testing.T) {
	st := store.NewMemory(store.MemoryConfig{})
	ctx := storetest.Ctx(t)
	boom := errors.New("boom")
	st.Fail("PublishMessage", boom)
	m := store.Message{ChatID: "c1", ID: "m1", UserID: "u1", Text: "t"}
	if _, _, err := st.PublishMessage(ctx, m); !errors.Is(err, boom) {
		t.Fatalf("PublishMessage while failing = %v, want boom", err)
	}
	if _, _, err := st.PublishMessage(ctx, store.Message{ChatID: "c1", ID: "m1", UserID: "u1"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("invalid PublishMessage while failing = %v, want ErrInvalid", err)
	}
	if err := st.CreateUser(ctx, store.User{ID: "u1", Name: "Alice"}); err != nil {
		t.Fatalf("CreateUser while PublishMessage fails: %v", err)
	}
	st.Fail("PublishMessage", nil)
	if seq, dup, err := st.PublishMessage(ctx, m); err != nil || dup || seq != 1 {
		t.Fatalf("PublishMessage after clearing = %d dup=%v %v; want 1, the failed one stored nothing", seq, dup, err)
	}

	// Only the named method fails, not another that shares its work.
	st.Fail("AddMember", boom)
	if err := st.CreateChat(ctx, store.Chat{ID: "g1", Name: "g", Kind: store.Private, CreatedBy: "u1"}, []store.Member{{UserID: "u2"}}); err != nil {
		t.Fatalf("CreateChat while AddMember fails: %v", err)
	}
	if _, err := st.AddMember(ctx, store.Member{ChatID: "g1", UserID: "u3"}); !errors.Is(err, boom) {
		t.Fatalf("AddMember while failing = %v", err)
	}
	if ms := storetest.Must[[]store.Member](t)(st.Members(ctx, "g1")); len(ms) != 2 {
		t.Fatalf("Members(g1) = %+v, want the creator and u2", ms)
	}

	defer func() {
		if recover() == nil {
			t.Fatal("Fail with a name that is no Store method did not panic")
		}
	}()
	st.Fail("Publish", boom)
}

// clock is a settable time source for MemoryConfig.Now. Tests set it
// between calls, which the store's lock orders.
type clock struct{ now time.Time }

func newClock() *clock { return &clock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { return c.now }

// TestMemoryDedupWindow: a repeated id is a duplicate for exactly the
// dedup window, which defaults to Config's and is clipped to MaxAge.
func TestMemoryDedupWindow(t *testing.T) {
	ctx := storetest.Ctx(t)
	for _, tc := range []struct {
		name   string
		cfg    store.MemoryConfig
		window time.Duration
	}{
		{"default", store.MemoryConfig{}, store.DefaultDuplicates},
		{"set", store.MemoryConfig{Duplicates: 10 * time.Second}, 10 * time.Second},
		{"clipped to MaxAge", store.MemoryConfig{MaxAge: time.Minute}, time.Minute},
		{"shorter than MaxAge", store.MemoryConfig{Duplicates: time.Second, MaxAge: time.Minute}, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			tc.cfg.Now = c.Now
			st := store.NewMemory(tc.cfg)
			m := store.Message{ChatID: "a", ID: "m1", UserID: "u1", Text: "t"}
			first, _, err := st.PublishMessage(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			c.now = c.now.Add(tc.window - time.Nanosecond)
			if seq, dup, err := st.PublishMessage(ctx, m); err != nil || !dup || seq != first {
				t.Fatalf("just inside the window: %d dup=%v %v; want %d dup", seq, dup, err, first)
			}
			c.now = c.now.Add(time.Nanosecond)
			if seq, dup, err := st.PublishMessage(ctx, m); err != nil || dup || seq != first+1 {
				t.Fatalf("at the window's end: %d dup=%v %v; want a new message %d", seq, dup, err, first+1)
			}
		})
	}
}

// TestMemoryLimits: MaxMsgsPerSubject keeps each chat's newest messages,
// MaxAge drops old ones; neither takes the position back, and a chat
// whose messages all expired starts over at previous sequence 0.
func TestMemoryLimits(t *testing.T) {
	ctx := storetest.Ctx(t)
	publish := func(t *testing.T, st store.Store, chat string, n int) (last uint64) {
		t.Helper()
		for range n {
			seq, _, err := st.PublishMessage(ctx, store.Message{ChatID: chat, ID: fmt.Sprintf("m%d", msgIDs.Add(1)), UserID: "u1", Text: "t"})
			if err != nil {
				t.Fatal(err)
			}
			last = seq
		}
		return last
	}
	pageSeqs := func(t *testing.T, st store.Store, chat string) string {
		t.Helper()
		var out []uint64
		for _, m := range storetest.Must[[]store.Message](t)(st.Messages(ctx, chat, store.Page{})) {
			out = append(out, m.Seq)
		}
		return fmt.Sprint(out)
	}

	t.Run("MaxMsgsPerSubject", func(t *testing.T) {
		st := store.NewMemory(store.MemoryConfig{MaxMsgsPerSubject: 3})
		publish(t, st, "a", 5)
		publish(t, st, "b", 1)
		if got := pageSeqs(t, st, "a"); got != "[3 4 5]" {
			t.Fatalf("chat a keeps %s, want [3 4 5]", got)
		}
		if got := pageSeqs(t, st, "b"); got != "[6]" {
			t.Fatalf("chat b keeps %s", got)
		}
		if p := storetest.Must[store.Position](t)(st.Position(ctx)); p.Of("a") != 6 {
			t.Fatalf("Position = %v", p)
		}
	})

	t.Run("MaxAge", func(t *testing.T) {
		srv := storetest.RunServer(t)
		c := newClock()
		st := store.NewMemory(store.MemoryConfig{MaxAge: time.Minute, Now: c.Now, Live: storetest.Connect(t, srv)})
		nc := storetest.Connect(t, srv)
		sub, err := nc.SubscribeSync(subjects.LiveChat("a"))
		if err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		publish(t, st, "a", 1) // 1 at 0s
		c.now = c.now.Add(30 * time.Second)
		publish(t, st, "b", 1) // 2 at 30s
		c.now = c.now.Add(10 * time.Second)
		publish(t, st, "a", 1) // 3 at 40s
		c.now = c.now.Add(20 * time.Second)
		if got := pageSeqs(t, st, "a"); got != "[3]" {
			t.Fatalf("at 60s chat a keeps %s, want [3]", got)
		}
		if n := storetest.Must[uint64](t)(st.LastSeq(ctx, "b")); n != 2 {
			t.Fatalf("at 60s LastSeq(b) = %d, want 2", n)
		}
		c.now = c.now.Add(40 * time.Second)
		if got := pageSeqs(t, st, "a"); got != "[]" {
			t.Fatalf("at 100s chat a keeps %s, want none", got)
		}
		if n := storetest.Must[uint64](t)(st.LastSeq(ctx, "a")); n != 0 {
			t.Fatalf("at 100s LastSeq(a) = %d, want 0", n)
		}
		if p := storetest.Must[store.Position](t)(st.Position(ctx)); p.Of("a") != 3 {
			t.Fatalf("Position = %v, want 3", p)
		}
		publish(t, st, "a", 1) // 4 at 100s
		var prevs []uint64
		for range 3 {
			msg, err := sub.NextMsg(5 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			_, prev, err := store.DecodeLive(msg)
			if err != nil {
				t.Fatal(err)
			}
			prevs = append(prevs, prev)
		}
		if got := fmt.Sprint(prevs); got != "[0 1 0]" {
			t.Fatalf("chat a's copies name %s as previous, want [0 1 0]", got)
		}
	})
}

// msgIDs makes message ids unique within this file's tests.
var msgIDs atomic.Int64

// TestStoreMethodsListed: Memory.Fail's list of method names is exactly
// the Store interface's methods.
func TestStoreMethodsListed(t *testing.T) {
	typ := reflect.TypeFor[store.Store]()
	want := map[string]bool{}
	for i := range typ.NumMethod() {
		want[typ.Method(i).Name] = true
	}
	if !maps.Equal(want, store.StoreMethods) {
		t.Fatalf("Fail accepts %v, the Store interface has %v", store.StoreMethods, want)
	}
}
