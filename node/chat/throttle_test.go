package chat

import (
	"fmt"
	"testing"
	"time"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time            { return c.t }
func (c *fakeClock) advance(d time.Duration)   { c.t = c.t.Add(d) }
func newThrottle(c *fakeClock) *typingThrottle { return &typingThrottle{now: c.now} }

func TestTypingThrottleOnePerInterval(t *testing.T) {
	c := &fakeClock{t: time.Unix(1_000_000, 0)}
	th := newThrottle(c)
	if !th.typing("u1", "c1") {
		t.Fatal("the first Typing was held back")
	}
	for range 10 {
		c.advance(TypingInterval / 10)
		if th.typing("u1", "c1") && c.t.Sub(time.Unix(1_000_000, 0)) < TypingInterval {
			t.Fatalf("a second Typing went out %v after the first", c.t.Sub(time.Unix(1_000_000, 0)))
		}
	}
	// 10 steps of a tenth: the interval is over, and one went out at it.
	c.advance(TypingInterval)
	if !th.typing("u1", "c1") {
		t.Fatal("a Typing one interval after the last was held back")
	}
	if !th.typing("u2", "c1") || !th.typing("u1", "c2") {
		t.Fatal("another user's or another chat's Typing was held back")
	}
}

func TestTypingThrottleStop(t *testing.T) {
	c := &fakeClock{t: time.Unix(1_000_000, 0)}
	th := newThrottle(c)
	if th.stop("u1", "c1") {
		t.Fatal("a StopTyping without a Typing went out")
	}
	th.typing("u1", "c1")
	c.advance(time.Second)
	if !th.stop("u1", "c1") {
		t.Fatal("a StopTyping after a shown Typing was held back")
	}
	if !th.typing("u1", "c1") {
		t.Fatal("a Typing right after a StopTyping was held back")
	}
	c.advance(TypingShown)
	if th.stop("u1", "c1") {
		t.Fatal("a StopTyping after the indicator expired went out")
	}
}

func TestTypingThrottleSweeps(t *testing.T) {
	c := &fakeClock{t: time.Unix(1_000_000, 0)}
	th := newThrottle(c)
	for round := range 5 {
		for i := range 3 * minTypingSweep {
			th.typing(fmt.Sprintf("u%d-%d", round, i), "c1")
		}
		c.advance(TypingShown)
	}
	if n := th.size(); n > 4*minTypingSweep {
		t.Fatalf("%d typists remembered after rounds of %d that expired: not swept", n, 3*minTypingSweep)
	}
}
