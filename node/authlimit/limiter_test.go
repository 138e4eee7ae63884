package authlimit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natterchat/natter/internal/testwait"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/store/storetest"
)

// startLimiter is one node's Limiter on srv.
func startLimiter(t *testing.T, srv *server.Server, cfg Config) *Limiter {
	t.Helper()
	nc := storetest.Connect(t, srv)
	st, err := store.Open(storetest.Ctx(t), nc, store.Config{CounterWindow: cfg.Window})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	cfg.Counters, cfg.NC = st, nc
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := l.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return l
}

// TestLimitsAcrossNodes: failures counted by one node block the account
// on another, which learns of the block from the announcement (it keeps
// it in memory) and, had it missed that, from the counters; a second
// account and other rules are untouched; a rule that is off counts
// nothing.
func TestLimitsAcrossNodes(t *testing.T) {
	srv := storetest.RunServer(t)
	cfg := Config{Window: 10 * time.Minute, MaxLoginFailuresPerAccount: 3, MaxLoginFailuresPerSource: 5, MaxRegistrationsPerSource: -1}
	a, b := startLimiter(t, srv, cfg), startLimiter(t, srv, cfg)
	ctx := storetest.Ctx(t)
	alice, src := Account("Alice"), Source(LoginSource, "127.0.0.2:4711")

	for i := range 3 {
		if blk, err := b.Check(ctx, alice, src); err != nil || blk.Refused() {
			t.Fatalf("check before failure %d: %+v %v", i+1, blk, err)
		}
		// The third failure reaches the limit: it is still answered as
		// a failure, the next attempt is refused.
		if blk, err := a.Count(ctx, alice, src); err != nil || blk.Refused() {
			t.Fatalf("failure %d: %+v %v", i+1, blk, err)
		}
	}
	// b hears the announcement; "ALICE " is the same account.
	testwait.For(t, 10*time.Second, 10*time.Millisecond, func() error {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.blocked[Account("ALICE ").subject]; !ok {
			return errors.New("b has not heard of the block")
		}
		return nil
	})
	blk, err := b.Check(ctx, Account("ALICE "), src)
	if err != nil || blk.Rule != LoginAccount || blk.Wait <= 9*time.Minute || blk.Wait > 10*time.Minute {
		t.Fatalf("b's check of the blocked account: %+v %v", blk, err)
	}
	// A node that missed it (a third, whose view is not complete) reads
	// the counter.
	c := startLimiter(t, srv, cfg)
	if blk, err := c.Check(ctx, alice); err != nil || blk.Rule != LoginAccount || blk.Wait <= 9*time.Minute {
		t.Fatalf("c's check of the blocked account: %+v %v", blk, err)
	}
	// A count past the limit (a node that had not heard yet) refuses
	// the event itself.
	if blk, err := c.Count(ctx, alice); err != nil || blk.Rule != LoginAccount || blk.Wait != 10*time.Minute {
		t.Fatalf("a failure past the limit: %+v %v", blk, err)
	}
	// Another account from the same source is not blocked (3 of 5).
	if blk, err := c.Check(ctx, Account("bob"), src); err != nil || blk.Refused() {
		t.Fatalf("another account: %+v %v", blk, err)
	}
	if got := c.Metrics().Refused[LoginAccount].Load(); got != 2 {
		t.Errorf("c refused %d attempts by the account rule, want 2", got)
	}
	// Registrations are off: counted never, refused never.
	reg := Source(RegisterSource, "127.0.0.2:1")
	for range 10 {
		if blk, err := a.Count(ctx, reg); err != nil || blk.Refused() {
			t.Fatalf("registration with the rule off: %+v %v", blk, err)
		}
	}
}

// TestLimitsFailClosed: without the counters (the stream gone) a check
// that must read them and a count are errors, which the callers answer
// with 503; a block already known still refuses.
func TestLimitsFailClosed(t *testing.T) {
	srv := storetest.RunServer(t)
	cfg := Config{Window: 10 * time.Minute, MaxLoginFailuresPerAccount: 1}
	l := startLimiter(t, srv, cfg)
	ctx := storetest.Ctx(t)
	if _, err := l.Count(ctx, Account("carol")); err != nil {
		t.Fatal(err)
	}
	js := storetest.Connect(t, srv)
	if err := deleteStream(js, "AUTH_LIMITS"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Count(ctx, Account("dave")); err == nil {
		t.Error("a count without the stream succeeded")
	}
	if _, err := l.Check(ctx, Account("dave")); err == nil {
		t.Error("a check without the stream succeeded")
	}
	if blk, err := l.Check(ctx, Account("carol")); err != nil || !blk.Refused() {
		t.Errorf("a known block: %+v %v", blk, err)
	}
	if got := l.Metrics().Errors.Load(); got != 2 {
		t.Errorf("%d errors counted, want 2", got)
	}
}

// TestSourceToken: addresses become subject tokens; IPv6 counts per /64.
func TestSourceToken(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.2:80":                "4-127-0-0-2",
		"[::ffff:10.1.2.3]:9":         "4-10-1-2-3",
		"[2001:db8:1:2:3:4:5:6]:443":  "6-20010db800010002",
		"[2001:db8:1:2:ffff::1]:1":    "6-20010db800010002",
		"10.0.0.1":                    "4-10-0-0-1",
		"@":                           "other",
		"[fe80::1%eth0]:1":            "6-fe80000000000000",
		"not an address at all:12345": "other",
	} {
		if got := sourceToken(in); got != want {
			t.Errorf("sourceToken(%q) = %q, want %q", in, got, want)
		}
		if k := Source(LoginSource, in); !validSubject(k.subject) {
			t.Errorf("Source(%q) is not a valid subject: %q", in, k.subject)
		}
	}
	if !validSubject(Account("x").subject) || validSubject("natter.authlimit.other.x") || validSubject("natter.authlimit.login-account.a.b") {
		t.Error("validSubject is wrong")
	}
}

// deleteStream deletes a stream, as an operator's mistake would.
func deleteStream(nc *nats.Conn, name string) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	return js.DeleteStream(context.Background(), name)
}

// TestCompleteViewReadsNothing: once a node has heard every announcement
// for a window, a check of an account it knows no block of asks
// JetStream nothing (it passes with the counters gone), while counting
// still needs them.
func TestCompleteViewReadsNothing(t *testing.T) {
	srv := storetest.RunServer(t)
	l := startLimiter(t, srv, Config{Window: time.Second, MaxLoginFailuresPerAccount: 1})
	ctx := storetest.Ctx(t)
	if err := deleteStream(storetest.Connect(t, srv), "AUTH_LIMITS"); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 30*time.Second, 50*time.Millisecond, func() error {
		l.mu.Lock()
		defer l.mu.Unlock()
		if !l.completeLocked(time.Now()) {
			return errors.New("the view is not complete yet")
		}
		return nil
	})
	if blk, err := l.Check(ctx, Account("erin"), Source(LoginSource, "127.0.0.2:1")); err != nil || blk.Refused() {
		t.Fatalf("a check with a complete view: %+v %v", blk, err)
	}
	if _, err := l.Count(ctx, Account("erin")); err == nil {
		t.Fatal("a count without the stream succeeded")
	}
}
