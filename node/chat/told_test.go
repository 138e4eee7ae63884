package chat

import "testing"

// TestToldWaits: a wait ends when its own token is told, a token told
// after its wait was forgotten ends no later wait of the same device, and
// no entry is left once every wait ended.
func TestToldWaits(t *testing.T) {
	var w toldWaits
	closed := func(ch chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	stale, staleDone := w.add("dev-1")
	w.forget(stale) // its request timed out
	token, done := w.add("dev-1")
	if token == stale {
		t.Fatalf("two waits of one device share token %q", token)
	}
	w.told(stale) // the first request's event, late
	if closed(staleDone) || closed(done) {
		t.Fatal("a forgotten token's event ended a wait")
	}
	w.told("dev-2.1") // another node's request
	if closed(done) {
		t.Fatal("another token ended the wait")
	}
	w.told(token)
	if !closed(done) {
		t.Fatal("the wait did not end when its token was told")
	}
	w.told(token) // told twice: nothing to end, no panic
	if w.m != nil {
		t.Fatalf("%d waits left after every one ended", len(w.m))
	}
}
