package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/store"
)

// RunConformance runs the behaviour every store.Store must have, one
// subtest per case, each on a fresh empty store from open. Running it
// against every implementation is what lets tests of the node use
// store.Memory and still mean something for JetStream: a case belongs here
// when it states the interface's contract, and with the implementation's
// own tests when it is about how that implementation keeps it.
func RunConformance(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	for _, c := range conformance {
		t.Run(c.name, func(t *testing.T) { c.run(t, open(t)) })
	}
}

// RunLiveConformance runs the cases about live copies: what a subscriber
// on subjects.LiveChat receives once a message is stored, which is what
// the node's fan-out and its gap detection rely on. open returns a fresh
// empty store that sends live copies, and a connection that receives
// them.
func RunLiveConformance(t *testing.T, open func(t *testing.T) (store.Store, *nats.Conn)) {
	t.Helper()
	for _, c := range liveConformance {
		t.Run(c.name, func(t *testing.T) {
			st, nc := open(t)
			c.run(t, st, nc)
		})
	}
}

// conformance is the table of RunConformance's cases.
var conformance = []struct {
	name string
	run  func(t *testing.T, st store.Store)
}{
	{"users", testUsers},
	{"update user", testUpdateUser},
	{"chats", testChats},
	{"ensure public room race", testEnsurePublicRoomRace},
	{"membership", testMembership},
	{"read markers", testReadMarkers},
	{"read marker race", testReadMarkerRace},
	{"unread counts", testUnreadCounts},
	{"unread past the scan", testUnreadPastScan},
	{"invalid ids", testInvalidIDs},
	{"message pages", testMessagePages},
	{"publish duplicate", testPublishDuplicate},
	{"concurrent sequences", testConcurrentSequences},
	{"position", testPosition},
	{"position covers acked", testPositionCoversAcked},
	{"canceled context", testCanceled},
	{"entries", testEntries},
	{"message states", testMessageStates},
}

// liveConformance is the table of RunLiveConformance's cases.
var liveConformance = []struct {
	name string
	run  func(t *testing.T, st store.Store, nc *nats.Conn)
}{
	{"previous sequence per chat", testLivePrevSeq},
	{"order under concurrent publishes", testLiveOrder},
}

// Ctx is a context bounded well below the test timeout, cancelled when
// the test ends.
func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Must returns a function that fails the test on an error and otherwise
// returns the value, so a call's two results can be checked in place.
func Must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
